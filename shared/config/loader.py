"""Reading the environment into `Settings`: once, at first use, then cached.

A bad global setting raises `ConfigurationError` naming it; a bad named connection is kept
as its own error and raised when that connection is asked for, so one typo does not take
every connection down. App settings are case-insensitive on Windows and case-sensitive on
Linux, so connection names and fields are matched in any case (names reported lower-cased).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from shared.clouds import AZURE_CLOUD, CLOUDS, resolve_cloud
from shared.config import schema
from shared.config.names import EnvironmentVariables
from shared.config.settings import (
    SYSTEM_ASSIGNED,
    ConnectionSettings,
    IdentityEndpoint,
    IdentityIdKind,
    ManagedIdentitySettings,
    Settings,
    Timing,
)
from shared.errors import ConfigurationError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_APP_IDENTITY = {
    IdentityIdKind.CLIENT_ID: EnvironmentVariables.AZURE_CLIENT_ID,
    IdentityIdKind.OBJECT_ID: EnvironmentVariables.AZURE_MANAGED_IDENTITY_OBJECT_ID,
    IdentityIdKind.RESOURCE_ID: EnvironmentVariables.AZURE_MANAGED_IDENTITY_RESOURCE_ID,
}

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
    identity = app_identity(environ)
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


def app_identity(environ: Mapping[str, str]) -> ManagedIdentitySettings:
    """The app's own identity: user-assigned by one of three ids, else system-assigned."""
    values = {kind: (name, _get(environ, name) or "") for kind, name in _APP_IDENTITY.items()}
    return schema.one_identity(values, _APP_IDENTITY) or SYSTEM_ASSIGNED


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _url(environ: Mapping[str, str], name: str) -> str | None:
    value = _get(environ, name)
    return schema.https_url(value, name) if value is not None else None


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


def _connections(
    environ: Mapping[str, str], identity: ManagedIdentitySettings, key_vault_url: str | None
) -> tuple[dict[str, ConnectionSettings], dict[str, ConfigurationError]]:
    prefix = EnvironmentVariables.CONNECTIONS_PREFIX
    raw: dict[str, dict[str, tuple[str, str]]] = {}  # name -> FIELD -> (setting name, value)
    errors: dict[str, ConfigurationError] = {}
    for key, value in environ.items():
        if not key.upper().startswith(prefix):
            continue
        name, sep, field_name = key[len(prefix) :].partition("__")
        name = name.lower()
        if not sep or not _NAME.match(name) or "__" in field_name:
            # Keyed as connection() looks names up (lower case), so asking for it raises this.
            errors.setdefault(
                name or key.lower(),
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
            connections[name] = schema.parse_connection(name, fields, identity, key_vault_url)
        except ConfigurationError as exc:
            errors[name] = exc
    return connections, errors
