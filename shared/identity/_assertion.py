"""Client assertion JWTs signed elsewhere (a Key Vault key): building and assembling, no I/O.

Entra reads: header `alg` RS256 and `x5t` (base64url SHA-1 of the registered certificate);
claims `aud` = the token endpoint, `iss` = `sub` = the client id, a fresh `jti`, and
`nbf`/`iat`/`exp`. Every JWT segment is base64url WITHOUT padding (one public sample pads
and produces assertions Entra rejects).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field

ASSERTION_LIFETIME_S = 600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class UnsignedAssertion:
    """`signing_input` = b64url(header) + "." + b64url(claims); sign SHA-256 of it with RS256."""

    signing_input: bytes
    expires_at: float

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.signing_input).digest()

    def assemble(self, signature: bytes) -> SignedAssertion:
        token = self.signing_input.decode("ascii") + "." + b64url(signature)
        return SignedAssertion(token=token, expires_at=self.expires_at)


@dataclass(frozen=True)
class SignedAssertion:
    token: str = field(repr=False)
    expires_at: float


def build_assertion(
    *,
    client_id: str,
    token_endpoint: str,
    x5t: str,
    now: float | None = None,
    lifetime_s: int = ASSERTION_LIFETIME_S,
) -> UnsignedAssertion:
    """The header and claims of a client assertion, ready to be signed."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5t": x5t}
    claims = {
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": issued,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    )
    return UnsignedAssertion(
        signing_input=signing_input.encode("ascii"), expires_at=float(issued + lifetime_s)
    )
