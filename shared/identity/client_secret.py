"""An app registration's client secret, read from Key Vault (never from a setting).

The value is read once per Key Vault version; a new version is picked up on the refresh
cadence or right after Entra says the secret is wrong or expired (AADSTS7000215 / 7000222).
"""

from __future__ import annotations

import datetime as dt

from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, CredentialKind
from shared.identity._app_credential import VaultCredential
from shared.identity._vault import SecretValue, Vault


class ClientSecretCredential(VaultCredential[SecretValue, SecretValue]):
    """Client credentials with a secret kept in Key Vault."""

    kind = CredentialKind.CLIENT_SECRET
    field = ConnectionFields.SECRET

    def __init__(self, settings: ConnectionSettings, cloud: Cloud, vault: Vault | None = None) -> None:
        super().__init__(settings, cloud, settings.secret, vault)
        self.secret_name = self.object_name

    def _read(self) -> tuple[str, SecretValue]:
        secret = self._vault.get_secret(self.object_name, setting=self.setting_name)
        return secret.version, secret

    def _parse(self, raw: SecretValue) -> SecretValue:
        return raw

    def _client_credential(self) -> str:
        return self._material.current().material.value

    def facts_fields(self) -> dict[str, object]:
        current = self._material.peek()
        return {
            "secret_name": self.secret_name,
            "secret_version": current.version if current else None,
            "secret_expires": _end(current.material.tags.get("endDateTime")) if current else None,
        }


def _end(value: str | None) -> dt.datetime | None:
    """The `endDateTime` tag secret-rotation writes (ISO 8601), None when absent or unreadable."""
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
