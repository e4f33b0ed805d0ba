"""Long-running automations: answered 202 at once, run from the Storage queue `automation-runs`.

The message holds the run id, the automation, the validated input and the caller's facts,
never a token (long-running automations run as the app, so none is needed). The audit trail
doubles as the run record: a `queued` row when accepted, then `running`/`succeeded`/`failed`
rows from the queue function; `GET /api/automations/{name}/runs/{runId}` reads the newest.
To move onto `shared.runs` when it lands, repoint `enqueue`, `execute` and `status`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from shared.auth import Caller, CallerKind
from shared.automations import _audit
from shared.automations._invocation import Invocation

log = logging.getLogger(__name__)

QUEUE = "automation-runs"


def location(name: str, run_id: str) -> str:
    return f"/api/automations/{name}/runs/{run_id}"


def enqueue(invocation: Invocation, instance: str) -> str:
    """Queue the run; its location (relative to the host)."""
    from azure.storage.queue import QueueClient

    message = {
        "runId": invocation.run_id,
        "automation": invocation.name,
        "input": dict(invocation.input),
        "caller": invocation.caller.to_dict(),
    }
    client = QueueClient.from_connection_string(os.environ[_audit.STORAGE_SETTING], QUEUE)
    try:
        client.create_queue()
    except Exception as exc:  # noqa: BLE001 - ResourceExistsError: the queue is there already
        log.debug("queue %s: %s", QUEUE, type(exc).__name__)
    # base64: what the Functions queue trigger expects by default (host.json messageEncoding).
    client.send_message(base64.b64encode(json.dumps(message).encode()).decode("ascii"))
    return location(invocation.name, invocation.run_id)


def _caller(facts: Mapping[str, Any]) -> Caller:
    return Caller(
        kind=CallerKind(facts.get("kind", "app")),
        object_id=str(facts.get("objectId", "")),
        tenant_id=str(facts.get("tenantId", "")),
        app_id=str(facts.get("appId", "")),
        upn=facts.get("upn"),
        name=facts.get("name"),
        roles=frozenset(facts.get("roles", [])),
        scopes=frozenset(facts.get("scopes", [])),
        version=facts.get("tokenVersion"),
    )


def execute(body: bytes) -> None:
    """The queue function's work: run the automation, record the outcome."""
    from shared.automations._declarations import find
    from shared.automations._settings import current

    message = json.loads(body)
    name, run_id = str(message["automation"]), str(message["runId"])
    automation = find(name)
    caller = _caller(message.get("caller", {}))
    started, started_at = time.perf_counter(), dt.datetime.now(dt.UTC).isoformat()
    status, result, reason, output = 200, "succeeded", None, None
    if automation is None:
        status, result, reason = 404, "failed", f"No automation named '{name}'."
    else:
        try:
            inv = Invocation(name, message.get("input", {}), caller, current(), run_id)
            output = dict(automation.handler(inv))
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure; the message is done
            status, result, reason = 500, "failed", str(getattr(exc, "message", type(exc).__name__))
            log.warning("Run %s of %s failed: %s", run_id, name, type(exc).__name__)
    _audit.record(
        _audit.AuditEntry(
            automation=name,
            run_id=run_id,
            started_at=started_at,
            status=status,
            result=result,
            duration_ms=int((time.perf_counter() - started) * 1000),
            input_digest=_audit.input_digest(message.get("input", {})),
            reason=reason,
            output=json.dumps(output) if output is not None else None,
            **_audit.caller_columns(caller),
        )
    )


def status(name: str, run_id: str) -> Mapping[str, Any] | None:
    """The newest row of the run, or None."""
    for row in _audit.rows(name, limit=500):
        if row.get("runId") == run_id:
            return row
    return None
