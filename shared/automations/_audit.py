"""The audit trail: one row per automation call, refused ones included; never the token.

`record()` is the one function to repoint at `shared.runs` (the common run ledger) when it
lands; until then rows go to the Table `automationaudit` in the app's storage account
(`AzureWebJobsStorage`, a connection string locally; identity-based accounts wait for
`shared.storage`). A failed write is logged, not raised: the automation has already acted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shared.auth import Caller

log = logging.getLogger(__name__)

TABLE = "automationaudit"
STORAGE_SETTING = "AzureWebJobsStorage"


@dataclass(frozen=True)
class AuditEntry:
    """What is kept about one call (Table entity columns, camelCase)."""

    automation: str
    run_id: str
    started_at: str
    status: int  # the HTTP status answered
    result: str  # succeeded | refused | invalid | failed | queued
    duration_ms: int
    input_digest: str | None = None
    caller_kind: str | None = None
    caller_oid: str | None = None
    caller_upn: str | None = None
    caller_app_id: str | None = None
    tenant_id: str | None = None
    reason: str | None = None  # why it was refused or failed (our words, no token)
    output: str | None = None  # a queued run's result (JSON), for its run location

    def to_entity(self) -> dict[str, Any]:
        words = asdict(self)
        entity = {_camel(k): v for k, v in words.items() if v is not None}
        # RowKey sorts newest first within an automation's partition.
        inverted = 10**13 - int(dt.datetime.fromisoformat(self.started_at).timestamp() * 1000)
        entity["PartitionKey"] = self.automation
        entity["RowKey"] = f"{inverted:013d}-{self.run_id}"
        return entity


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def new_run_id() -> str:
    return str(uuid.uuid4())


def input_digest(value: object) -> str:
    """SHA-256 of the input's canonical JSON: proves what was asked without storing it."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def caller_columns(caller: Caller | None) -> dict[str, Any]:
    if caller is None:
        return {}
    return {
        "caller_kind": caller.kind.value,
        "caller_oid": caller.object_id,
        "caller_upn": caller.upn,
        "caller_app_id": caller.app_id,
        "tenant_id": caller.tenant_id,
    }


_lock = threading.Lock()
_table: Any = None


def _table_client() -> Any:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                from azure.data.tables import TableServiceClient

                conn = os.environ.get(STORAGE_SETTING, "")
                if "AccountName=" not in conn and "UseDevelopmentStorage" not in conn:
                    raise RuntimeError(f"{STORAGE_SETTING} is not a connection string")
                service = TableServiceClient.from_connection_string(conn)
                _table = service.create_table_if_not_exists(TABLE)
    return _table


def record(entry: AuditEntry) -> None:
    """Write the row; a failure is logged (with the run id), never raised."""
    try:
        _table_client().create_entity(entry.to_entity())
    except Exception as exc:  # noqa: BLE001 - the audit must not turn a done action into an error
        log.error(
            "Audit row for run %s of %s not written: %s", entry.run_id, entry.automation, type(exc).__name__
        )


def rows(automation: str, limit: int = 50) -> list[Mapping[str, Any]]:
    """The newest rows of one automation (tests, the status page)."""
    table = _table_client()
    found = table.query_entities("PartitionKey eq @p", parameters={"p": automation}, results_per_page=limit)
    out: list[Mapping[str, Any]] = []
    for entity in found:
        out.append(dict(entity))
        if len(out) >= limit:
            break
    return out


def reset_audit() -> None:
    """Forget the table client (tests)."""
    global _table
    with _lock:
        _table = None
