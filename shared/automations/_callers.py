"""Who is calling: the bearer token validated in code, or App Service's principal when Easy Auth is on.

Easy Auth (App Service authentication) validates the token itself and injects
`X-MS-CLIENT-PRINCIPAL` (base64 JSON `{"auth_typ", "claims": [{"typ", "val"}], "name_typ",
"role_typ"}`), stripping any copy a client sent. Only then is the header trusted: the platform
says so with `WEBSITE_AUTH_ENABLED=True`. Without it the header is forgeable and ignored.
Claim types come as Entra names (`oid`, `scp`) or as their long URIs; the name and role
types are read from the principal's own `name_typ` / `role_typ`, not assumed
(https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import Caller, InvalidTokenError, TokenPolicy, bearer_token, signing_keys, validate
from shared.auth import _errors as reasons
from shared.automations._settings import AutomationSettings
from shared.easy_auth import PRINCIPAL_HEADER

# Long claim URIs Easy Auth may use for the claims we read, by their token names.
_CLAIM_URIS = {
    "http://schemas.microsoft.com/identity/claims/objectidentifier": "oid",
    "http://schemas.microsoft.com/identity/claims/tenantid": "tid",
    "http://schemas.microsoft.com/identity/claims/scope": "scp",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": "unique_name",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role": "roles",
    "http://schemas.microsoft.com/identity/claims/identityprovider": "idp",
}


@dataclass(frozen=True)
class Authenticated:
    """The caller, and the bearer token when there is one (kept in memory for on-behalf-of only)."""

    caller: Caller
    token: str | None


def _policy(settings: AutomationSettings) -> TokenPolicy:
    tenant = "organizations" if settings.multi_tenant else settings.tenant_id
    return TokenPolicy(
        signing_keys(settings.authority_host, tenant),
        audiences=settings.audiences,
        tenants=settings.tenants,
        versions=settings.versions,
    )


def authenticate(headers: Mapping[str, str], settings: AutomationSettings) -> Authenticated:
    """The caller of a request; InvalidTokenError (a 401) if there is none acceptable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization")
    if settings.easy_auth:
        caller = easy_auth_caller(lowered.get(PRINCIPAL_HEADER))
        if caller.tenant_id.lower() not in settings.tenants:
            raise InvalidTokenError(reasons.TENANT)
        token = bearer_token(authorization) if authorization else None
        return Authenticated(caller, token)
    token = bearer_token(authorization)
    return Authenticated(Caller.from_claims(validate(token, _policy(settings))), token)


def easy_auth_caller(header: str | None) -> Caller:
    """The caller Easy Auth describes; InvalidTokenError(MISSING) when it describes none."""
    if not header:
        raise InvalidTokenError(reasons.MISSING)
    try:
        principal = json.loads(base64.b64decode(header, validate=False))
        entries = principal["claims"]
        if not isinstance(entries, list):
            raise TypeError("claims")
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidTokenError(reasons.MALFORMED) from exc
    name_typ = principal.get("name_typ")
    role_typ = principal.get("role_typ")
    claims: dict[str, Any] = {}
    roles: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        typ, val = str(entry.get("typ", "")), str(entry.get("val", ""))
        if typ == role_typ or _CLAIM_URIS.get(typ, typ) == "roles":
            roles.append(val)
            continue
        if typ == name_typ and "name" not in claims:
            claims["name"] = val
        claims.setdefault(_CLAIM_URIS.get(typ, typ), val)
    if roles:
        claims["roles"] = roles
    if not claims.get("oid") or not claims.get("tid"):
        raise InvalidTokenError(reasons.CLAIMS)
    return Caller.from_claims(claims)
