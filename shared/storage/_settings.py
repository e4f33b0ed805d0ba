"""Where the app's storage account is, read from the settings the Functions host itself uses.

Locally (Azurite) `AzureWebJobsStorage` holds a connection string. In Azure the app uses its
managed identity (identity-based connections, see
https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity):

    AzureWebJobsStorage__accountName        the account; service URIs derived in the public cloud
    AzureWebJobsStorage__blobServiceUri     or each service's URI (sovereign clouds, custom domains)
    AzureWebJobsStorage__queueServiceUri
    AzureWebJobsStorage__tableServiceUri
    AzureWebJobsStorage__credential         `managedidentity` (the default when no connection string)
    AzureWebJobsStorage__clientId           the user-assigned identity's client id (else system-assigned)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.errors import ConfigurationError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
SERVICES = ("blob", "queue", "table")


@dataclass(frozen=True)
class StorageTarget:
    """One storage account: a connection string, or service URIs reached with a managed identity."""

    setting: str
    connection_string: str | None = None
    service_uris: Mapping[str, str] | None = None
    client_id: str | None = None

    def __repr__(self) -> str:
        # A connection string carries the account key: never print it.
        where = "connection string" if self.connection_string else f"{dict(self.service_uris or {})}"
        return f"StorageTarget({self.setting}: {where})"


def read_target(environ: Mapping[str, str], setting: str = DEFAULT_CONNECTION) -> StorageTarget:
    """The account `setting` names; ConfigurationError naming what to set when nothing is."""
    value = (environ.get(setting) or "").strip()
    if value:
        if "=" not in value:
            raise ConfigurationError(
                f"{setting} is not a storage connection string (expected 'AccountName=...;AccountKey=...' "
                f"or 'UseDevelopmentStorage=true'); for identity-based storage set "
                f"{setting}__accountName instead."
            )
        return StorageTarget(setting, connection_string=value)
    prefix = setting + "__"
    uris = {s: (environ.get(f"{prefix}{s}ServiceUri") or "").strip().rstrip("/") for s in SERVICES}
    account = (environ.get(prefix + "accountName") or "").strip()
    if account:
        for service in SERVICES:
            uris[service] = uris[service] or f"https://{account}.{service}.core.windows.net"
    missing = [f"{prefix}{s}ServiceUri" for s in SERVICES if not uris[s]]
    if len(missing) == len(SERVICES):
        raise ConfigurationError(
            f"No storage account configured: set {setting} (a connection string; Azurite locally) "
            f"or {prefix}accountName (identity-based, in Azure)."
        )
    if missing:
        raise ConfigurationError(
            f"Identity-based storage needs every service the app uses: set {', '.join(missing)} "
            f"(or {prefix}accountName)."
        )
    credential = (environ.get(prefix + "credential") or "managedidentity").strip().lower()
    if credential != "managedidentity":
        raise ConfigurationError(f"{prefix}credential must be 'managedidentity', not {credential!r}.")
    client_id = (environ.get(prefix + "clientId") or "").strip() or None
    return StorageTarget(setting, service_uris=uris, client_id=client_id)
