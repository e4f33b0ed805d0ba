"""Validate an Entra access token for our API, as Microsoft documents for resource servers
(https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens):

- `alg` is RS256 and nothing else (`none`, HS256 keyed with the public key, PS256... refused);
- the key is the tenant's, picked by `kid` from the cached JWKS (`SigningKeys`), never from the header;
- `aud` is one of ours (the client id, its `api://` URI); a Graph token has another and is refused;
- `iss` is exactly the issuer the OpenID configuration publishes for the token's version (v1
  `https://sts.windows.net/{tid}/`, v2 `https://login.microsoftonline.com/{tid}/v2.0`), with
  `{tenantid}` replaced by the token's `tid` (a GUID) for multi-tenant APIs, and `tid` on the allow-list;
- `exp` / `nbf` with a small clock skew.
Warm calls make no network request: one header parse, one signature check, a few comparisons.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.auth import _errors as reasons
from shared.auth._errors import InvalidTokenError
from shared.auth._keys import V1, V2, SigningKeys

DEFAULT_LEEWAY_S = 60
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TEMPLATES = ("{tenantid}", "{tid}")


@dataclass(frozen=True)
class TokenPolicy:
    """What our API accepts: audiences, tenants (lower-case GUIDs), token versions, clock skew.

    `keys` is the cache for the tenant (single-tenant) or `organizations` (multi-tenant);
    `tenants` is the allow-list of `tid`s (the home tenant by default).
    """

    keys: SigningKeys
    audiences: frozenset[str]
    tenants: frozenset[str]
    versions: frozenset[str] = frozenset({V1, V2})
    leeway_s: int = DEFAULT_LEEWAY_S
    required: tuple[str, ...] = field(default=("exp", "iat", "aud", "iss", "tid"))


def _b64json(segment: str) -> Mapping[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _header(token: str) -> Mapping[str, Any]:
    if not token:
        raise InvalidTokenError(reasons.MISSING)
    if token.count(".") != 2:
        raise InvalidTokenError(reasons.MALFORMED)
    try:
        return _b64json(token.split(".", 1)[0])
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidTokenError(reasons.MALFORMED) from exc


def validate(token: str, policy: TokenPolicy) -> dict[str, Any]:
    """The token's claims once every check passed; else InvalidTokenError naming the failed check."""
    import jwt  # PyJWT; here so importing shared.auth stays cheap

    header = _header(token)
    if header.get("alg") != "RS256":
        raise InvalidTokenError(reasons.ALGORITHM)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidTokenError(reasons.SIGNATURE)
    key = policy.keys.key(kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=list(policy.audiences),
            leeway=policy.leeway_s,
            options={"require": list(policy.required), "verify_iss": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError(reasons.EXPIRED) from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidTokenError(reasons.NOT_YET_VALID) from exc
    except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError) as exc:
        missing_aud = isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim != "aud"
        raise InvalidTokenError(reasons.CLAIMS if missing_aud else reasons.AUDIENCE) from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidTokenError(reasons.SIGNATURE) from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(reasons.MALFORMED) from exc
    _check_issuer(claims, policy)
    return claims


def _check_issuer(claims: Mapping[str, Any], policy: TokenPolicy) -> None:
    tid = claims.get("tid")
    if not isinstance(tid, str) or not _GUID.match(tid.lower()):
        raise InvalidTokenError(reasons.TENANT)
    tid = tid.lower()
    if tid not in policy.tenants:
        raise InvalidTokenError(reasons.TENANT)
    version = claims.get("ver", V1)  # v1 tokens carry ver "1.0"; a token without one is v1
    if version not in policy.versions:
        raise InvalidTokenError(reasons.VERSION)
    expected = policy.keys.issuer(V2 if version == V2 else V1)
    for template in _TEMPLATES:
        expected = expected.replace(template, tid)
    if claims.get("iss") != expected:
        raise InvalidTokenError(reasons.ISSUER)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; InvalidTokenError(MISSING) if none."""
    if not authorization:
        raise InvalidTokenError(reasons.MISSING)
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidTokenError(reasons.MISSING)
    return value.strip()


Validator = Callable[[str], dict[str, Any]]
