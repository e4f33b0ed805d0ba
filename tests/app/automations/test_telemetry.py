"""An automation call is one trace: its run id and connection, Graph beneath it, no token exported."""

from __future__ import annotations

import pytest

from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct
from tests.app.automations.support import body, call
from tests.app.telemetry.support import Captured, exported_text, run_trace, url_of

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
