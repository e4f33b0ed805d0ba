"""Every setting the app reads, read once into frozen, validated dataclasses.

`get_settings()` reads the environment at first use and caches the result; `reset_settings()`
forgets it (tests). A bad global setting raises `ConfigurationError` naming it; a bad named
connection is kept as its own error and raised when that connection is asked for, so one
typo does not take every connection down.

Named connections: `CONNECTIONS__<NAME>__<FIELD>`. App settings are case-insensitive on
Windows and case-sensitive on Linux, so names and fields are matched in any case and the
connection name is reported lower-cased.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shared.clouds import AZURE_CLOUD, CLOUDS, Cloud, resolve_cloud
from shared.errors import ConfigurationError


class EnvironmentVariables:
    """Every environment variable name the app reads (azure-identity's `_constants.py`)."""

    AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
    AZURE_CLOUD = "AZURE_CLOUD"
    AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"
    GRAPH_URL = "GRAPH_URL"
    ARM_URL = "ARM_URL"
    KEY_VAULT_URL = "KEY_VAULT_URL"
    REQUESTS_CA_BUNDLE = "REQUESTS_CA_BUNDLE"
    # Set by App Service / Functions when a managed identity is enabled.
    IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT"
    IDENTITY_HEADER = "IDENTITY_HEADER"
    # Optional tuning; the defaults suit Functions' invocation limits.
    TOKEN_DEADLINE_SECONDS = "TOKEN_DEADLINE_SECONDS"
    RETRY_AFTER_CAP_SECONDS = "RETRY_AFTER_CAP_SECONDS"
    KEY_VAULT_REFRESH_SECONDS = "KEY_VAULT_REFRESH_SECONDS"
    CONNECTIONS_PREFIX = "CONNECTIONS__"


class ConnectionFields:
    """The `<FIELD>` part of `CONNECTIONS__<NAME>__<FIELD>`."""

    CREDENTIAL = "CREDENTIAL"
    TENANT_ID = "TENANT_ID"
    CLIENT_ID = "CLIENT_ID"
    CERTIFICATE = "CERTIFICATE"
    SECRET = "SECRET"
    KEY = "KEY"
    SEND_CERTIFICATE_CHAIN = "SEND_CERTIFICATE_CHAIN"
    MANAGED_IDENTITY_CLIENT_ID = "MANAGED_IDENTITY_CLIENT_ID"
    KEY_VAULT_URL = "KEY_VAULT_URL"


MANAGED_IDENTITY = "managed-identity"
CERTIFICATE = "certificate"
CLIENT_SECRET = "client-secret"
FEDERATED_IDENTITY = "federated-identity"
KEYVAULT_KEY = "keyvault-key"
CREDENTIAL_KINDS = (MANAGED_IDENTITY, CERTIFICATE, CLIENT_SECRET, FEDERATED_IDENTITY, KEYVAULT_KEY)

_F = ConnectionFields
# Which fields each kind requires, and which it may have besides CREDENTIAL.
_REQUIRED: dict[str, tuple[str, ...]] = {
    MANAGED_IDENTITY: (),
    CERTIFICATE: (_F.TENANT_ID, _F.CLIENT_ID, _F.CERTIFICATE),
    CLIENT_SECRET: (_F.TENANT_ID, _F.CLIENT_ID, _F.SECRET),
    FEDERATED_IDENTITY: (_F.TENANT_ID, _F.CLIENT_ID),
    KEYVAULT_KEY: (_F.TENANT_ID, _F.CLIENT_ID, _F.KEY),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    MANAGED_IDENTITY: (_F.TENANT_ID, _F.CLIENT_ID, _F.MANAGED_IDENTITY_CLIENT_ID),
    CERTIFICATE: (_F.SEND_CERTIFICATE_CHAIN, _F.MANAGED_IDENTITY_CLIENT_ID, _F.KEY_VAULT_URL),
    CLIENT_SECRET: (_F.MANAGED_IDENTITY_CLIENT_ID, _F.KEY_VAULT_URL),
    FEDERATED_IDENTITY: (_F.MANAGED_IDENTITY_CLIENT_ID,),
    KEYVAULT_KEY: (_F.MANAGED_IDENTITY_CLIENT_ID, _F.KEY_VAULT_URL),
}
_NEEDS_VAULT = (CERTIFICATE, CLIENT_SECRET, KEYVAULT_KEY)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_VAULT_OBJECT = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


@dataclass(frozen=True)
class ManagedIdentitySettings:
    """Which managed identity: user-assigned by client id, or the system-assigned one (None)."""

    client_id: str | None

    @property
    def kind(self) -> str:
        return "user" if self.client_id else "system"

    @property
    def cache_key(self) -> str:
        return self.client_id.lower() if self.client_id else "system"


@dataclass(frozen=True)
class IdentityEndpoint:
    """The App Service managed identity endpoint and the header that proves the caller is the app."""

    url: str
    header: str = field(repr=False)


@dataclass(frozen=True)
class Timing:
    """Deadlines and cadences; every network call is bounded by them."""

    deadline_s: float = 30.0  # one get_token, Key Vault reads and retries included
    retry_after_cap_s: float = 10.0  # never sleep longer than this on one Retry-After
    refresh_interval_s: float = 600.0  # how often to look for a new Key Vault version
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    token_refresh_margin_s: float = 300.0  # refresh tokens this long before they expire


@dataclass(frozen=True)
class ConnectionSettings:
    """One named connection, validated."""

    name: str
    credential: str
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
        return f"{EnvironmentVariables.CONNECTIONS_PREFIX}{self.name.upper()}__{field_name}"


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
                f"(one of {', '.join(CREDENTIAL_KINDS)}) to define it."
            )
        return self.connections[key]


