"""An automation call is one trace: its run id and connection, Graph beneath it, no token exported."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func
import pytest

import function_app
from devstack.host.auth import HostKeys
from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct
from tests.app.automations.support import body, call
from tests.app.telemetry.support import Captured, exported_text, run_trace, url_of
from tests.devstack.support import functions_host

pytestmark = pytest.mark.usefixtures("app_env")


def test_automation_call_is_one_trace_with_its_run_and_connection(
    caller_app: str, devstack: OfflineTenant, captured: Captured
) -> None:
    """POST /api/automations/revoke-sessions: a server span with the run id, the connection and Graph."""
    response = call("revoke-sessions", {"user": ct.ALEX}, token=caller_app)
    assert response.status_code == 200, response.get_body()
    root, trace = run_trace(captured, "automation revoke-sessions")
    attributes = root.attributes or {}
    assert attributes["run.id"] == body(response)["runId"]
    assert attributes["connection"] == "graph_cert"
    assert attributes["http.status_code"] == 200
    assert attributes["run.status"] == "succeeded"
    graph = str(devstack.servers["graph"].url)
    assert any(url_of(s).startswith(graph) for s in trace)
    for text in exported_text(captured):
        assert caller_app not in text
        assert "eyJ" not in text


def test_refused_automation_call_is_a_failed_trace(captured: Captured) -> None:
    """A call without a token is traced as failed (401), and its span holds no header or token."""
    response = call("revoke-sessions", {"user": ct.ALEX})
    assert response.status_code == 401
    root, _ = run_trace(captured, "automation revoke-sessions")
    attributes = root.attributes or {}
    assert attributes["http.status_code"] == 401
    assert attributes["run.status"] == "failed"
    assert root.status.status_code.name == "ERROR"


@pytest.mark.parametrize("with_parent", [True, False])
def test_automation_call_hangs_under_the_host_request(captured: Captured, with_parent: bool) -> None:
    """The host's request span (the invocation's traceparent) is the call's parent; without one, a root."""
    trace_id, host_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    parent = f"00-{trace_id}-{host_span}-01" if with_parent else ""
    response = call("revoke-sessions", {"user": ct.ALEX}, invocation_parent=parent)
    assert response.status_code == 401
    root, _ = run_trace(captured, "automation revoke-sessions")
    assert root.context is not None
    if with_parent:
        assert root.parent is not None
        assert (f"{root.context.trace_id:032x}", f"{root.parent.span_id:016x}") == (trace_id, host_span)
    else:
        assert root.parent is None
        assert f"{root.context.trace_id:032x}" != trace_id


def test_caller_traceparent_reaches_the_call_through_the_host(captured: Captured) -> None:
    """A caller's `traceparent` header: the host's request span continues its trace, our span beneath it."""
    trace_id, caller_span = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    headers = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
    response = call("revoke-sessions", {"user": ct.ALEX}, headers=headers)
    assert response.status_code == 401
    root, _ = run_trace(captured, "automation revoke-sessions")
    assert root.context is not None
    assert root.parent is not None
    assert f"{root.context.trace_id:032x}" == trace_id
    assert f"{root.parent.span_id:016x}" != caller_span  # the host's request span sits between


def _route_app() -> func.FunctionApp:
    """function_app's automations trigger, as it is declared, served alone."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="automations/{name}", methods=["POST"])
    def automations(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        response: func.HttpResponse = function_app.automations(req, context)
        return response

    return app


@pytest.fixture(scope="module")
def host_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The automations route on the local Functions host: a real socket."""
    root = Path(tmp_path_factory.mktemp("automations-host"))
    with functions_host(_route_app(), root, HostKeys(function_key="k", master_key="k-master")) as host:
        yield host.base_url


def test_traceparent_over_the_socket_reaches_the_call_span(host_url: str, captured: Captured) -> None:
    """A request's `traceparent` through the local host: the call's span is in that trace, under the host."""
    trace_id, caller_span = "6e0c63257de34c92bf9efcd03927272e", "5d2a4c8f1b3e7a90"
    # http.client, not requests: the requests instrumentation would put its own traceparent on.
    connection = http.client.HTTPConnection(urlsplit(host_url).netloc, timeout=30)
    headers = {"traceparent": f"00-{trace_id}-{caller_span}-01", "Content-Type": "application/json"}
    path = f"{urlsplit(host_url).path}/automations/revoke-sessions"
    connection.request("POST", path, body=json.dumps({"user": ct.ALEX}), headers=headers)
    status = connection.getresponse().status
    connection.close()
    assert status == 401
    root, _ = run_trace(captured, "automation revoke-sessions")
    assert root.context is not None
    assert root.parent is not None
    assert root.parent.is_remote
    assert f"{root.context.trace_id:032x}" == trace_id
    assert f"{root.parent.span_id:016x}" != caller_span
