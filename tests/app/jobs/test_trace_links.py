"""Runs queued by a request or a retry carry its traceparent; the run's span links to that span."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from opentelemetry.sdk.trace import ReadableSpan

import function_app
from devstack.host.invocation import InvocationContext
from shared import clock, telemetry
from shared.jobs import JobContext
from shared.jobs._engine import LEASES_TABLE, RUNS_QUEUE, Engine
from shared.runs import Kind, Ledger, Status
from shared.storage import Account
from tests.app.jobs.support import Recycled, declared, take_messages
from tests.app.telemetry.support import Captured

# The host's span of the HTTP request (POST /api/jobs/{name}/run), and of later invocations.
REQUEST = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
QUEUE_HOST = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
TIMER_HOST = "00-5c1a2b3c4d5e6f708192a3b4c5d6e7f8-1122334455667788-00"


def _ok(ctx: JobContext) -> dict[str, int]:
    return {"attempt": ctx.run.attempt}


@pytest.fixture
def job(storage: Account) -> Iterator[str]:
    """A job that succeeds, on the test's own storage."""
    name = "linked-" + secrets.token_hex(3)
    with declared(name, _ok):
        yield name


def _post_run(name: str, traceparent: str) -> dict[str, Any]:
    req = func.HttpRequest(
        "POST",
        f"http://localhost/api/jobs/{name}/run",
        headers={},
        params={},
        route_params={"name": name},
        body=b"",
    )
    response = function_app.jobs_run(req, InvocationContext("r", "jobs_run", ".", traceparent))
    assert response.status_code == 202
    body: dict[str, Any] = json.loads(response.get_body())
    return body


def _deliver(message: dict[str, Any]) -> None:
    """The jobs-runs trigger, handed the message as the host would, under its own invocation."""
    msg = QueueMessage(id="m", body=json.dumps(message).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
    function_app.jobs_runs_queue(msg, InvocationContext("q", "jobs_runs_queue", ".", QUEUE_HOST))


def _span_of(captured: Captured, run_id: str) -> ReadableSpan:
    return next(
        s for s in captured.spans.get_finished_spans() if (s.attributes or {}).get("run.id") == run_id
    )


def _ids(traceparent: str) -> tuple[int, int]:
    _, trace_id, span_id, _ = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


def test_on_demand_run_links_to_the_request_that_queued_it(
    job: str, storage: Account, captured: Captured
) -> None:
    """POST run queues {job, run, traceparent of the request}; the run's span links to the request's span."""
    run = _post_run(job, REQUEST)
    [message] = take_messages(storage, RUNS_QUEUE)
    assert message == {"job": job, "run": run["id"], "traceparent": REQUEST}
    _deliver(message)
    span = _span_of(captured, run["id"])
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [_ids(REQUEST)]
    assert span.parent is not None
    assert span.parent.span_id == _ids(QUEUE_HOST)[1]  # its parent stays its own invocation
    assert (span.attributes or {})["run.status"] == "succeeded"


@pytest.mark.usefixtures("telemetry_off")
def test_on_demand_run_message_has_no_traceparent_when_telemetry_is_off(job: str, storage: Account) -> None:
    """Telemetry off: the queued message is the job and run ids only, and the run still succeeds."""
    run = _post_run(job, REQUEST)
    [message] = take_messages(storage, RUNS_QUEUE)
    assert message == {"job": job, "run": run["id"]}
    _deliver(message)
    done = Engine().runs.get(Kind.JOB, job, run["id"])
    assert done is not None
    assert done.status is Status.SUCCEEDED


def test_a_message_without_traceparent_still_runs_unlinked(
    job: str, storage: Account, captured: Captured
) -> None:
    """A message queued before the field existed runs; its span has no link, its parent is the invocation."""
    run, _ = Engine().request(job)
    take_messages(storage, RUNS_QUEUE)
    _deliver({"job": job, "run": run.id})
    span = _span_of(captured, run.id)
    assert span.links == ()
    assert span.parent is not None
    assert span.parent.span_id == _ids(QUEUE_HOST)[1]
    assert (span.attributes or {})["run.status"] == "succeeded"


def test_a_waiting_run_keeps_its_link_when_queued_again(
    job: str, storage: Account, captured: Captured, moving: clock.ManualClock
) -> None:
    """A run that finds the job busy goes back on the queue with the traceparent it came with."""
    run = _post_run(job, REQUEST)
    [message] = take_messages(storage, RUNS_QUEUE)
    now = clock.now()
    # Held for half a second more (the clock stands still): the run is queued again, 1 s later.
    storage.lease(
        LEASES_TABLE, f"job.{job}", "other/1", now=now, until=now + timedelta(seconds=0.5), run="other"
    )
    _deliver(message)
    again: list[dict[str, Any]] = []
    for _ in range(40):  # until the delayed message is visible (not a timing assertion)
        again = take_messages(storage, RUNS_QUEUE)
        if again:
            break
        time.sleep(0.25)
    assert again == [{"job": job, "run": run["id"], "traceparent": REQUEST}]


def test_an_abandoned_runs_retry_links_to_the_invocation_that_found_it(
    storage: Account, captured: Captured, moving: clock.ManualClock
) -> None:
    """The retry's message carries the span of the firing that found the run dead; the retry links to it."""
    name = "fragile-" + secrets.token_hex(3)

    def dies_first(ctx: JobContext) -> None:
        if ctx.run.attempt == 1 and ctx.run.detail.get("slot") == "2026-12-01T06:00:00Z":
            raise Recycled

    engine = Engine(Ledger(storage))
    with declared(name, dies_first, timeout=timedelta(minutes=5)):
        moving.advance(timedelta(seconds=1))
        with pytest.raises(Recycled):
            engine.on_timer(name)
        moving.advance(timedelta(hours=1))  # the 07:00 firing finds the expired lease
        with telemetry.invocation(InvocationContext("t", name, ".", TIMER_HOST)):
            engine.on_timer(name)
        [message] = take_messages(storage, RUNS_QUEUE)
        assert set(message) == {"job", "run", "traceparent"}
        assert message["traceparent"] == TIMER_HOST
        _deliver(message)
    retry = engine.runs.get(Kind.JOB, name, message["run"])
    assert retry is not None
    assert retry.trigger == "retry"
    assert retry.status is Status.SUCCEEDED
    span = _span_of(captured, retry.id)
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [_ids(TIMER_HOST)]