_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    """The settings, read and validated at first use, then cached."""
    global _settings
    current = _settings
    if current is not None:
        return current
    with _lock:
        if _settings is None:
            _settings = load_settings(os.environ)
        return _settings


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    global _settings
    with _lock:
        _settings = None


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every setting from `environ` (pure: no caching, no I/O but a file check)."""
    env = EnvironmentVariables
    cloud_name = _get(environ, env.AZURE_CLOUD) or AZURE_CLOUD
    matched = next((n for n in CLOUDS if n.lower() == cloud_name.lower()), None)
    if matched is None:
        raise ConfigurationError(
            f"{env.AZURE_CLOUD} is '{cloud_name}'; expected one of {', '.join(CLOUDS)} (default AzureCloud)."
        )
    cloud = resolve_cloud(
        matched,
        authority_host=_url(environ, env.AZURE_AUTHORITY_HOST),
        graph_url=_url(environ, env.GRAPH_URL),
        arm_url=_url(environ, env.ARM_URL),
    )
    identity = ManagedIdentitySettings(
        _identity_client_id(_get(environ, env.AZURE_CLIENT_ID), env.AZURE_CLIENT_ID)
    )
    key_vault_url = _url(environ, env.KEY_VAULT_URL)
    connections, errors = _connections(environ, identity, key_vault_url)
    return Settings(
        cloud=cloud,
        managed_identity=identity,
        key_vault_url=key_vault_url,
        ca_bundle=_ca_bundle(environ),
        identity_endpoint=_identity_endpoint(environ),
        timing=_timing(environ),
        connections=connections,
        connection_errors=errors,
    )


# -- helpers ------------------------------------------------------------------------------


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _url(environ: Mapping[str, str], name: str) -> str | None:
    value = _get(environ, name)
    if value is None:
        return None
    return check_https_url(value, name)


def check_https_url(value: str, setting: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(
            f"{setting} is '{value}'; expected an https URL such as https://host[:port] "
            "(bearer tokens are only sent over TLS)."
        )
    return value.rstrip("/")


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def _identity_client_id(value: str | None, setting: str) -> str | None:
    """A user-assigned identity's client id, or None for system-assigned."""
    if value is None:
        return None
    if is_guid(value):
        return value.lower()
    if value.lower().startswith("/subscriptions/"):
        problem = "this looks like a resource id"
    elif is_guid(value.strip("{}")):
        problem = "remove the braces"
    elif value.lower().startswith("api://"):
        problem = "this looks like an application id URI"
    else:
        problem = "this is not a GUID"
    raise ConfigurationError(
        f"{setting} must be the managed identity's client id, a GUID "
        f"(Azure portal: Managed Identities > Overview > Client ID; not the object/principal id); {problem}."
    )


