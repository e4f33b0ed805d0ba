"""Signed webhooks, pure: Standard Webhooks and GitHub signatures over the raw body.

Standard Webhooks (https://www.standardwebhooks.com, spec/standard-webhooks.md): HMAC-SHA256
over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part of the
secret after `whsec_`; `webhook-signature` is a space-separated list of `v1,<base64>` (several
during a key rotation; other versions such as `v1a,` are ignored); the timestamp must be within
five minutes of now either way. GitHub ("Validating webhook deliveries"): `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the body>` keyed with the secret's UTF-8 bytes, and
`X-GitHub-Delivery` as the id.

Every comparison is `hmac.compare_digest`; no message carries a signature or a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from shared.webhooks._refusal import bad_request, unauthorized

STANDARD = "standard-webhooks"
GITHUB = "github"
SCHEMES = (STANDARD, GITHUB)
TOLERANCE_S = 300  # Standard Webhooks' five minutes, either side of now
MAX_ID = 256


@dataclass(frozen=True)
class Verified:
    """What a valid signature vouches for: the sender's event id and (Standard Webhooks) its time."""

    event_id: str
    timestamp: int | None


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 of the part after `whsec_`."""
    encoded = secret.strip()
    if encoded.startswith("whsec_"):
        encoded = encoded[len("whsec_") :]
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        # A setup mistake, not the sender's: the secret in Key Vault is not whsec_<base64>.
        raise ValueError("the Standard Webhooks secret is not whsec_<base64>") from exc


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` (what a sender puts in the header)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) else None


def _check_id(value: str | None, header: str) -> str:
    if not value:
        raise bad_request(f"The {header} header is missing.")
    if len(value) > MAX_ID or not value.isprintable():
        raise bad_request(f"The {header} header is not a valid id (printable, at most {MAX_ID} characters).")
    return value


def verify_standard(keys: list[bytes], headers: Mapping[str, str], body: bytes, *, now: float) -> Verified:
    """Check a Standard Webhooks delivery against any of `keys`; Refused (400/401) otherwise."""
    msg_id = _check_id(_header(headers, "webhook-id"), "webhook-id")
    raw_ts = _header(headers, "webhook-timestamp")
    if not raw_ts:
        raise bad_request("The webhook-timestamp header is missing.")
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise bad_request("The webhook-timestamp header is not an integer number of seconds.")
    timestamp = int(raw_ts)
    if abs(now - timestamp) > TOLERANCE_S:
        raise unauthorized(
            f"The webhook-timestamp is more than {TOLERANCE_S} seconds from now; "
            "check the sender's clock (a replay is refused the same way)."
        )
    presented = _header(headers, "webhook-signature")
    if not presented:
        raise unauthorized("The webhook-signature header is missing.")
    candidates: list[bytes] = []
    for item in presented.split(" "):
        version, _, value = item.partition(",")
        if version != "v1" or not value:
            continue  # other schemes (v1a, ed25519) are not ours to check
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    signed = f"{msg_id}.{timestamp}.".encode() + body
    ok = False
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for candidate in candidates:
            # No early exit: every candidate is compared, so timing says nothing about which matched.
            ok |= hmac.compare_digest(expected, candidate)
    if not ok:
        raise unauthorized("No webhook-signature matches the source's secret.")
    return Verified(event_id=msg_id, timestamp=timestamp)


def github_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>` as GitHub sends it in X-Hub-Signature-256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_github(secrets: list[str], headers: Mapping[str, str], body: bytes) -> Verified:
    """Check a GitHub delivery against any of `secrets`; Refused (400/401) otherwise."""
    delivery = _check_id(_header(headers, "x-github-delivery"), "X-GitHub-Delivery")
    presented = _header(headers, "x-hub-signature-256")
    if not presented:
        raise unauthorized("The X-Hub-Signature-256 header is missing.")
    scheme, _, hex_value = presented.partition("=")
    if scheme != "sha256" or not hex_value:
        raise unauthorized("X-Hub-Signature-256 is not sha256=<hex>.")
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(github_signature(secret, body).encode(), presented.encode())
    if not ok:
        raise unauthorized("X-Hub-Signature-256 does not match the source's secret.")
    return Verified(event_id=delivery, timestamp=None)


def verify(
    scheme: str, secrets: list[str], headers: Mapping[str, str], body: bytes, *, now: float
) -> Verified:
    """Verify a delivery with the source's scheme and its secret values (newest first)."""
    if scheme == STANDARD:
        return verify_standard([standard_key(s) for s in secrets], headers, body, now=now)
    if scheme == GITHUB:
        return verify_github(secrets, headers, body)
    raise ValueError(f"unknown signature scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
