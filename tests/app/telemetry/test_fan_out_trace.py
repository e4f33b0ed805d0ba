"""A fanned-out run is a span; its children's messages carry its traceparent and their spans link to it."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.queue import QueueClient

from devstack.host.invocation import InvocationContext
from shared import telemetry
from shared.jobs import JobContext
from shared.jobs._engine import UNITS_QUEUE, Engine
from shared.runs import Ledger, Status
from shared.storage import Account
from tests.app.jobs.support import declared
from tests.app.telemetry.support import Captured

TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]")
HOST = "00-1f2e3d4c5b6a79881f2e3d4c5b6a7988-a1b2c3d4e5f60718-00"
CHILD_HOST = "00-99887766554433221100ffeeddccbbaa-0102030405060708-00"


def _unit(ctx: JobContext) -> dict[str, Any]:
    return {"unit": ctx.unit}


@pytest.fixture
def job() -> Iterator[str]:
    """A job split into two units (children), one queue message each."""
    name = "fanout-" + secrets.token_hex(3)
    with declared(name, _unit, units=lambda ctx: ["a", "b"]):
        yield name


def _messages(storage: Account) -> list[dict[str, Any]]:
    client = QueueClient.from_connection_string(
        str(storage.target.connection_string), storage.name(UNITS_QUEUE)
    )
    received = list(client.receive_messages(max_messages=32, visibility_timeout=60))
    for message in received:
        client.delete_message(message)
    return [json.loads(base64.b64decode(m.content)) for m in received]


def test_children_link_to_the_fanned_out_parent_span(job: str, storage: Account, captured: Captured) -> None:
    """Parent span under the host; each message carries only its ids; each child links to the parent."""
    engine = Engine(Ledger(storage))
    with telemetry.invocation(InvocationContext("i", "job", ".", HOST)):
        parent = engine.request(job)[0]
        engine.on_run_message(json.dumps({"job": job, "run": parent.id}))
    spans = captured.spans.get_finished_spans()
    parent_span = next(
        s for s in spans if s.name == f"job {job}" and (s.attributes or {})["run.id"] == parent.id
    )
    assert parent_span.context is not None
    assert f"{parent_span.context.trace_id:032x}" == HOST.split("-")[1]
    messages = _messages(storage)
    assert sorted(m["unit"] for m in messages) == ["a", "b"]
    expected = f"00-{parent_span.context.trace_id:032x}-{parent_span.context.span_id:016x}-01"
    for message in messages:
        # The message grows by one W3C traceparent: ids and flags, nothing secret.
        assert set(message) == {"job", "parent", "unit", "traceparent"}
        assert TRACEPARENT.fullmatch(message["traceparent"])
        assert message["traceparent"] == expected
    captured.spans.clear()
    for message in messages:
        with telemetry.invocation(InvocationContext("c", "jobs_units_queue", ".", CHILD_HOST)):
            engine.on_unit_message(json.dumps(message))
    children = [s for s in captured.spans.get_finished_spans() if s.name == f"job {job}"]
    assert len(children) == 2
    for child in children:
        assert (child.attributes or {})["run.parent_id"] == parent.id
        assert child.parent is not None
        assert f"{child.parent.span_id:016x}" == CHILD_HOST.split("-")[2]  # under its own invocation
        assert [(link.context.trace_id, link.context.span_id) for link in child.links] == [
            (parent_span.context.trace_id, parent_span.context.span_id)
        ]
    final = engine.runs.get(parent.kind, job, parent.id)
    assert final is not None
    assert final.status is Status.SUCCEEDED


def test_inline_children_are_spans_of_the_parent(job: str, storage: Account, captured: Captured) -> None:
    """`run_now` (the CLI) runs the children inside the parent's span: one trace, parent and children."""
    run = Engine(Ledger(storage)).run_now(job)
    assert run.status is Status.SUCCEEDED
    spans = [s for s in captured.spans.get_finished_spans() if s.name == f"job {job}"]
    parent_span = next(s for s in spans if (s.attributes or {})["run.id"] == run.id)
    assert parent_span.parent is None
    assert (parent_span.attributes or {})["run.status"] == "succeeded"
    children = [s for s in spans if s is not parent_span]
    assert len(children) == 2
    assert parent_span.context is not None
    assert all(c.parent is not None and c.parent.span_id == parent_span.context.span_id for c in children)


@pytest.mark.usefixtures("telemetry_off")
def test_messages_have_no_traceparent_when_telemetry_is_off(job: str, storage: Account) -> None:
    """Telemetry off: the children's messages are the job, parent and unit ids, nothing more."""
    engine = Engine(Ledger(storage))
    parent = engine.request(job)[0]
    engine.on_run_message(json.dumps({"job": job, "run": parent.id}))
    messages = _messages(storage)
    assert len(messages) == 2
    assert all(set(m) == {"job", "parent", "unit"} for m in messages)
