"""The app's own Key Vault, read with the app's managed identity (certificates list, one secret).

SDK clients are built once per process on first use; TLS trusts the configured CA bundle.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError

from shared.errors import ConfigurationError, KeyVaultError

_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class VaultCertificate:
    """One certificate of the vault (current version): name, expiry, thumbprint."""

    name: str
    expires: datetime | None
    thumbprint: str
    enabled: bool


def vault_url(setting_value: str | None) -> str | None:
    """The vault to read: the job's own setting, else KEY_VAULT_URL (None: no vault configured)."""
    url = (setting_value or os.environ.get("KEY_VAULT_URL") or "").strip()
    return url.rstrip("/") or None


def _client(kind: str, url: str) -> Any:
    key = (kind, url.lower())
    with _lock:
        client = _clients.get(key)
        if client is None:
            from azure.identity import ManagedIdentityCredential

            from shared.config import get_settings
            from shared.http import connection_verify

            settings = get_settings()
            credential = ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID") or None)
            options: dict[str, Any] = {
                "verify_challenge_resource": settings.cloud.is_key_vault_host(url),
                "connection_verify": connection_verify(),
            }
            if kind == "certificates":
                from azure.keyvault.certificates import CertificateClient

                client = CertificateClient(url, credential, **options)
            else:
                from azure.keyvault.secrets import SecretClient

                client = SecretClient(url, credential, **options)
            _clients[key] = client
        return client


def _mapped(exc: AzureError, what: str, url: str) -> KeyVaultError:
    status = exc.status_code if isinstance(exc, HttpResponseError) else None
    code = getattr(exc, "error_code", None)
    return KeyVaultError(
        f"Key Vault {url} refused {what}: {status or type(exc).__name__} {code or ''}".rstrip() + ".",
        status=status,
        code=str(code) if code else None,
        outage=status is None or status >= 500 or status == 429,
        hint="Grant the app's managed identity 'Key Vault Certificate User' (certificates) and "
        "'Key Vault Secrets User' (the notification secret) on the vault."
        if status == 403
        else None,
    )


def list_certificates(url: str) -> list[VaultCertificate]:
    """Every certificate in the vault with its current version's expiry."""
    try:
        items = list(_client("certificates", url).list_properties_of_certificates())
    except AzureError as exc:
        raise _mapped(exc, "listing certificates", url) from exc
    return [
        VaultCertificate(
            name=str(p.name),
            expires=p.expires_on,
            thumbprint=(p.x509_thumbprint or b"").hex(),
            enabled=p.enabled is not False,
        )
        for p in items
    ]


def read_secret(url: str, name: str, *, setting: str) -> str:
    """The value of secret `name` (the notification webhook URL)."""
    try:
        value = _client("secrets", url).get_secret(name).value
    except AzureError as exc:
        raise _mapped(exc, f"reading secret {name} (named by {setting})", url) from exc
    if not value:
        raise ConfigurationError(f"Secret {name} (named by {setting}) in {url} is empty.")
    return str(value)


def reset() -> None:
    """Forget clients (tests change settings)."""
    with _lock:
        _clients.clear()
