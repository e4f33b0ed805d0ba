"""Graph's webhook rules, pure: handshake token, batch parsing, clientState, ids, rich content and tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.webhooks._graph import (
    check_client_states,
    event_id,
    parse_batch,
    stored_form,
    validation_token,
)
from shared.webhooks._refusal import Refused
from shared.webhooks._rich import (
    decrypt_content,
    parse_encrypted_content,
    rsa_oaep_unwrapper,
    verify_validation_tokens,
)
from tests.app.webhooks.support import APP_ID, TENANT, encrypt_like_graph, notification
from tests.app.webhooks.support import validation_token as make_token

ISSUER = f"https://sts.windows.net/{TENANT}/"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _body(*notifications: dict[str, Any], tokens: list[str] | None = None) -> bytes:
    doc: dict[str, Any] = {"value": list(notifications)}
    if tokens is not None:
        doc["validationTokens"] = tokens
    return json.dumps(doc).encode()


def test_validation_token_is_taken_from_the_query() -> None:
    """The handshake's token comes back as given (URL-decoded by the host); none = a notification."""
    assert validation_token({"validationToken": "Validation: Testing client application reachability"}) == (
        "Validation: Testing client application reachability"
    )
    assert validation_token({}) is None
    with pytest.raises(Refused):
        validation_token({"validationToken": "x" * 5000})


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"value": []}',
        b'{"value": [1]}',
        b'{"value": [{"changeType": "updated"}]}',
        b'{"value": [{"subscriptionId": "s", "lifecycleEvent": "nonsense"}]}',
        b'{"value": [{"subscriptionId": "s", "resource": "users"}]}',
        b"\xff\xfe",
    ],
)
def test_malformed_batches_are_400(body: bytes) -> None:
    """Non-JSON, empty, non-object, id-less or incomplete notifications are refused 400."""
    with pytest.raises(Refused) as caught:
        parse_batch(body)
    assert caught.value.http_status == 400


def test_client_state_must_match_for_every_notification() -> None:
    """A batch passes when every clientState matches an accepted value; one mismatch refuses it 401."""
    good = parse_batch(_body(notification(), notification(resource="users/def")))
    check_client_states(good, ["s3cret-state"])
    check_client_states(good, ["new-state", "s3cret-state"])  # during a rotation
    for bad in (notification(client_state="wrong"), {**notification(), "clientState": None}):
        with pytest.raises(Refused) as caught:
            check_client_states(parse_batch(_body(notification(), bad)), ["s3cret-state"])
        assert caught.value.http_status == 401


def test_event_ids_are_stable_and_distinguish_changes() -> None:
    """A notification's own id wins; else the same change gives one id, another change another."""
    assert event_id({**notification(), "id": "n-1"}) == "n-1"
    assert event_id(notification()) == event_id(notification(client_state="other"))
    assert event_id(notification()) != event_id(notification(resource="users/def"))


def test_stored_form_drops_client_state() -> None:
    """The form kept in storage has no clientState."""
    assert "clientState" not in stored_form(notification())


def test_rich_content_decrypts_as_graph_encrypts(key: rsa.RSAPrivateKey) -> None:
    """Content encrypted exactly as Graph documents decrypts to the resource with the certificate's key."""
    resource = {"id": "abc", "displayName": "Adele Vance"}
    content = parse_encrypted_content(encrypt_like_graph(resource, key.public_key()))
    assert decrypt_content(content, rsa_oaep_unwrapper(key)) == resource


def test_tampered_data_signature_is_refused_before_decrypting(key: rsa.RSAPrivateKey) -> None:
    """A changed dataSignature or data is refused 401, and the cipher is never run on tampered data."""
    encrypted = encrypt_like_graph({"id": "abc"}, key.public_key())
    flipped = encrypted["dataSignature"][:-4] + (
        "AAA=" if not encrypted["dataSignature"].endswith("AAA=") else "BBB="
    )
    for tampered in (
        {**encrypted, "dataSignature": flipped},
        {**encrypted, "data": encrypted["dataSignature"]},
    ):
        with pytest.raises(Refused, match="dataSignature") as caught:
            decrypt_content(parse_encrypted_content(tampered), rsa_oaep_unwrapper(key))
        assert caught.value.http_status == 401


def test_data_key_for_another_certificate_is_refused(key: rsa.RSAPrivateKey) -> None:
    """A dataKey encrypted for another certificate does not unwrap: 401."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    content = parse_encrypted_content(encrypt_like_graph({"id": "abc"}, other.public_key()))
    with pytest.raises(Refused):
        decrypt_content(content, rsa_oaep_unwrapper(key))


def _verify(tokens: list[str], key: rsa.RSAPrivateKey, kid: str = "k1") -> list[dict[str, Any]]:
    return verify_validation_tokens(
        tokens,
        app_ids=frozenset({APP_ID}),
        tenant_ids=frozenset({TENANT}),
        issuer_for=lambda tid: f"https://sts.windows.net/{tid}/",
        key_for=lambda k: key.public_key() if k == kid else None,
    )


def test_valid_validation_token_passes(key: rsa.RSAPrivateKey) -> None:
    """A Change Tracking token for our app, from the tenant's issuer, signed by a published key passes."""
    claims = _verify([make_token(key, "k1", issuer=ISSUER)], key)
    assert claims[0]["tid"] == TENANT


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"audience": "00000000-0000-0000-0000-000000000001"}, "audience"),
        ({"appid": "11111111-1111-1111-1111-111111111111"}, "Change Tracking"),
        ({"issuer": "https://sts.windows.net/another/"}, "issuer"),
        ({"tenant": "99999999-9999-9999-9999-999999999999"}, "tenant"),
        ({"lifetime_s": -3600}, "expired"),
    ],
)
def test_wrong_validation_tokens_are_refused(
    key: rsa.RSAPrivateKey, change: dict[str, Any], reason: str
) -> None:
    """Wrong audience, app, issuer, tenant or an expired token is refused 401 saying which rule failed."""
    with pytest.raises(Refused, match=reason) as caught:
        _verify([make_token(key, "k1", **{"issuer": ISSUER, **change})], key)
    assert caught.value.http_status == 401


def test_forged_or_unknown_key_tokens_are_refused(key: rsa.RSAPrivateKey) -> None:
    """A token signed by another key under a published kid, an unknown kid, junk, or none is 401."""
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for tokens in (
        [make_token(forger, "k1", issuer=ISSUER)],
        [make_token(key, "k9", issuer=ISSUER)],
        ["junk"],
        [],
    ):
        with pytest.raises(Refused) as caught:
            _verify(tokens, key)
        assert caught.value.http_status == 401
