"""The settings as frozen dataclasses: what `shared.config.get_settings()` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.clouds import Cloud
from shared.config.kinds import CredentialKind, kind_words
from shared.config.names import ConnectionFields, EnvironmentVariables, connection_setting
from shared.errors import ConfigurationError


class IdentityIdKind(StrEnum):
    """Which id names a user-assigned identity; `.value` is the identity endpoint's query parameter.

    https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
    """

    CLIENT_ID = "client_id"
    OBJECT_ID = "object_id"
    RESOURCE_ID = "mi_res_id"

    @property
    def words(self) -> str:
        return {"client_id": "client id", "object_id": "object (principal) id", "mi_res_id": "resource id"}[
            self.value
        ]


@dataclass(frozen=True)
class ManagedIdentitySettings:
    """Which managed identity: a user-assigned one by one of its ids, or the system-assigned one."""

    id_kind: IdentityIdKind | None = None
    id: str | None = None
    # The setting that named it, for messages (not part of the identity).
    setting: str | None = field(default=None, compare=False)

    @property
    def type(self) -> str:
        return "user-assigned" if self.id else "system-assigned"

    @property
    def client_id(self) -> str | None:
        return self.id if self.id_kind is IdentityIdKind.CLIENT_ID else None

    @property
    def cache_key(self) -> str:
        return f"{self.id_kind.value}={self.id.lower()}" if self.id_kind and self.id else "system"

    def query(self) -> dict[str, str]:
        """The identity endpoint's query parameter selecting this identity ({} for system-assigned)."""
        return {self.id_kind.value: self.id} if self.id_kind and self.id else {}

    def describe(self) -> str:
        if self.id_kind and self.id:
            return f"user-assigned identity ({self.id_kind.words} {self.id})"
        return "system-assigned identity"


SYSTEM_ASSIGNED = ManagedIdentitySettings()


@dataclass(frozen=True)
class IdentityEndpoint:
    """The App Service managed identity endpoint and the header that proves the caller is the app."""

    url: str
    header: str = field(repr=False)


@dataclass(frozen=True)
class Timing:
    """Deadlines and cadences; every network call is bounded by them."""

    deadline_s: float = 30.0  # one token(), Key Vault reads and retries included
    retry_after_cap_s: float = 10.0  # never sleep longer than this on one Retry-After
    refresh_interval_s: float = 600.0  # how often to look for a new Key Vault version
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    token_refresh_margin_s: float = 300.0  # refresh tokens this long before they expire


@dataclass(frozen=True)
class ConnectionSettings:
    """One named connection, validated."""

    name: str
    credential: CredentialKind
    tenant_id: str | None
    client_id: str | None
    managed_identity: ManagedIdentitySettings
    certificate: str | None = None
    secret: str | None = None
    key: str | None = None
    send_certificate_chain: bool = False
    key_vault_url: str | None = None

    def setting(self, field_name: str) -> str:
        """The app setting's name for one field, for messages."""
        return connection_setting(self.name, field_name)

    @property
    def object_setting(self) -> str:
        """The setting naming this connection's Key Vault object."""
        fields = {
            CredentialKind.CERTIFICATE: ConnectionFields.CERTIFICATE,
            CredentialKind.CLIENT_SECRET: ConnectionFields.SECRET,
            CredentialKind.KEYVAULT_KEY: ConnectionFields.KEY,
        }
        return self.setting(fields.get(self.credential, ConnectionFields.CREDENTIAL))


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    cloud: Cloud
    managed_identity: ManagedIdentitySettings
    key_vault_url: str | None
    ca_bundle: str | None
    identity_endpoint: IdentityEndpoint | None
    timing: Timing
    connections: Mapping[str, ConnectionSettings]
    connection_errors: Mapping[str, ConfigurationError]

    def connection_names(self) -> list[str]:
        return sorted({*self.connections, *self.connection_errors})

    def connection(self, name: str) -> ConnectionSettings:
        key = name.lower()
        if key in self.connection_errors:
            raise self.connection_errors[key]
        if key not in self.connections:
            known = ", ".join(self.connection_names()) or "none"
            raise ConfigurationError(
                f"No connection named '{key}'. Configured connections: {known}. Add "
                f"{EnvironmentVariables.CONNECTIONS_PREFIX}{key.upper()}__CREDENTIAL "
                f"(one of {kind_words()}) to define it."
            )
        return self.connections[key]
