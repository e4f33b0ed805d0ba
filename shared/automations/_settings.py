"""The automations' settings (docs/contract.md, `## Automations`).

AUTOMATIONS__CONNECTION        the connection of the app registration that exposes the API:
                               its CLIENT_ID is the accepted audience (and `api://<id>`), its
                               TENANT_ID the home tenant, its credential does on-behalf-of
                               and the app-only calls (certificate, federated identity or
                               Key Vault key: no secret needed)
AUTOMATIONS__AUDIENCES         extra accepted audiences (comma-separated), e.g. a custom App ID URI
AUTOMATIONS__ALLOWED_TENANTS   other tenants (GUIDs, comma-separated) whose users and apps may
                               call (multi-tenant API); default: the home tenant only
AUTOMATIONS__TOKEN_VERSIONS    accepted token versions, default "1.0,2.0" (what the
                               registration's accessTokenAcceptedVersion makes Entra issue)
WEBSITE_AUTH_ENABLED           set by App Service when its authentication (Easy Auth) is on:
                               then X-MS-CLIENT-PRINCIPAL is read; otherwise it is ignored
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.easy_auth import EASY_AUTH_ENABLED, easy_auth_enabled
from shared.errors import ConfigurationError

CONNECTION = "AUTOMATIONS__CONNECTION"
AUDIENCES = "AUTOMATIONS__AUDIENCES"
ALLOWED_TENANTS = "AUTOMATIONS__ALLOWED_TENANTS"
TOKEN_VERSIONS = "AUTOMATIONS__TOKEN_VERSIONS"

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class AutomationSettings:
    connection: str
    client_id: str
    tenant_id: str
    authority_host: str
    audiences: frozenset[str]
    tenants: frozenset[str]
    versions: frozenset[str]
    easy_auth: bool

    @property
    def multi_tenant(self) -> bool:
        return self.tenants != {self.tenant_id}


def _list(environ: Mapping[str, str], name: str) -> list[str]:
    return [v.strip() for v in environ.get(name, "").split(",") if v.strip()]


def load(environ: Mapping[str, str] = os.environ) -> AutomationSettings:
    """Read and check the settings; ConfigurationError names the one that is wrong."""
    from shared.config import get_settings

    name = environ.get(CONNECTION, "").strip().lower()
    if not name:
        raise ConfigurationError(
            f"{CONNECTION} is not set: name the connection of the app registration that exposes the "
            "automations API (its client id is the token audience)."
        )
    settings = get_settings()
    conn = settings.connection(name)
    if not conn.client_id or not conn.tenant_id:
        raise ConfigurationError(
            f"{CONNECTION}={name}: that connection has no CLIENT_ID/TENANT_ID; automations need an app "
            "registration connection (certificate, federated-identity or keyvault-key)."
        )
    tenant_id = conn.tenant_id.lower()
    if not _GUID.match(tenant_id):
        raise ConfigurationError(
            f"{CONNECTION}={name}: its TENANT_ID must be the tenant's GUID for automations."
        )
    tenants = {tenant_id}
    for value in _list(environ, ALLOWED_TENANTS):
        if not _GUID.match(value.lower()):
            raise ConfigurationError(f"{ALLOWED_TENANTS}: '{value}' is not a tenant id (GUID).")
        tenants.add(value.lower())
    versions = set(_list(environ, TOKEN_VERSIONS) or ["1.0", "2.0"])
    if not versions <= {"1.0", "2.0"}:
        raise ConfigurationError(f"{TOKEN_VERSIONS}: use 1.0, 2.0 or both.")
    client_id = conn.client_id.lower()
    return AutomationSettings(
        connection=name,
        client_id=client_id,
        tenant_id=tenant_id,
        authority_host=settings.cloud.authority_host,
        audiences=frozenset({client_id, f"api://{client_id}", *_list(environ, AUDIENCES)}),
        tenants=frozenset(tenants),
        versions=frozenset(versions),
        easy_auth=easy_auth_enabled(environ),
    )


_cache: dict[tuple[str, ...], AutomationSettings] = {}


def current(environ: Mapping[str, str] = os.environ) -> AutomationSettings:
    """The settings for the environment as it is now (re-read only when a variable changed)."""
    names = (CONNECTION, AUDIENCES, ALLOWED_TENANTS, TOKEN_VERSIONS, EASY_AUTH_ENABLED)
    prefix = f"CONNECTIONS__{environ.get(CONNECTION, '').strip().upper()}__"
    key = tuple(f"{n}={environ.get(n, '')}" for n in names) + tuple(
        sorted(f"{k}={v}" for k, v in environ.items() if k.startswith(prefix) or k == "AZURE_AUTHORITY_HOST")
    )
    found = _cache.get(key)
    if found is None:
        found = load(environ)
        _cache.clear()
        _cache[key] = found
    return found
