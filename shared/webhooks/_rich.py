"""Graph rich notifications, pure: validation tokens and `encryptedContent`.

Microsoft's "Set up change notifications that include resource data"
(learn.microsoft.com/graph/change-notifications-with-resource-data):
- `validationTokens`: one JWT per app and tenant in the batch, signed by Entra's keys
  (RS256, found by `kid`); `aud` is our app id, `appid` is Microsoft Graph Change Tracking
  (`0bf30f3b-4a52-48df-9a82-234910c4a086`), `iss` the tenant's (v1) issuer, not expired.
- `encryptedContent`: `dataKey` is the symmetric key encrypted with RSA-OAEP (SHA-1) under
  the subscription's encryption certificate; `dataSignature` is base64 HMAC-SHA256 of the
  base64-decoded `data`, keyed with the symmetric key, and is checked BEFORE decrypting;
  `data` is AES-CBC with PKCS7 padding, IV = the first 16 bytes of the symmetric key.

Unwrapping `dataKey` is I/O when the key is non-exportable (Key Vault's decrypt operation):
it is passed in as a function, so this module stays pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.webhooks._refusal import bad_request, unauthorized

CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
LEEWAY_S = 300  # clock skew allowed on exp/nbf, as Entra's own validators do


@dataclass(frozen=True)
class EncryptedContent:
    """The decoded `encryptedContent` members."""

    data: bytes
    data_signature: bytes
    data_key: bytes
    certificate_id: str | None
    certificate_thumbprint: str | None


def _b64(value: object, member: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise bad_request(f"encryptedContent.{member} is missing.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request(f"encryptedContent.{member} is not base64.") from exc


def parse_encrypted_content(value: object) -> EncryptedContent:
    """Decode `encryptedContent`; Refused(400) when a member is missing or not base64."""
    if not isinstance(value, Mapping):
        raise bad_request("encryptedContent must be an object.")
    cid = value.get("encryptionCertificateId")
    thumb = value.get("encryptionCertificateThumbprint")
    return EncryptedContent(
        data=_b64(value.get("data"), "data"),
        data_signature=_b64(value.get("dataSignature"), "dataSignature"),
        data_key=_b64(value.get("dataKey"), "dataKey"),
        certificate_id=cid if isinstance(cid, str) else None,
        certificate_thumbprint=thumb if isinstance(thumb, str) else None,
    )


def decrypt_content(content: EncryptedContent, unwrap: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The resource data: unwrap the key, check the HMAC, then AES-CBC decrypt; Refused on tampering."""
    from cryptography.hazmat.primitives import padding as sym_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = unwrap(content.data_key)
    if len(key) not in (16, 24, 32):
        raise unauthorized("encryptedContent.dataKey does not decrypt to an AES key.")
    expected = hmac.new(key, content.data, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, content.data_signature):
        raise unauthorized("encryptedContent.dataSignature does not match the data: refused, not decrypted.")
    if not content.data or len(content.data) % 16:
        raise unauthorized("encryptedContent.data is not whole AES blocks.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(content.data) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        doc = json.loads(plain)
    except (ValueError, UnicodeDecodeError) as exc:
        raise unauthorized("encryptedContent.data does not decrypt to JSON.") from exc
    if not isinstance(doc, dict):
        raise unauthorized("encryptedContent.data does not decrypt to a JSON object.")
    return doc


def rsa_oaep_unwrapper(private_key: Any) -> Callable[[bytes], bytes]:
    """Unwrap `dataKey` with a local RSA private key (an exportable certificate), OAEP SHA-1 as Graph uses."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def unwrap(data_key: bytes) -> bytes:
        try:
            return bytes(
                private_key.decrypt(
                    data_key,
                    padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
                )
            )
        except ValueError as exc:
            raise unauthorized("encryptedContent.dataKey does not decrypt with the certificate.") from exc

    return unwrap


def verify_validation_tokens(
    tokens: list[str],
    *,
    app_ids: frozenset[str],
    tenant_ids: frozenset[str],
    issuer_for: Callable[[str], str],
    key_for: Callable[[str], Any],
) -> list[dict[str, Any]]:
    """Check every token (RS256 by kid, aud, appid, iss, lifetime); Refused(401) naming the failed rule.

    `tenant_ids` are the tenants the batch's notifications name; every one of them must be
    covered by a valid token, and a token for another tenant is refused.
    """
    import jwt

    if not tokens:
        raise unauthorized("A notification with resource data came without validationTokens.")
    covered: set[str] = set()
    claims_seen: list[dict[str, Any]] = []
    for token in tokens:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("A validation token is not a JWT.") from exc
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise unauthorized("A validation token is not RS256 with a kid.")
        key = key_for(kid)
        if key is None:
            raise unauthorized("A validation token is signed by a key Entra does not publish.")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=sorted(app_ids),
                options={"require": ["exp", "aud", "iss"], "verify_iss": False},
                leeway=LEEWAY_S,
            )
        except jwt.InvalidAudienceError as exc:
            raise unauthorized("A validation token's audience is not this app.") from exc
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("A validation token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized("A validation token's signature or claims are invalid.") from exc
        if claims.get("appid") != CHANGE_TRACKING_APP_ID and claims.get("azp") != CHANGE_TRACKING_APP_ID:
            raise unauthorized("A validation token was not issued to Microsoft Graph Change Tracking.")
        tid = claims.get("tid")
        if not isinstance(tid, str) or tid.lower() not in tenant_ids:
            raise unauthorized("A validation token is for another tenant than the notifications.")
        if claims.get("iss") != issuer_for(tid):
            raise unauthorized("A validation token's issuer is not the tenant's.")
        covered.add(tid.lower())
        claims_seen.append(claims)
    missing = tenant_ids - covered
    if missing:
        raise unauthorized("No valid validation token covers a tenant in the batch.")
    return claims_seen
