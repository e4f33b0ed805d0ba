"""The record of what ran: one Run shape for job runs, webhook processing and automation calls.

    from shared.runs import ledger, Kind, Status
    runs = ledger()                                       # process-wide, on the app's storage
    claim = runs.begin(runs.new(Kind.WEBHOOK, "graph", trigger="http", status=Status.RUNNING,
                                key=event_id))            # one conditional write
    if not claim.created: ...                             # claim.run is the run holding the key
    runs.finish(claim.run, Status.SUCCEEDED, counts={"events": 3})
    runs.query(Kind.JOB, "credential-expiry", status=Status.FAILED, since=..., page_size=50)

Settings: RUNS_RETENTION_DAYS (default 90), RUNS_OUTPUT_MAX_BYTES (default 16 MiB); see
docs/contract.md. Times come from `shared.clock`.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from shared.errors import ConfigurationError
from shared.runs._ledger import (
    CONTAINER,
    DEFAULT_OUTPUT_LIMIT,
    TABLE,
    Claim,
    Ledger,
    OutputTooLarge,
    RunPage,
    key_row,
    partition,
    valid_run_id,
)
from shared.runs._model import ErrorSummary, GraphUsage, Kind, Run, Status, new_run_id

__all__ = [
    "CONTAINER",
    "DEFAULT_OUTPUT_LIMIT",
    "DEFAULT_RETENTION_DAYS",
    "TABLE",
    "Claim",
    "ErrorSummary",
    "GraphUsage",
    "Kind",
    "Ledger",
    "OutputTooLarge",
    "Run",
    "RunPage",
    "Status",
    "key_row",
    "ledger",
    "new_run_id",
    "partition",
    "reset_ledger",
    "retention",
    "valid_run_id",
]

DEFAULT_RETENTION_DAYS = 90
_lock = threading.Lock()
_ledger: Ledger | None = None


def _positive_int(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name} must be a positive whole number, not {raw!r}.")
    return value


def retention() -> timedelta:
    """How long runs are kept (RUNS_RETENTION_DAYS, default 90 days)."""
    return timedelta(days=_positive_int("RUNS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def ledger() -> Ledger:
    """The process's ledger on the app's storage account (built on first use)."""
    global _ledger
    with _lock:
        if _ledger is None:
            _ledger = Ledger(output_limit=_positive_int("RUNS_OUTPUT_MAX_BYTES", DEFAULT_OUTPUT_LIMIT))
        return _ledger


def reset_ledger() -> None:
    """Forget the process's ledger (after settings change)."""
    global _ledger
    with _lock:
        _ledger = None
