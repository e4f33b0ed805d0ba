"""Connections: built lazily, kept for the life of the process, thread-safe; the one token cache.

Tokens are cached per (connection, scope) and refreshed `token_refresh_margin_s` before they
expire, with one fetch in flight per scope: warm calls cost no network request. A fetch runs
under the enclosing deadline (or a fresh one); an outage is reported as an outage with the
real status, a misconfiguration with a hint. Credential modules (and so msal and the Key Vault
SDKs) are imported when a connection is first built, never at import.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from shared.clouds import LOGICAL_RESOURCES, Cloud
from shared.config import ConnectionSettings, CredentialKind, ManagedIdentitySettings, get_settings
from shared.errors import AutomationError, ConfigurationError
from shared.http import deadline_scope
from shared.identity._token import SingleFlightCache, Token
from shared.identity.facts import ConnectionFacts, ManagedIdentityFacts

if TYPE_CHECKING:
    import requests

    from shared.graph import GraphClient
    from shared.identity._app_credential import VaultCredential
    from shared.identity._vault import Vault

log = logging.getLogger(__name__)

# Keep serving a cached token through an outage while it has at least this long to live.
_OUTAGE_GRACE_S = 30
# On-behalf-of tokens kept per connection (one per user and scope set), least recently used out.
_OBO_MAX_ENTRIES = 2048


class Credential(Protocol):
    """What a connection asks of its credential (one class a file in shared/identity)."""

    kind: CredentialKind

    def fetch(self, scope: str) -> Token: ...

    def facts_fields(self) -> dict[str, object]: ...


_URI = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|[0-9a-fA-F-]{36}(/\.default)?)$")


def scope_for(resource: str, cloud: Cloud) -> str:
    """The `.default` scope of a logical name (graph, arm, exchange, keyvault, storage) or a URI."""
    value = resource.strip()
    if value.lower() in LOGICAL_RESOURCES:
        return cloud.scope(value.lower())
    if not _URI.match(value):
        raise ConfigurationError(
            f"'{resource}' is not a resource: ask for a logical name ({', '.join(LOGICAL_RESOURCES)}) or a "
            "resource URI (https://graph.microsoft.com, api://<app id>) or '<resource>/.default'; app-only "
            "tokens take no named scopes."
        )
    if value.endswith("/.default"):
        return value
    return value.rstrip("/") + "/.default"


class Connection:
    """One configured connection (or the app's managed identity); shared by invocations and threads."""

    def __init__(self, settings: ConnectionSettings, cloud: Cloud, credential: Credential) -> None:
        self.name = settings.name
        self.kind = settings.credential
        self.settings = settings
        self.cloud = cloud
        self._credential = credential
        self._margin_s = get_settings().timing.token_refresh_margin_s
        self._tokens: SingleFlightCache[str, Token] = SingleFlightCache(self._fresh)
        self._graph: GraphClient | None = None
        self._graph_session: requests.Session | None = None
        self._graph_lock = threading.Lock()
        self._obo: OrderedDict[tuple[str, tuple[str, ...]], Token] = OrderedDict()
        self._obo_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Connection(name={self.name!r}, kind={self.kind.value!r})"

    def _fresh(self, token: Token) -> bool:
        return token.fresh(self._margin_s)

    def token(self, resource: str) -> Token:
        """A token for `resource` (logical name or URI); cached, refreshed before expiry, single-flight."""
        scope = scope_for(resource, self.cloud)
        found = self._tokens.peek(scope)
        if found is not None and found.fresh(self._margin_s):
            return found
        return self._tokens.get(scope, lambda: self._fetch(scope))

    def _fetch(self, scope: str) -> Token:
        with deadline_scope():  # the enclosing deadline when nested (a vault read), else a fresh one
            try:
                token = self._credential.fetch(scope)
            except AutomationError as exc:
                stale = self._tokens.peek(scope)
                if exc.outage and stale is not None and stale.fresh(_OUTAGE_GRACE_S):
                    log.warning(
                        "Connection %s: refresh failed (%s, status %s); serving the cached token",
                        self.name,
                        type(exc).__name__,
                        exc.status,
                    )
                    return stale
                raise
        log.debug("Connection %s: new token for %s, expires_on %s", self.name, scope, token.expires_on)
        return token

    def on_behalf_of(self, user_token: str, scopes: Sequence[str]) -> Token:
        """A token for `scopes` as the user whose token `user_token` is (OAuth 2.0 on-behalf-of:
        https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow).

        Only an app registration's own credential can exchange a user's token. msal Python does
        not look its cache up for on-behalf-of (each call posts to Entra), so the results are kept
        here, per (SHA-256 of the user's token, scopes), until they are near expiry: a warm call
        costs no Entra request, and only the hash of the user's token is kept.
        """
        exchange: Callable[[str, list[str]], Token] | None = getattr(self._credential, "on_behalf_of", None)
        if exchange is None:
            raise ConfigurationError(
                f"Connection '{self.name}' is a {self.kind.value} connection: on-behalf-of needs the "
                "app registration's own credential (certificate, federated-identity, keyvault-key or "
                "client-secret)."
            )
        key = (hashlib.sha256(user_token.encode()).hexdigest(), tuple(sorted(scopes)))
        with self._obo_lock:
            found = self._obo.get(key)
            if found is not None and found.fresh(self._margin_s):
                self._obo.move_to_end(key)
                return found
        with deadline_scope():
            fresh = exchange(user_token, list(scopes))
        with self._obo_lock:
            self._obo[key] = fresh
            self._obo.move_to_end(key)
            while len(self._obo) > _OBO_MAX_ENTRIES:
                self._obo.popitem(last=False)
        return fresh

    @property
    def vault_credential(self) -> VaultCredential[Any, Any]:
        """The credential whose material is a Key Vault object (certificate, keyvault-key,
        client-secret): its vault, object, version in use and reload, for the rotation jobs."""
        from shared.identity._app_credential import VaultCredential

        if not isinstance(self._credential, VaultCredential):
            raise ConfigurationError(
                f"Connection '{self.name}' is a {self.kind.value} connection: it keeps nothing in Key Vault."
            )
        return self._credential

    def known_object_id(self) -> str | None:
        """The `oid` of one of this connection's cached tokens (no network call)."""
        for token in self._tokens.values():
            oid = token.claims.get("oid")
            if isinstance(oid, str) and oid:
                return oid
        return None

    @property
    def facts(self) -> ConnectionFacts:
        """Static facts from the settings and the material already loaded: no I/O, never a secret."""
        s = self.settings
        identity = s.managed_identity
        fields: dict[str, Any] = dict(self._credential.facts_fields())
        return ConnectionFacts(
            name=self.name,
            credential=self.kind,
            cloud=self.cloud.name,
            tenant_id=s.tenant_id,
            client_id=identity.client_id if self.kind is CredentialKind.MANAGED_IDENTITY else s.client_id,
            managed_identity=_identity_facts(identity, self),
            key_vault_url=s.key_vault_url,
            **fields,
        )

    @property
    def graph(self) -> GraphClient:
        """This connection's Graph client (built on first use, then kept): its own pooled session."""
        found = self._graph
        if found is not None:
            return found
        with self._graph_lock:
            if self._graph is None:
                from shared.graph import GraphClient
                from shared.http import new_session

                self._graph_session = new_session()
                self._graph = GraphClient(
                    token=lambda: self.token("graph").value,
                    base_url=self.cloud.graph_url,
                    session=self._graph_session,
                )
            return self._graph


def _identity_facts(identity: ManagedIdentitySettings, conn: Connection) -> ManagedIdentityFacts:
    object_id = identity.id if identity.id_kind and identity.id_kind.value == "object_id" else None
    if object_id is None and conn.kind is CredentialKind.MANAGED_IDENTITY:
        object_id = conn.known_object_id()
    if object_id is None:
        used = _identities.get(identity.cache_key)
        object_id = used.known_object_id() if used is not None else None
    return ManagedIdentityFacts(
        type=identity.type,
        client_id=identity.client_id,
        object_id=object_id,
        resource_id=identity.id if identity.id_kind and identity.id_kind.value == "mi_res_id" else None,
    )


def _credential_for(settings: ConnectionSettings, cloud: Cloud, vault: Vault | None = None) -> Credential:
    # Imported here: each pulls in msal or the Key Vault SDKs, which `import shared.identity` must not.
    kind = settings.credential
    if kind is CredentialKind.MANAGED_IDENTITY:
        from shared.identity.managed_identity import ManagedIdentityCredential

        return ManagedIdentityCredential(settings.managed_identity, settings.name)
    if kind is CredentialKind.CERTIFICATE:
        from shared.identity.certificate import CertificateCredential

        return CertificateCredential(settings, cloud, vault)
    if kind is CredentialKind.CLIENT_SECRET:
        from shared.identity.client_secret import ClientSecretCredential

        return ClientSecretCredential(settings, cloud, vault)
    if kind is CredentialKind.FEDERATED_IDENTITY:
        from shared.identity.federated_identity import FederatedIdentityCredential

        return FederatedIdentityCredential(settings, cloud)
    from shared.identity.keyvault_key import KeyVaultKeyCredential

    return KeyVaultKeyCredential(settings, cloud, vault)


_connections: dict[str, Connection] = {}
_identities: dict[str, Connection] = {}
_lock = threading.Lock()


def connection_through(settings: ConnectionSettings, cloud: Cloud, vault: Vault) -> Connection:
    """A connection of its own (not the process's shared one) whose Key Vault object is read, or
    signed with, through `vault`: the certificate bootstrap runs on a deployer's machine, which
    has no managed identity, and reads as the deployer."""
    return Connection(settings, cloud, _credential_for(settings, cloud, vault))


def connection(name: str) -> Connection:
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


def identity_connection(identity: ManagedIdentitySettings) -> Connection:
    """The managed identity as a connection of its own: what reads Key Vault and signs federations."""
    key = identity.cache_key
    found = _identities.get(key)
    if found is not None:
        return found
    with _lock:
        found = _identities.get(key)
        if found is None:
            settings = ConnectionSettings(
                name=f"managed-identity:{key}",
                credential=CredentialKind.MANAGED_IDENTITY,
                tenant_id=None,
                client_id=identity.client_id,
                managed_identity=identity,
            )
            cloud = get_settings().cloud
            found = _identities[key] = Connection(settings, cloud, _credential_for(settings, cloud))
        return found


def connection_names() -> list[str]:
    """Every configured connection name, lower-cased and sorted (including misconfigured ones)."""
    return get_settings().connection_names()


def reset_connections() -> None:
    """Forget connections, tokens, msal apps, vault clients, the session and the settings (tests)."""
    import sys

    with _lock:
        for conn in [*_connections.values(), *_identities.values()]:
            if conn._graph_session is not None:
                conn._graph_session.close()
        _connections.clear()
        _identities.clear()
    # Only what was imported can hold state; importing it here would defeat the lazy imports.
    if "shared.identity._msal" in sys.modules:
        sys.modules["shared.identity._msal"].reset_apps()
    if "shared.identity._vault" in sys.modules:
        sys.modules["shared.identity._vault"].reset_vaults()
    from shared.config import reset_settings
    from shared.http import reset_session

    reset_session()
    reset_settings()
