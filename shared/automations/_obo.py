"""On-behalf-of: exchange the caller's token for one to call Graph as the caller.

msal's `acquire_token_on_behalf_of` on the connection's own ConfidentialClientApplication (the
same app, cache and client credential as its app-only tokens: a Key Vault certificate, the
managed identity's federated assertion or a Key Vault key; no secret needed). msal caches the
result per user assertion, so a warm call costs no Entra request
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow).

msal Python does not look its cache up for on-behalf-of (each call posts to Entra), so results
are kept here per (connection, SHA-256 of the user's token, scopes) until five minutes before
they expire: a warm call costs no Entra request. Only the hash of the caller's token is kept;
the cache is bounded (least recently used entries go first).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConfigurationError


@dataclass(frozen=True)
class OboToken:
    token: str = field(repr=False)
    expires_on: int
    scopes: frozenset[str]


_MARGIN_S = 300
_MAX_ENTRIES = 2048
_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, tuple[str, ...]], OboToken] = OrderedDict()


def on_behalf_of(connection: str, user_token: str, scopes: list[str]) -> OboToken:
    """A token for `scopes` on behalf of the user whose token this is (cached until near expiry)."""
    key = (connection, hashlib.sha256(user_token.encode()).hexdigest(), tuple(sorted(scopes)))
    with _lock:
        found = _cache.get(key)
        if found is not None and found.expires_on - time.time() > _MARGIN_S:
            _cache.move_to_end(key)
            return found
    fresh = _exchange(connection, user_token, scopes)
    with _lock:
        _cache[key] = fresh
        _cache.move_to_end(key)
        while len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return fresh


def reset_obo_cache() -> None:
    """Forget every cached on-behalf-of token (tests)."""
    with _lock:
        _cache.clear()


def _exchange(connection: str, user_token: str, scopes: list[str]) -> OboToken:
    from shared import boundary
    from shared.http import deadline_scope
    from shared.identity import connection as named
    from shared.identity._app_credential import AppCredential
    from shared.identity._msal import app_for

    conn = named(connection)
    credential: Any = conn._credential
    if not isinstance(credential, AppCredential):
        raise ConfigurationError(
            f"Connection '{connection}' is a {conn.kind.value} connection: on-behalf-of needs the app "
            "registration's own credential (certificate, federated-identity, keyvault-key or client-secret)."
        )
    with deadline_scope():
        ctx = credential._context()
        key = (*credential._prefix, credential._version())
        # The app the connection uses for its own tokens: one discovery request per process.
        msal_app = app_for(key, lambda: credential._build(ctx, key))
        msal_app.recorder.forget()
        with boundary.mapped(boundary.STEP_ENTRA, ctx):
            result: dict[str, Any] = msal_app.app.acquire_token_on_behalf_of(user_token, scopes) or {}
    if "access_token" not in result:
        raise boundary.msal_result_error(result, status=msal_app.recorder.last.status, ctx=ctx)
    return OboToken(
        token=str(result["access_token"]),
        expires_on=int(time.time()) + int(result.get("expires_in", 0)),
        scopes=frozenset(str(result.get("scope", "")).split()),
    )
