"""The audit trail: every automation call is a Run in the one ledger (`shared.runs`), refused ones
included. The run holds the automation, the caller (object id, UPN, app id), the tenant, the
input's digest, the HTTP status answered, the result and the duration; never the token or the input.

A failed write is logged, not raised: the automation has already acted (or been refused).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from shared.auth import Caller

if TYPE_CHECKING:
    from shared.runs import Run

log = logging.getLogger(__name__)

TRIGGER_HTTP = "http"
TRIGGER_QUEUE = "queue"


def input_digest(value: object) -> str:
    """SHA-256 of the input's canonical JSON: proves what was asked without storing it."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def caller_facts(caller: Caller | None) -> dict[str, Any]:
    if caller is None:
        return {}
    facts = {
        "callerKind": caller.kind.value,
        "callerOid": caller.object_id,
        "callerUpn": caller.upn,
        "callerAppId": caller.app_id,
        "tenantId": caller.tenant_id,
    }
    return {k: v for k, v in facts.items() if v}


def caller_label(caller: Caller | None) -> str | None:
    """The Run's `caller`: who, in one short string."""
    if caller is None:
        return None
    return f"user:{caller.upn or caller.object_id}" if caller.kind.value == "user" else f"app:{caller.app_id}"


def start(name: str, trigger: str = TRIGGER_HTTP) -> Run:
    """A new run of `name` (not stored yet: one write at the end of the call)."""
    from shared.runs import Kind, Status, ledger

    return ledger().new(Kind.AUTOMATION, name, trigger=trigger, status=Status.RUNNING)


def finish(
    run: Run,
    *,
    ok: bool,
    http_status: int,
    duration_ms: int,
    caller: Caller | None,
    digest: str | None,
    reason: str | None = None,
    code: str | None = None,
    queued: bool = False,
) -> Run | None:
    """Store the call's run (status, caller, facts); None if the write failed (logged)."""
    from shared.clock import now
    from shared.runs import ErrorSummary, Status, ledger

    status = Status.QUEUED if queued else (Status.SUCCEEDED if ok else Status.FAILED)
    detail: dict[str, Any] = {
        **caller_facts(caller),
        "httpStatus": http_status,
        "durationMs": duration_ms,
    }
    if digest:
        detail["inputDigest"] = digest
    done = run.evolve(
        status=status,
        finished=None if queued else now(),
        caller=caller_label(caller),
        detail=detail,
        error=ErrorSummary.text(
            "Refused" if http_status < 500 else "Failed", reason or "", code=code, status=http_status
        )
        if not ok
        else None,
    )
    try:
        return ledger().record(done)
    except Exception as exc:  # noqa: BLE001 - the audit must not turn a done action into an error
        log.error("Audit run %s of %s not written: %s", run.id, run.name, type(exc).__name__)
        return None


def latest(name: str, limit: int = 50) -> list[Run]:
    """The newest runs of one automation (tests, the status page)."""
    from shared.runs import Kind, ledger

    return ledger().latest(Kind.AUTOMATION, name, limit=limit)
