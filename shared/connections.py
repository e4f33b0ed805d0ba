"""Named connections: tokens for any resource, as configured by `CONNECTIONS__<NAME>__*`.

    conn = get_connection("graph")
    info = conn.get_token("https://graph.microsoft.com")   # or ".../.default"
    conn.describe()                                          # static facts, never a token

Connections are built lazily, kept for the life of the process, and thread-safe. Tokens are
cached per (connection, scope) and refreshed some minutes before they expire, with one fetch
in flight per key: warm calls cost no network request. Each fetch has a deadline; an outage
is reported as `IdentityUnavailableError` / an `outage` error with the real status, a
misconfiguration as `AuthenticationFailedError` / `ConfigurationError` with a hint.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.clouds import Cloud
from shared.config import (
    CERTIFICATE,
    CLIENT_SECRET,
    FEDERATED_IDENTITY,
    KEYVAULT_KEY,
    MANAGED_IDENTITY,
    ConnectionSettings,
    get_settings,
    reset_settings,
)
from shared.errors import AutomationError, ConfigurationError
from shared.http import Deadline, deadline_scope, reset_session
from shared.identity._msal import reset_apps
from shared.identity._token_cache import AccessToken, SingleFlightCache, unverified_claims
from shared.identity._vault import reset_vaults
from shared.identity.certificate import CertificateCredential
from shared.identity.client_secret import ClientSecretCredential
from shared.identity.federated_identity import FederatedIdentityCredential
from shared.identity.keyvault_key import KeyVaultKeyCredential
from shared.identity.managed_identity import (
    ManagedIdentityCredential,
    identity_facts,
    reset_managed_identity_cache,
)

log = logging.getLogger(__name__)

__all__ = ["Connection", "TokenInfo", "connection_names", "get_connection", "reset_connections"]

# Keep serving a cached token through an outage while it has at least this long to live.
_OUTAGE_GRACE_S = 30


@dataclass(frozen=True)
class TokenInfo:
    """A bearer token (never in repr), its expiry, and its claims decoded WITHOUT verification."""

    token: str = field(repr=False)
    expires_on: int
    claims: dict[str, Any]


class _Credential(Protocol):
    kind: str

    def fetch(self, scope: str, deadline: Deadline) -> AccessToken: ...

    def facts(self) -> dict[str, object]: ...


_SCOPE = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|[0-9a-fA-F-]{36}(/\.default)?)$")


def to_scope(resource_or_scope: str) -> str:
    """`https://graph.microsoft.com`, `.../`, `.../.default` -> `https://graph.microsoft.com/.default`."""
    value = resource_or_scope.strip()
    if not _SCOPE.match(value):
        raise ConfigurationError(
            f"'{resource_or_scope}' is not a resource: app-only tokens are asked for a resource URI "
            "(https://graph.microsoft.com, api://<app id>) or '<resource>/.default', not a named scope."
        )
    if value.endswith("/.default"):
        return value
    return value.rstrip("/") + "/.default"


class Connection:
    """One configured connection; long-lived and shared between invocations and threads."""

    def __init__(self, settings: ConnectionSettings, cloud: Cloud, credential: _Credential) -> None:
        self.name = settings.name
        self.kind = settings.credential
        self.settings = settings
        self.cloud = cloud
        self._credential = credential
        timing = get_settings().timing
        self._margin_s = timing.token_refresh_margin_s
        self._deadline_s = timing.deadline_s
        self._tokens: SingleFlightCache[str, TokenInfo] = SingleFlightCache(self._fresh)

    def __repr__(self) -> str:
        return f"Connection(name={self.name!r}, kind={self.kind!r})"

    def _fresh(self, info: TokenInfo) -> bool:
        return info.expires_on - time.time() > self._margin_s

    def get_token(self, resource_or_scope: str) -> TokenInfo:
        """A token for the resource; cached, refreshed before expiry, one fetch in flight per scope."""
        scope = to_scope(resource_or_scope)
        info = self._tokens.peek(scope)
        if info is not None and info.expires_on - time.time() > self._margin_s:
            return info
        return self._tokens.get(scope, lambda: self._fetch(scope))

    def _fetch(self, scope: str) -> TokenInfo:
        with deadline_scope(Deadline.after(self._deadline_s)) as deadline:
            try:
                token = self._credential.fetch(scope, deadline)
            except AutomationError as exc:
                stale = self._tokens.peek(scope)
                if exc.outage and stale is not None and stale.expires_on - time.time() > _OUTAGE_GRACE_S:
                    log.warning(
                        "Connection %s: refresh failed (%s, status %s); serving the cached token",
                        self.name,
                        type(exc).__name__,
                        exc.status,
                    )
                    return stale
                raise
        log.debug("Connection %s: new token for %s, expires_on %s", self.name, scope, token.expires_on)
        return TokenInfo(
            token=token.token, expires_on=token.expires_on, claims=unverified_claims(token.token)
        )

    def describe(self) -> dict[str, object]:
        """Static facts (no token); may read Key Vault (cached) for certificate facts.

        `managedIdentity` is the identity the connection IS (managed-identity) or USES (to read
        Key Vault, or for the federated assertion): type, client id, and object id once one of
        its tokens has been fetched (from the token's `oid`; describe never fetches one itself).
        """
        s = self.settings
        identity = s.managed_identity
        facts: dict[str, object] = {
            "name": self.name,
            "credential": self.kind,
            "tenantId": s.tenant_id,
            "clientId": identity.client_id if self.kind == MANAGED_IDENTITY else s.client_id,
            "cloud": self.cloud.name,
            "certificate": None,
            "keyVaultUrl": s.key_vault_url,
        }
        with deadline_scope(Deadline.after(self._deadline_s)):
            facts.update(self._credential.facts())
        # After facts(): a Key Vault read there has fetched (and cached) the identity's token.
        facts["managedIdentity"] = identity_facts(identity)
        return facts


def _credential_for(settings: ConnectionSettings, cloud: Cloud) -> _Credential:
    kind = settings.credential
    if kind == MANAGED_IDENTITY:
        return ManagedIdentityCredential(settings.managed_identity, settings.name)
    if kind == CERTIFICATE:
        return CertificateCredential(settings, cloud)
    if kind == CLIENT_SECRET:
        return ClientSecretCredential(settings, cloud)
    if kind == FEDERATED_IDENTITY:
        return FederatedIdentityCredential(settings, cloud)
    if kind == KEYVAULT_KEY:
        return KeyVaultKeyCredential(settings, cloud)
    raise ConfigurationError(f"Unknown credential kind '{kind}'.")  # config validated it already


_connections: dict[str, Connection] = {}
_lock = threading.Lock()


def get_connection(name: str) -> Connection:
    """The connection named `name` (any case); ConfigurationError lists the configured ones."""
    key = name.lower()
    found = _connections.get(key)
    if found is not None:
        return found
    with _lock:
        found = _connections.get(key)
        if found is None:
            settings = get_settings()
            connection_settings = settings.connection(key)
            found = Connection(
                connection_settings, settings.cloud, _credential_for(connection_settings, settings.cloud)
            )
            _connections[key] = found
        return found


def connection_names() -> list[str]:
    """Every configured connection name, lower-cased and sorted (including misconfigured ones)."""
    return get_settings().connection_names()


def reset_connections() -> None:
    """Forget connections, tokens, msal apps, vault clients, the session and the settings (tests)."""
    with _lock:
        _connections.clear()
    reset_managed_identity_cache()
    reset_apps()
    reset_vaults()
    reset_session()
    reset_settings()
