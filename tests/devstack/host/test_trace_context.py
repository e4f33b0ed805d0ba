"""The invocation's trace context, as the Functions host sends it: one per invocation, W3C, HTTP a child."""

from __future__ import annotations

import json
import re
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from werkzeug.test import Client

from devstack.host.auth import HostKeys
from devstack.host.errors import HostStartupError
from devstack.host.http_app import HttpApp
from devstack.host.indexing import index_app
from devstack.host.invocation import Invoker

W3C = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _echo_app(seen: list[tuple[str, str, str]]) -> func.FunctionApp:
    app = func.FunctionApp()

    @app.route(route="echo", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        trace = context.trace_context
        return func.HttpResponse(json.dumps([trace.trace_parent, trace.trace_state, trace.trace_parent]))

    @app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
    def tick(timer: func.TimerRequest, context: func.Context) -> None:
        trace = context.trace_context
        seen.append((trace.trace_parent, trace.trace_parent, trace.Traceparent))  # type: ignore[attr-defined]

    return app


@pytest.fixture
def seen() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def client(tmp_path: Path, seen: list[tuple[str, str, str]]) -> Client:
    functions = [f for f in index_app(_echo_app(seen)) if f.name == "echo"]
    keys = HostKeys(function_key="f", master_key="m")
    app = HttpApp(
        functions,
        route_prefix="api",
        keys=keys,
        invoker=Invoker(tmp_path),
        body_limit=1024,
        send_outputs=lambda function, result: None,
    )
    return Client(app)


def _echo(client: Client, headers: dict[str, str]) -> list[str]:
    response = client.get("/api/echo", headers=headers)
    assert response.status_code == 200
    value: list[str] = json.loads(response.get_data())
    return value


def test_timer_invocations_each_start_a_trace(tmp_path: Path, seen: list[tuple[str, str, str]]) -> None:
    """Each timer invocation gets its own W3C traceparent (new trace), the same on every read."""
    tick = next(f for f in index_app(_echo_app(seen)) if f.name == "tick")
    invoker = Invoker(tmp_path)
    try:
        for _ in range(2):
            invoker.invoke(tick, TimerRequest(past_due=False), "Timer fired")
    finally:
        invoker.close()
    assert len(seen) == 2
    for parent, again, legacy in seen:
        assert W3C.fullmatch(parent)
        assert parent == again == legacy  # one context per invocation; the worker's old name too
    assert seen[0][0].split("-")[1] != seen[1][0].split("-")[1]


def test_http_invocation_is_a_child_of_the_callers_traceparent(client: Client) -> None:
    """A request's `traceparent`: same trace id and flags, the host's own span id; tracestate passed on."""
    parent, state, again = _echo(client, {"traceparent": CALLER, "tracestate": "congo=t61rcWkgMzE"})
    _, trace_id, span_id, flags = CALLER.split("-")
    assert W3C.fullmatch(parent)
    assert parent.split("-")[1] == trace_id
    assert parent.split("-")[3] == flags
    assert parent.split("-")[2] != span_id
    assert state == "congo=t61rcWkgMzE"
    assert again == parent


@pytest.mark.parametrize("headers", [{}, {"traceparent": "00-xyz-abc-01", "tracestate": "a=b"}])
def test_http_invocation_without_a_valid_traceparent_starts_a_trace(
    client: Client, headers: dict[str, str]
) -> None:
    """No header, or a malformed one (its tracestate dropped with it): a new trace id."""
    parent, state, _ = _echo(client, headers)
    assert W3C.fullmatch(parent)
    assert parent.split("-")[1] != CALLER.split("-")[1]
    assert state == ""


def test_context_of_another_type_fails_indexing() -> None:
    """The worker passes `context` only as azure.functions.Context: another annotation fails the load."""
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
    def tick(timer: func.TimerRequest, context: str) -> None:
        return None

    with pytest.raises(HostStartupError, match=r"expected to be of type azure\.functions\.Context"):
        index_app(app)


def test_annotations_that_do_not_resolve_fail_indexing() -> None:
    """The worker resolves every annotation (typing.get_type_hints): an unknown name fails the load."""
    app = func.FunctionApp()

    def tick(timer: func.TimerRequest, context: func.Context) -> None:
        return None

    tick.__annotations__ = {"timer": "nowhere.TimerRequest", "context": "func.Context", "return": "None"}
    app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")(tick)
    with pytest.raises(HostStartupError, match="annotations do not resolve"):
        index_app(app)
