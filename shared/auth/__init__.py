"""Caller-token validation: Entra's signing keys cached by `kid`, and `validate()`.

    keys = signing_keys(authority_host, tenant_id)            # process-wide, lazy, thread-safe
    policy = TokenPolicy(keys, audiences=frozenset({client_id, f"api://{client_id}"}),
                         tenants=frozenset({tenant_id}))
    claims = validate(token, policy)                          # InvalidTokenError(reason) if refused
    caller = Caller.from_claims(claims)                       # who: oid, tid, upn, app id, roles, scopes

Nothing here imports an SDK at module level (function_app stays light). See docs/automations.md.
"""

from __future__ import annotations

from shared.auth._caller import Caller, CallerKind
from shared.auth._errors import InvalidTokenError
from shared.auth._keys import (
    MAX_AGE_S,
    MIN_REFRESH_S,
    V1,
    V2,
    KeysUnavailableError,
    SigningKeys,
    reset_signing_keys,
    signing_keys,
)
from shared.auth._validate import DEFAULT_LEEWAY_S, TokenPolicy, bearer_token, validate

__all__ = [
    "DEFAULT_LEEWAY_S",
    "MAX_AGE_S",
    "MIN_REFRESH_S",
    "V1",
    "V2",
    "Caller",
    "CallerKind",
    "InvalidTokenError",
    "KeysUnavailableError",
    "SigningKeys",
    "TokenPolicy",
    "bearer_token",
    "reset_signing_keys",
    "signing_keys",
    "validate",
]
