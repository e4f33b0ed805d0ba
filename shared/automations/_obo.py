"""On-behalf-of: exchange the caller's token for one to call Graph as the caller.

msal's `acquire_token_on_behalf_of` on the connection's own ConfidentialClientApplication (the
same app, cache and client credential as its app-only tokens: a Key Vault certificate, the
managed identity's federated assertion or a Key Vault key; no secret needed). msal caches the
result per user assertion, so a warm call costs no Entra request
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConfigurationError


@dataclass(frozen=True)
class OboToken:
    token: str = field(repr=False)
    expires_on: int
    scopes: frozenset[str]


def on_behalf_of(connection: str, user_token: str, scopes: list[str]) -> OboToken:
    """A token for `scopes` on behalf of the user whose token this is."""
    from shared.connections import get_connection
    from shared.http import Deadline, deadline_scope
    from shared.identity._app_credential import AppCredential
    from shared.identity._errors import STEP_ENTRA, boundary, map_msal_result
    from shared.identity._msal import app_for

    conn = get_connection(connection)
    credential: Any = conn._credential
    if not isinstance(credential, AppCredential):
        raise ConfigurationError(
            f"Connection '{connection}' is a {conn.kind} connection: on-behalf-of needs the app "
            "registration's own credential (certificate, federated-identity, keyvault-key or client-secret)."
        )
    with deadline_scope(Deadline.after(30)):
        ctx = credential._context()
        key = (*credential._prefix, credential._version())
        # The app the connection uses for its own tokens: one discovery request per process.
        msal_app = app_for(key, lambda: credential._build(ctx, key))
        msal_app.recorder.forget()
        with boundary(STEP_ENTRA, ctx):
            result: dict[str, Any] = msal_app.app.acquire_token_on_behalf_of(user_token, scopes) or {}
    if "access_token" not in result:
        raise map_msal_result(result, STEP_ENTRA, status=msal_app.recorder.last.status, ctx=ctx)
    return OboToken(
        token=str(result["access_token"]),
        expires_on=int(time.time()) + int(result.get("expires_in", 0)),
        scopes=frozenset(str(result.get("scope", "")).split()),
    )
