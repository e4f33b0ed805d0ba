"""An app registration's client secret, read from Key Vault (never from a setting).

The value is read once per Key Vault version; a new version is picked up on the refresh
cadence or right after Entra says the secret is wrong or expired (AADSTS7000215 / 7000222).
"""

from __future__ import annotations

import dataclasses

from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, get_settings
from shared.errors import ConfigurationError
from shared.identity._app_credential import AppCredential
from shared.identity._errors import Context
from shared.identity._rotation import VersionedMaterial
from shared.identity._vault import SecretValue, vault_for


class ClientSecretCredential(AppCredential):
    """Client credentials with a secret kept in Key Vault."""

    kind = "client-secret"

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        super().__init__(settings, cloud)
        if not (settings.secret and settings.key_vault_url):  # shared.config requires both
            raise ConfigurationError(f"Connection '{settings.name}' needs SECRET and a vault URL.")
        self.secret_name = settings.secret
        self._vault = vault_for(settings.key_vault_url, settings.managed_identity)
        setting = settings.setting(ConnectionFields.SECRET)

        def read() -> tuple[str, SecretValue]:
            secret = self._vault.get_secret(self.secret_name, setting=setting)
            return secret.version, secret

        self._material: VersionedMaterial[SecretValue, SecretValue] = VersionedMaterial(
            read, lambda s: s, get_settings().timing.refresh_interval_s
        )

    def _version(self) -> str:
        return self._material.current().version

    def _reload(self) -> bool:
        return self._material.reload()

    def _client_credential(self) -> str:
        return self._material.current().material.value

    def _context(self) -> Context:
        return dataclasses.replace(
            super()._context(),
            vault_object=self.secret_name,
            setting=self.settings.setting(ConnectionFields.SECRET),
        )

    def facts(self) -> dict[str, object]:
        return {
            "certificate": None,
            "keyVaultUrl": self.settings.key_vault_url,
            "secretName": self.secret_name,
            "secretVersion": self._material.current().version,
        }
