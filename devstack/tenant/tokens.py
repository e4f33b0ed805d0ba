"""Access tokens as Entra issues them: RS256 JWTs signed with the tenant's published key.

The identity endpoint and the token endpoint issue through `TokenIssuer`; Key Vault and Graph
verify through it, the same way a resource server checks a real token against the JWKS.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.tenant.pki import b64url, new_rsa_key

# Real access tokens live 60-90 minutes. azure-identity treats a token that expires within
# 5 minutes as expired, so anything much shorter would refetch on every call.
DEFAULT_LIFETIME_S = 3600
# azpacr / appidacr: "0" public client, "1" client id + secret, "2" certificate or assertion
# (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
CLIENT_AUTH_PUBLIC, CLIENT_AUTH_SECRET, CLIENT_AUTH_CERTIFICATE = "0", "1", "2"
CLIENT_AUTH_VALUES = frozenset({CLIENT_AUTH_PUBLIC, CLIENT_AUTH_SECRET, CLIENT_AUTH_CERTIFICATE})


class TokenRejected(Exception):
    """A presented token is not acceptable; `reason` says why in the resource's own words."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # "missing" | "malformed" | "signature" | "expired" | "audience" | "issuer"


@dataclass(frozen=True)
class Principal:
    """Who a token is for: a managed identity, an app (service principal) or a user."""

    object_id: str
    app_id: str
    display_name: str
    kind: str  # "ManagedIdentity" | "Application" | "User"
    upn: str | None = None
    mi_resource_id: str | None = None


class TokenIssuer:
    """One tenant's signing key, its JWKS, and token issue/verify."""

    def __init__(self, tenant_id: str, issuer: str) -> None:
        self.tenant_id = tenant_id
        self.issuer = issuer
        # v1 tokens name the tenant's STS: https://sts.windows.net/{tid}/ in Azure, here the
        # authority's `{host}/{tid}/` (what the v1 OpenID configuration publishes).
        self.issuer_v1 = issuer.removesuffix("v2.0").rstrip("/") + "/"
        self._key: rsa.RSAPrivateKey = new_rsa_key()
        self.kid = uuid.uuid4().hex
        self._published: dict[str, rsa.RSAPrivateKey] = {self.kid: self._key}

    def rotate(self) -> str:
        """Sign with a new key from now on; the old one stays published (as in a real rollover)."""
        self._key = new_rsa_key()
        self.kid = uuid.uuid4().hex
        self._published[self.kid] = self._key
        return self.kid

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """Any claims signed with the tenant's current key (devstack: genuine tokens with bad claims)."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def jwks(self) -> dict[str, Any]:
        def _int(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        keys = []
        for kid, key in self._published.items():
            numbers = key.public_key().public_numbers()
            keys.append({"kty": "RSA", "use": "sig", "kid": kid, "n": _int(numbers.n), "e": _int(numbers.e)})
        return {"keys": keys}

    def issue(
        self,
        principal: Principal,
        audience: str,
        *,
        roles: list[str] | None = None,
        scopes: list[str] | None = None,
        azp: str | None = None,
        lifetime_s: int = DEFAULT_LIFETIME_S,
        now: float | None = None,
        client_auth: str | None = None,
        version: str = "2.0",
    ) -> tuple[str, int]:
        """Return (token, expires_on epoch seconds).

        `version` "1.0" gives a v1 token (v1 issuer, `appid`/`appidacr`, `unique_name`, no
        `azp`), as Entra issues for an API whose `accessTokenAcceptedVersion` is null or 1.

        `client_auth` is how the client proved itself, for `azpacr` (v2) and `appidacr` (v1):
        "0" public client, "1" client secret, "2" certificate or client assertion (managed
        identities are "2" too). Left out: "2" for an application principal, else "0".
        """
        acr = client_auth if client_auth is not None else ("2" if principal.kind == "Application" else "0")
        if acr not in CLIENT_AUTH_VALUES:
            raise ValueError(f"client_auth must be one of {sorted(CLIENT_AUTH_VALUES)}, not {acr!r}")
        now = int(now if now is not None else time.time())
        exp = now + lifetime_s
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "tid": self.tenant_id,
            "oid": principal.object_id,
            "sub": principal.object_id,
            "azp": azp or principal.app_id,
            "appid": azp or principal.app_id,
            "azpacr": acr,
            "appidacr": acr,
            "idtyp": "user" if principal.kind == "User" else "app",
            "uti": b64url(uuid.uuid4().bytes),
            "ver": "2.0",
        }
        if principal.mi_resource_id:
            claims["xms_mirid"] = principal.mi_resource_id
        if principal.upn:
            claims["upn"] = principal.upn
            claims["preferred_username"] = principal.upn
            claims["name"] = principal.display_name
        if roles:
            claims["roles"] = sorted(roles)
        if scopes:
            claims["scp"] = " ".join(sorted(scopes))
        if version == "1.0":
            claims |= {"iss": self.issuer_v1, "ver": "1.0"}
            for name in ("azp", "azpacr", "preferred_username"):
                claims.pop(name, None)
            if principal.upn:
                claims["unique_name"] = principal.upn
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})
        return token, exp

    def verify(self, token: str, audiences: list[str] | str, *, leeway_s: int = 0) -> dict[str, Any]:
        """Check signature, issuer, audience and lifetime; raise TokenRejected naming the failure."""
        if not token:
            raise TokenRejected("Access token is empty.", "missing")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected("IDX14100: JWT is not well formed.", "malformed") from exc
        key = self._published.get(str(header.get("kid")))
        if key is None:
            raise TokenRejected("Signing key not found.", "signature")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key(),
                algorithms=["RS256"],
                audience=audiences,
                issuer=[self.issuer, self.issuer_v1],
                leeway=leeway_s,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("Lifetime validation failed, the token is expired.", "expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenRejected("Invalid audience.", "audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenRejected("Invalid issuer.", "issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenRejected("Signature validation failed.", "signature") from exc
        except jwt.PyJWTError as exc:
            # The reason reaches error bodies (AADSTS50013): never a Python class name.
            raise TokenRejected("IDX10000: The token could not be validated.", "malformed") from exc
        return claims

    def peek(self, token: str) -> dict[str, Any]:
        """Claims without verification (for error messages that quote the presented audience)."""
        try:
            claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return {}
        return claims
