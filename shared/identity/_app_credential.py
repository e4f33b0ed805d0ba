"""What the four app-registration credentials share: msal apps per version, and rotation.

A subclass says how to get its current material (`_material()`), how to turn it into msal's
`client_credential` and which version it is. On an Entra answer that a newer Key Vault
version could fix (AADSTS700027 certificate not registered, 7000215 bad secret, ...), the
material is reloaded and, if the version changed, the token request is retried once.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from shared.clouds import Cloud
from shared.config import ConnectionSettings
from shared.errors import AuthenticationFailedError, ConfigurationError
from shared.http import Deadline, deadline_scope
from shared.identity._errors import Context, is_stale_credential
from shared.identity._msal import MsalApp, acquire, app_for, build_app, drop_apps
from shared.identity._token_cache import AccessToken
from shared.identity.managed_identity import describe_identity

log = logging.getLogger(__name__)


class AppCredential:
    """Base of certificate, client-secret, federated-identity and keyvault-key credentials."""

    kind = ""

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        if not (settings.tenant_id and settings.client_id):  # shared.config requires both
            raise ConfigurationError(f"Connection '{settings.name}' needs TENANT_ID and CLIENT_ID.")
        self.settings = settings
        self.cloud = cloud
        self.tenant_id: str = settings.tenant_id
        self.client_id: str = settings.client_id
        self._prefix = (cloud.authority(self.tenant_id), self.client_id, self.kind, settings.name)

    # -- subclass hooks -------------------------------------------------------------------
    def _version(self) -> str:
        """The current material's version (loads it if needed); "" when nothing rotates."""
        return ""

    def _client_credential(self) -> Any:
        raise NotImplementedError

    def _reload(self) -> bool:
        """Look for a newer version now; True when one was found."""
        return False

    def _context(self) -> Context:
        return Context(
            connection=self.settings.name,
            client_id=self.client_id,
            tenant_id=self.tenant_id,
            authority_host=self.cloud.authority_host,
            identity=describe_identity(self.settings.managed_identity),
            token_exchange_audience=self.cloud.token_exchange_audience,
        )

    def facts(self) -> dict[str, object]:
        return {}

    # -- token ------------------------------------------------------------------------------
    def fetch(self, scope: str, deadline: Deadline) -> AccessToken:
        with deadline_scope(deadline):
            try:
                return self._acquire(scope)
            except AuthenticationFailedError as exc:
                if not is_stale_credential(_code_number(exc.code)):
                    raise
                log.info(
                    "Entra said %s for connection %s; looking for a new Key Vault version",
                    exc.code,
                    self.settings.name,
                )
                if not self._reload():
                    raise
                return self._acquire(scope)

    def _acquire(self, scope: str) -> AccessToken:
        version = self._version()
        ctx = self._context()
        key = (*self._prefix, version)
        app = app_for(key, lambda: self._build(ctx, key))
        return acquire(app, scope, ctx)

    def _build(self, ctx: Context, key: tuple[str, ...]) -> MsalApp:
        drop_apps(self._prefix, keep=key)  # an older version's app is no longer needed
        return build_app(self.cloud, self.tenant_id, self.client_id, self._client_credential(), ctx)


def _code_number(code: str | None) -> int | None:
    match = re.match(r"AADSTS(\d+)$", code or "")
    return int(match.group(1)) if match else None
