"""A run's span hangs under the Functions host's invocation: the trace context the host passes."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from opentelemetry.sdk.trace import ReadableSpan

import function_app
from devstack.host.indexing import index_app
from devstack.host.invocation import InvocationContext, Invoker
from shared.jobs import Job, JobContext, add_timer
from shared.jobs._engine import engine
from shared.runs import Status, reset_ledger
from shared.storage import Account
from tests.app.jobs.support import declared
from tests.app.telemetry.support import Captured

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
HOST_SPAN = "00f067aa0ba902b7"
# flags 00: the classic host sends traces it records without the sampled flag; the run is kept.
TRACEPARENT = f"00-{TRACE_ID}-{HOST_SPAN}-00"


def _nothing(ctx: JobContext) -> dict[str, Any]:
    return {"ok": True}


_jobs: dict[str, Job] = {}


@pytest.fixture
def job(storage: Account) -> Iterator[str]:
    """A job that does nothing, on the test's storage account, known to the process's engine."""
    name = "corr-" + secrets.token_hex(3)
    reset_ledger()
    with declared(name, _nothing, schedule="*/5 * * * * *") as declared_job:
        _jobs[name] = declared_job
        yield name
        del _jobs[name]
    reset_ledger()


def _span(captured: Captured, name: str) -> ReadableSpan:
    spans = [s for s in captured.spans.get_finished_spans() if s.name == name]
    assert len(spans) == 1, [s.name for s in captured.spans.get_finished_spans()]
    return spans[0]


def _assert_under_host(span: ReadableSpan) -> None:
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == HOST_SPAN
    assert span.parent.is_remote


def _assert_root(span: ReadableSpan) -> None:
    assert span.parent is None
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" != TRACE_ID


def _fire_timer(name: str, trace_parent: str, tmp_path: Path) -> None:
    """The job's timer function (shared/jobs/_triggers.py) through the local host's invoker."""
    app = func.FunctionApp()
    add_timer(app, _jobs[name])
    invoker = Invoker(tmp_path)
    try:
        invoker.invoke(
            index_app(app)[0], TimerRequest(past_due=False), "Timer fired", trace_parent=trace_parent
        )
    finally:
        invoker.close()


@pytest.mark.parametrize("with_parent", [True, False])
def test_timer_run_hangs_under_the_host_invocation(
    job: str, captured: Captured, tmp_path: Path, with_parent: bool
) -> None:
    """A job's timer run: its span's parent is the invocation's traceparent; without one, a new root."""
    _fire_timer(job, TRACEPARENT if with_parent else "", tmp_path)
    span = _span(captured, f"job {job}")
    assert (span.attributes or {})["run.trigger"] == "timer"
    _assert_under_host(span) if with_parent else _assert_root(span)


@pytest.mark.parametrize("with_parent", [True, False])
def test_queued_run_hangs_under_the_host_invocation(job: str, captured: Captured, with_parent: bool) -> None:
    """A `jobs-runs` message through function_app's trigger: the run's span is the invocation's child."""
    run, created = engine().request(job)
    assert created
    message = QueueMessage(id="m1", body=json.dumps({"job": job, "run": run.id}).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
    context = InvocationContext("i1", "jobs_runs_queue", ".", TRACEPARENT if with_parent else "")
    function_app.jobs_runs_queue(message, context)
    span = _span(captured, f"job {job}")
    assert (span.attributes or {})["run.id"] == run.id
    assert (span.attributes or {})["run.status"] == Status.SUCCEEDED.value
    _assert_under_host(span) if with_parent else _assert_root(span)


def test_malformed_traceparent_starts_a_new_trace(job: str, captured: Captured) -> None:
    """A traceparent that is not W3C version 00 (here all-zero ids) is ignored: the run is a new root."""
    run, _ = engine().request(job)
    message = QueueMessage(id="m2", body=json.dumps({"job": job, "run": run.id}).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
    context = InvocationContext("i2", "jobs_runs_queue", ".", f"00-{'0' * 32}-{HOST_SPAN}-01")
    function_app.jobs_runs_queue(message, context)
    assert _span(captured, f"job {job}").parent is None


@pytest.mark.usefixtures("telemetry_off")
def test_invocation_context_costs_nothing_when_telemetry_is_off(job: str) -> None:
    """Telemetry off: a handler given the host's trace context runs the job, and no pipeline starts."""
    from shared import telemetry

    run, _ = engine().request(job)
    message = QueueMessage(id="m3", body=json.dumps({"job": job, "run": run.id}).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
    function_app.jobs_runs_queue(message, InvocationContext("i3", "jobs_runs_queue", ".", TRACEPARENT))
    assert not telemetry.active()
    assert engine().runs.get(run.kind, job, run.id).status is Status.SUCCEEDED  # type: ignore[union-attr]
    telemetry.deactivate()


class _OlderWorkerTrace:
    """An older Python worker's TraceContext: only the `Traceparent`/`Tracestate` names."""

    Traceparent = TRACEPARENT
    Tracestate = ""


class _OlderWorkerContext:
    trace_context = _OlderWorkerTrace()
    invocation_id = "i4"
    function_name = "jobs_runs_queue"


def test_older_worker_trace_context_names_are_read(job: str, captured: Captured) -> None:
    """A worker whose trace context has only `Traceparent` (Microsoft's samples' name) is followed too."""
    run, _ = engine().request(job)
    message = QueueMessage(id="m4", body=json.dumps({"job": job, "run": run.id}).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
    function_app.jobs_runs_queue(message, _OlderWorkerContext())
    _assert_under_host(_span(captured, f"job {job}"))
