"""Long-running automations: answered 202 at once, run from the Storage queue `automation-runs`.

The run is queued in the ledger (`shared.runs`, status `queued`); the message holds the run id,
the automation, the validated input and the caller's facts, never a token (long-running
automations run as the app, so none is needed). The queue function marks it running, runs it
and finishes it (output in the ledger's blob); `GET /api/automations/{name}/runs/{runId}`
shows it to the caller that started it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from shared import telemetry
from shared.auth import Caller, CallerKind
from shared.automations._invocation import Invocation

log = logging.getLogger(__name__)

QUEUE = "automation-runs"


def location(name: str, run_id: str) -> str:
    return f"/api/automations/{name}/runs/{run_id}"


def enqueue(invocation: Invocation) -> str:
    """Queue the (already recorded) run; its location (relative to the host)."""
    from shared.storage import account

    message = {
        "runId": invocation.run_id,
        "automation": invocation.name,
        "input": dict(invocation.input),
        "caller": invocation.caller.to_dict(),
    }
    account().enqueue(QUEUE, message)
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
    """The queue function's work: mark the run running, run the automation, finish the run."""
    from shared.automations._declarations import find
    from shared.automations._settings import current
    from shared.clock import now
    from shared.runs import Kind, Status, ledger

    message = json.loads(body)
    name, run_id = str(message["automation"]), str(message["runId"])
    runs = ledger()
    run = runs.get(Kind.AUTOMATION, name, run_id)
    if run is None or run.status.final:
        log.info("Run %s of %s is unknown or already final; message dropped", run_id, name)
        return
    running = runs.save(run.evolve(status=Status.RUNNING, started=now(), attempt=run.attempt))
    if running is None:
        log.info("Run %s of %s was taken by another instance", run_id, name)
        return
    automation = find(name)
    started = time.perf_counter()
    with telemetry.run_span(running) as span:  # the run's trace (docs/telemetry.md)
        try:
            if automation is None:
                raise LookupError(name)
            settings = current()
            span.set(connection=settings.connection)
            inv = Invocation(
                name, message.get("input", {}), _caller(message.get("caller", {})), settings, run_id
            )
            output = dict(automation.handler(inv))
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure; the message is done
            log.warning("Run %s of %s failed: %s", run_id, name, type(exc).__name__)
            span.failed(exc)
            runs.finish(running, Status.FAILED, error=exc, detail={"durationMs": _ms(started)})
            return
        stored = running.evolve(output=runs.write_output(running, output))
        runs.finish(stored, Status.SUCCEEDED, detail={"durationMs": _ms(started)})
        span.set(run_status="succeeded")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
