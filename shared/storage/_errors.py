"""The one boundary where azure-core's storage exceptions become the app's `StorageError`.

Only `AzureError` is caught (in `_account.py`); anything else is a bug and is left unmapped.
Expected outcomes (an entity that exists, an ETag that moved) are not errors: the operations
return them as values.
"""

from __future__ import annotations

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import StorageError

_HINTS = {
    401: "The app's identity could not sign in to storage: check AzureWebJobsStorage__clientId.",
    403: (
        "Grant the app's identity the data roles it needs on the account: Storage Table Data "
        "Contributor, Storage Blob Data Owner and Storage Queue Data Contributor."
    ),
}


def storage_error(exc: AzureError, operation: str) -> StorageError:
    """A `StorageError` for what azure-core raised during `operation` (e.g. "insert runs")."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return StorageError(
            f"Storage unreachable during {operation} ({type(exc).__name__}).",
            outage=True,
            hint="Check the storage account's network access, or that Azurite runs (make run).",
        )
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    if isinstance(exc, ClientAuthenticationError) and status is None:
        status = 401
    if isinstance(exc, HttpResponseError) or status is not None:
        outage = status is None or status >= 500 or status == 429
        return StorageError(
            f"Storage refused {operation}: {status} {code or ''}".rstrip() + ".",
            status=status,
            code=str(code) if code else None,
            hint=_HINTS.get(status or 0),
            outage=outage,
        )
    return StorageError(f"Storage failed during {operation} ({type(exc).__name__}).", outage=True)
