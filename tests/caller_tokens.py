"""Getting callers' tokens from the devstack's Entra as real clients do (support, not a test module).

- a user: msal `PublicClientApplication` (Azure CLI's client id) through the device code flow, the
  sign-in answered by the emulator's `POST /_devstack/devicecode`;
- an app: msal `ConfidentialClientApplication` with its client secret (client credentials);
- forgeries: PyJWT, each breaking one rule.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jwt
import msal
import requests

from devstack.tenant.pki import new_rsa_key
from tests.conftest import tls_session

AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
API_APP = "316b4b46-544f-4d74-aec8-701c7e328ddb"
CALLER_APP = "9f5a1c3e-2b7d-4e8f-a6c1-3d2e4f5a6b7c"
OBSERVER_APP = "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
ADELE = "adele.vance@contoso.onmicrosoft.com"  # app roles Sessions.Revoke, GroupMembers.Manage
ALEX = "alex.wilber@contoso.onmicrosoft.com"  # no app role
API_SCOPE = f"api://{API_APP}/access_as_user"

_lock = threading.Lock()
_cache: dict[tuple[str, ...], str] = {}


def _http(ca: str) -> requests.Session:
    return tls_session(ca)


def user_token(
    authority_host: str, tenant_id: str, ca: str, upn: str, scope: str = API_SCOPE, *, fresh: bool = False
) -> str:
    """A user's access token through msal's device code flow (cached per user and scope unless fresh).

    A fresh token is never cached: tests ask for one when they have changed the tenant (a v1 API,
    say), and a later test asking for the usual token must not get theirs.
    """
    key = ("user", authority_host, upn, scope)
    with _lock:
        if key in _cache and not fresh:
            return _cache[key]
    http = _http(ca)
    app = msal.PublicClientApplication(
        AZURE_CLI, authority=f"{authority_host}/{tenant_id}", instance_discovery=False, http_client=http
    )
    flow = app.initiate_device_flow(scopes=[scope])
    assert "user_code" in flow, flow
    signed_in = http.post(
        f"{authority_host}/_devstack/devicecode",
        json={"userCode": flow["user_code"], "user": upn},
        timeout=10,
    )
    signed_in.raise_for_status()
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: time.time() > f["expires_at"])
    assert "access_token" in result, result
    token = str(result["access_token"])
    if not fresh:
        with _lock:
            _cache[key] = token
    return token


def app_token(authority_host: str, tenant_id: str, ca: str, client_id: str, secret: str) -> str:
    """An app-only token for the API (client credentials with the caller app's secret)."""
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=f"{authority_host}/{tenant_id}",
        instance_discovery=False,
        http_client=_http(ca),
    )
    result = app.acquire_token_for_client([f"api://{API_APP}/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


def decode(token: str) -> dict[str, Any]:
    """Claims without verification (to build a forgery from a real token's claims)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def header(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


def sign(claims: dict[str, Any], headers: dict[str, Any] | None = None, key: Any = None) -> str:
    """RS256-sign `claims` with `key` (a fresh attacker's key by default)."""
    return jwt.encode(
        claims, key or new_rsa_key(), algorithm="RS256", headers=headers or {"kid": uuid.uuid4().hex}
    )


def unsigned(claims: dict[str, Any], kid: str) -> str:
    """An `alg: none` token."""
    return jwt.encode(claims, "", algorithm="none", headers={"kid": kid})
