"""The app's storage account: Table, Blob and Queue clients built once, and conditional writes.

    from shared.storage import account
    store = account()                                   # process-wide, lazy, thread-safe
    row = store.insert_if_absent("runs", entity)        # None when the keys exist (If-None-Match: *)
    row = store.update_if_match("runs", changes, row.etag)   # None when someone else changed it
    lease = store.lease("runs", "job:x", holder, now=..., until=...)  # lease.acquired / .holder
    store.enqueue("jobs-runs", {"run": id})             # base64, as the Functions host reads it
    store.put_blob("run-outputs", name, data); store.get_blob("run-outputs", name)

Where the account is comes from `AzureWebJobsStorage` (a connection string: Azurite locally) or
`AzureWebJobsStorage__accountName` / `__tableServiceUri` ... (the managed identity, in Azure):
see `_settings.py` and docs/contract.md. Storage failures raise `shared.errors.StorageError`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from shared.storage._settings import DEFAULT_CONNECTION, StorageTarget, read_target

if TYPE_CHECKING:
    from shared.storage._account import Account, Lease, Page, Row

__all__ = [
    "DEFAULT_CONNECTION",
    "Account",
    "Lease",
    "Page",
    "Row",
    "StorageTarget",
    "account",
    "open_account",
    "read_target",
    "reset_account",
    "use_account",
]

_lock = threading.Lock()
_default: Account | None = None


def open_account(target: StorageTarget | None = None, *, prefix: str = "", **client_options: Any) -> Account:
    """A new `Account` for `target` (default: the one the settings name).

    `client_options` go to every SDK client (e.g. `retry_total=0, read_timeout=2` for a path
    that must answer within a sender's deadline rather than ride out an outage).
    """
    from shared.storage._account import Account

    return Account(target or read_target(os.environ), prefix=prefix, client_options=client_options)


def account() -> Account:
    """The process's account, built from the settings on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = open_account()
        return _default


def reset_account() -> None:
    """Forget the process's account (after settings change)."""
    global _default
    with _lock:
        previous, _default = _default, None
    if previous is not None:
        previous.close()


@contextmanager
def use_account(store: Account) -> Iterator[Account]:
    """Make `store` the process's account for the block (tests)."""
    global _default
    with _lock:
        previous, _default = _default, store
    try:
        yield store
    finally:
        with _lock:
            _default = previous


def __getattr__(name: str) -> object:
    # The SDK-backed types load on first use, not when this package is imported.
    if name in {"Account", "Lease", "Page", "Row"}:
        from shared.storage import _account as module

        return getattr(module, name)
    raise AttributeError(name)