def _ca_bundle(environ: Mapping[str, str]) -> str | None:
    name = EnvironmentVariables.REQUESTS_CA_BUNDLE
    value = _get(environ, name)
    if value is None:
        return None
    if not Path(value).is_file():
        raise ConfigurationError(
            f"{name} is '{value}', which is not a readable file; point it at a PEM CA bundle or unset it "
            "(TLS verification is never turned off)."
        )
    return value


def _identity_endpoint(environ: Mapping[str, str]) -> IdentityEndpoint | None:
    env = EnvironmentVariables
    url, header = _get(environ, env.IDENTITY_ENDPOINT), _get(environ, env.IDENTITY_HEADER)
    if url is None and header is None:
        return None
    if url is None or header is None:
        missing = env.IDENTITY_ENDPOINT if url is None else env.IDENTITY_HEADER
        raise ConfigurationError(
            f"{missing} is not set while its partner is; both come from App Service when a managed "
            "identity is enabled: do not set them by hand."
        )
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigurationError(f"{env.IDENTITY_ENDPOINT} must be an http(s) URL.")
    return IdentityEndpoint(url=url, header=header)


def _timing(environ: Mapping[str, str]) -> Timing:
    env = EnvironmentVariables
    defaults = Timing()
    return Timing(
        deadline_s=_seconds(environ, env.TOKEN_DEADLINE_SECONDS, defaults.deadline_s),
        retry_after_cap_s=_seconds(environ, env.RETRY_AFTER_CAP_SECONDS, defaults.retry_after_cap_s),
        refresh_interval_s=_seconds(environ, env.KEY_VAULT_REFRESH_SECONDS, defaults.refresh_interval_s),
    )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _get(environ, name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigurationError(f"{name} is '{value}'; expected a number of seconds between 0 and 3600.")
    return seconds


def _bool(value: str, setting: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigurationError(f"{setting} is '{value}'; expected true or false.")


def _connections(
    environ: Mapping[str, str], identity: ManagedIdentitySettings, key_vault_url: str | None
) -> tuple[dict[str, ConnectionSettings], dict[str, ConfigurationError]]:
    prefix = EnvironmentVariables.CONNECTIONS_PREFIX
    raw: dict[str, dict[str, tuple[str, str]]] = {}  # name -> FIELD -> (setting name, value)
    errors: dict[str, ConfigurationError] = {}
    for key, value in environ.items():
        if not key.upper().startswith(prefix):
            continue
        rest = key[len(prefix) :]
        name, sep, field_name = rest.partition("__")
        name = name.lower()
        if not sep or not _NAME.match(name) or "__" in field_name:
            errors.setdefault(
                name or key,
                ConfigurationError(
                    f"{key} is not a connection setting; expected {prefix}<NAME>__<FIELD> with NAME of "
                    "letters, digits, '-' or '_'."
                ),
            )
            continue
        fields = raw.setdefault(name, {})
        upper = field_name.upper()
        previous = fields.get(upper)
        if previous is not None and previous[1].strip() != value.strip():
            errors[name] = ConfigurationError(
                f"{previous[0]} and {key} both set connection '{name}' {upper} with different values; "
                "keep one (setting names are case-insensitive on Windows)."
            )
        fields[upper] = (key, value.strip())
    connections: dict[str, ConnectionSettings] = {}
    for name, fields in raw.items():
        if name in errors:
            continue
        try:
            connections[name] = _connection(name, fields, identity, key_vault_url)
        except ConfigurationError as exc:
            errors[name] = exc
    return connections, errors


def _connection(
    name: str,
    fields: dict[str, tuple[str, str]],
    default_identity: ManagedIdentitySettings,
    default_vault: str | None,
) -> ConnectionSettings:
    def setting(field_name: str) -> str:
        return fields.get(
            field_name, (f"{EnvironmentVariables.CONNECTIONS_PREFIX}{name.upper()}__{field_name}",)
        )[0]

    def value(field_name: str) -> str | None:
        found = fields.get(field_name)
        return found[1] or None if found else None

    kind = (value(_F.CREDENTIAL) or "").lower()
    if kind not in CREDENTIAL_KINDS:
        shown = value(_F.CREDENTIAL)
        raise ConfigurationError(
            f"{setting(_F.CREDENTIAL)} is {repr(shown) if shown else 'not set'}; "
            f"expected one of {', '.join(CREDENTIAL_KINDS)}."
        )
    allowed = {_F.CREDENTIAL, *_REQUIRED[kind], *_OPTIONAL[kind]}
    for field_name in sorted(fields):
        if field_name not in allowed:
            raise ConfigurationError(
                f"{setting(field_name)} is not used by credential '{kind}'; "
                f"it takes {', '.join(sorted(allowed - {_F.CREDENTIAL}))}."
            )
    for field_name in _REQUIRED[kind]:
        if value(field_name) is None:
            raise ConfigurationError(f"{setting(field_name)} is required for credential '{kind}'.")

    tenant_id = value(_F.TENANT_ID)
    if tenant_id is not None:
        if tenant_id.lower() in ("common", "organizations", "consumers"):
            raise ConfigurationError(
                f"{setting(_F.TENANT_ID)} is '{tenant_id}'; app-only sign-in needs the tenant's id (a GUID) "
                "or its domain (contoso.onmicrosoft.com)."
            )
        if not (is_guid(tenant_id) or _DOMAIN.match(tenant_id)):
            raise ConfigurationError(
                f"{setting(_F.TENANT_ID)} is '{tenant_id}'; expected the tenant id (a GUID) "
                "or a verified domain."
            )
        tenant_id = tenant_id.lower()

    client_id = value(_F.CLIENT_ID)
    if client_id is not None and not is_guid(client_id):
        what = "the managed identity's" if kind == MANAGED_IDENTITY else "the app registration's"
        raise ConfigurationError(
            f"{setting(_F.CLIENT_ID)} is '{client_id}'; expected {what} client (application) id, a GUID."
        )
    client_id = client_id.lower() if client_id else None

    identity = default_identity
    mi_value = value(_F.MANAGED_IDENTITY_CLIENT_ID)
    if mi_value is not None and mi_value.lower() == "system":
        identity = ManagedIdentitySettings(None)
    elif mi_value is not None:
        identity = ManagedIdentitySettings(
            _identity_client_id(mi_value, setting(_F.MANAGED_IDENTITY_CLIENT_ID))
        )
    if kind == MANAGED_IDENTITY and client_id is not None:
        if mi_value is not None and identity.client_id != client_id:
            raise ConfigurationError(
                f"{setting(_F.CLIENT_ID)} and "
                f"{setting(_F.MANAGED_IDENTITY_CLIENT_ID)} name different identities; "
                "set one."
            )
        identity = ManagedIdentitySettings(client_id)  # Connect-AzAccount -Identity -AccountId

    vault = default_vault
    vault_value = value(_F.KEY_VAULT_URL)
    if vault_value is not None:
        vault = check_https_url(vault_value, setting(_F.KEY_VAULT_URL))
    if kind in _NEEDS_VAULT and vault is None:
        raise ConfigurationError(
            f"Credential '{kind}' of connection '{name}' reads Key Vault: set "
            f"{EnvironmentVariables.KEY_VAULT_URL} or {setting(_F.KEY_VAULT_URL)} (https://<vault>.vault.azure.net)."
        )

    objects: dict[str, str | None] = {}
    for field_name in (_F.CERTIFICATE, _F.SECRET, _F.KEY):
        obj = value(field_name)
        if obj is not None and not _VAULT_OBJECT.match(obj):
            raise ConfigurationError(
                f"{setting(field_name)} is '{obj}'; expected a Key Vault object name "
                "(letters, digits and '-'), "
                "not a URL or a thumbprint."
            )
        objects[field_name] = obj

    chain_value = value(_F.SEND_CERTIFICATE_CHAIN)
    send_chain = _bool(chain_value, setting(_F.SEND_CERTIFICATE_CHAIN)) if chain_value else False
    return ConnectionSettings(
        name=name,
        credential=kind,
        tenant_id=tenant_id,
        client_id=client_id,
        managed_identity=identity,
        certificate=objects[_F.CERTIFICATE],
        secret=objects[_F.SECRET],
        key=objects[_F.KEY],
        send_certificate_chain=send_chain,
        key_vault_url=vault if kind in _NEEDS_VAULT else None,
    )
