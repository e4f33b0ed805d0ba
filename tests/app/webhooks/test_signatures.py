"""Standard Webhooks and GitHub signatures: published vectors, rotation, tolerance and refusals."""

from __future__ import annotations

import base64

import pytest

from shared.webhooks._refusal import Refused
from shared.webhooks._signatures import (
    GITHUB,
    STANDARD,
    github_signature,
    standard_key,
    standard_signature,
    verify,
)

# Standard Webhooks' own vector (standard-webhooks/standard-webhooks, libraries' tests).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# GitHub's "Validating webhook deliveries" example.
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _sw_headers(signature: str = SW_SIG, ts: int = SW_TS, msg_id: str = SW_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def _refusal(scheme: str, secrets: list[str], headers: dict[str, str], body: bytes, now: float) -> Refused:
    with pytest.raises(Refused) as caught:
        verify(scheme, secrets, headers, body, now=now)
    return caught.value


def test_standard_webhooks_vector_verifies() -> None:
    """The published Standard Webhooks vector verifies, and our signer reproduces its signature."""
    assert standard_signature(standard_key(SW_SECRET), SW_ID, SW_TS, SW_BODY) == SW_SIG
    verified = verify(STANDARD, [SW_SECRET], _sw_headers(), SW_BODY, now=SW_TS)
    assert verified.event_id == SW_ID
    assert verified.timestamp == SW_TS


def test_standard_key_is_the_decoded_part_after_whsec() -> None:
    """The HMAC key is base64-decoded from after `whsec_`; the secret string itself does not verify."""
    assert standard_key(SW_SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    wrong = "whsec_" + base64.b64encode(SW_SECRET.encode()).decode()
    assert _refusal(STANDARD, [wrong], _sw_headers(), SW_BODY, SW_TS).http_status == 401


def test_any_of_several_signatures_during_rotation_verifies() -> None:
    """A header with an old-key signature, a v1a one and the valid one (in any order) is accepted."""
    other = standard_signature(b"another key of 24 bytes!", SW_ID, SW_TS, SW_BODY)
    for header in (f"{other} v1a,AAAA {SW_SIG}", f"{SW_SIG} {other}"):
        assert verify(STANDARD, [SW_SECRET], _sw_headers(header), SW_BODY, now=SW_TS).event_id == SW_ID


def test_a_new_secret_next_to_the_previous_one_verifies_either_signature() -> None:
    """With the previous and the new secret both accepted, a signature by either verifies."""
    new_secret = "whsec_" + base64.b64encode(b"a brand new secret of 32 bytes!!").decode()
    assert verify(STANDARD, [new_secret, SW_SECRET], _sw_headers(), SW_BODY, now=SW_TS).event_id == SW_ID


@pytest.mark.parametrize(("offset", "ok"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_timestamp_tolerance_is_five_minutes_either_way(offset: int, ok: bool) -> None:
    """Exactly 300 s off either way verifies; 301 s is refused 401 as stale."""
    now = SW_TS - offset
    if ok:
        assert verify(STANDARD, [SW_SECRET], _sw_headers(), SW_BODY, now=now).event_id == SW_ID
    else:
        refusal = _refusal(STANDARD, [SW_SECRET], _sw_headers(), SW_BODY, now)
        assert refusal.http_status == 401
        assert "seconds from now" in refusal.message


def test_tampered_body_id_or_timestamp_is_refused() -> None:
    """Changing a byte of the body, the id or the timestamp makes the signature fail (401)."""
    assert _refusal(STANDARD, [SW_SECRET], _sw_headers(), SW_BODY + b" ", SW_TS).http_status == 401
    assert _refusal(STANDARD, [SW_SECRET], _sw_headers(msg_id="msg_other"), SW_BODY, SW_TS).http_status == 401
    assert _refusal(STANDARD, [SW_SECRET], _sw_headers(ts=SW_TS + 1), SW_BODY, SW_TS).http_status == 401


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIG}, 400),
        ({"webhook-id": SW_ID, "webhook-signature": SW_SIG}, 400),
        ({"webhook-id": SW_ID, "webhook-timestamp": "soon", "webhook-signature": SW_SIG}, 400),
        ({"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS)}, 401),
        ({"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": "v1,not base64!"}, 401),
        ({"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": "garbage"}, 401),
    ],
)
def test_missing_or_malformed_standard_headers(headers: dict[str, str], status: int) -> None:
    """Missing id or timestamp, or a non-integer timestamp, is 400; a missing or unusable signature is 401."""
    assert _refusal(STANDARD, [SW_SECRET], headers, SW_BODY, SW_TS).http_status == status


def test_github_documented_example_verifies() -> None:
    """GitHub's documented secret and payload give its documented signature, which verifies."""
    assert github_signature(GH_SECRET, GH_BODY) == GH_SIG
    headers = {"X-Hub-Signature-256": GH_SIG, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    assert (
        verify(GITHUB, [GH_SECRET], headers, GH_BODY, now=0).event_id
        == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Hub-Signature-256": GH_SIG}, 400),
        ({"X-GitHub-Delivery": "d1"}, 401),
        ({"X-GitHub-Delivery": "d1", "X-Hub-Signature-256": GH_SIG.replace("sha256=", "sha1=")}, 401),
        ({"X-GitHub-Delivery": "d1", "X-Hub-Signature-256": GH_SIG[:-1] + "0"}, 401),
        ({"X-GitHub-Delivery": "d1", "X-Hub-Signature-256": GH_SIG.upper()}, 401),
    ],
)
def test_github_refusals(headers: dict[str, str], status: int) -> None:
    """No delivery id is 400; a missing, other-algorithm or wrong signature is 401."""
    assert _refusal(GITHUB, [GH_SECRET], headers, GH_BODY, 0).http_status == status


def test_refusals_never_carry_the_secret_or_signature() -> None:
    """No refusal message quotes the secret, the key or the presented signature."""
    refusals = [
        _refusal(STANDARD, [SW_SECRET], _sw_headers(), SW_BODY + b"x", SW_TS),
        _refusal(GITHUB, [GH_SECRET], {"X-GitHub-Delivery": "d", "X-Hub-Signature-256": GH_SIG}, b"x", 0),
    ]
    for refusal in refusals:
        text = str(refusal) + repr(refusal.to_dict())
        for secret in (SW_SECRET, SW_SIG, SW_SIG[3:], GH_SECRET, GH_SIG, GH_SIG[7:]):
            assert secret not in text
