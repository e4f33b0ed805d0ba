"""A job run's trace against the devstack: its span, and Graph, Key Vault and Entra as dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from shared.jobs import JobContext, _connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import _vault
from shared.runs import Ledger, Run, Status
from shared.storage import Account
from tests.app.context.support import sample_connections
from tests.app.jobs.support import declared
from tests.app.telemetry.support import Captured, exported_text, metric_sum, run_trace, url_of
from tests.conftest import tls_session

JOB = "telemetry-probe"


def _probe(ctx: JobContext) -> dict[str, Any]:
    users = ctx.graph.get("/users", top=2, select=["id", "displayName"])
    return {"users": len(users["value"])}


def _reset() -> None:
    reset_connections()
    _connections.reset()
    _vault.reset()


@pytest.fixture
def app_env(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app against the devstack; the probe job reads Graph with the certificate from Key Vault."""
    for name, value in {**devstack.app_settings(), **sample_connections()}.items():
        monkeypatch.setenv(name, value)
    _reset()
    with tls_session(devstack.state()["caBundle"]) as http:
        http.delete(f"{devstack.servers['graph'].url}/_devstack/faults", timeout=10)
    yield
    _reset()


def _run(storage: Account) -> Run:
    with declared(JOB, _probe, connection="graph_cert"):
        run = Engine(Ledger(storage)).run_now(JOB)
    assert run.status is Status.SUCCEEDED, run.error
    return run


def _port(devstack: OfflineTenant, emulator: str) -> int | None:
    return urlsplit(str(devstack.servers[emulator].url)).port


def test_job_run_is_one_trace_with_its_dependencies(
    devstack: OfflineTenant, app_env: None, storage: Account, captured: Captured
) -> None:
    """The run's span carries its id and connection; Key Vault, Entra and Graph calls are its children."""
    run = _run(storage)
    root, trace = run_trace(captured, f"job {JOB}")
    attributes = root.attributes or {}
    assert attributes["run.id"] == run.id
    assert attributes["run.kind"] == "job"
    assert attributes["connection"] == "graph_cert"
    assert attributes["run.status"] == "succeeded"
    assert root.parent is None
    ports = {urlsplit(url_of(s)).port for s in trace if url_of(s)}
    for emulator in ("keyvault", "entra", "graph"):
        assert _port(devstack, emulator) in ports, emulator
    graph = [s for s in trace if urlsplit(url_of(s)).port == _port(devstack, "graph")]
    assert graph
    assert all(urlsplit(url_of(s)).path == "/v1.0/users" for s in graph)
    assert all(s.context.trace_id == root.context.trace_id for s in trace if s.context and root.context)


def test_no_token_secret_assertion_or_query_string_is_exported(
    devstack: OfflineTenant, app_env: None, storage: Account, captured: Captured
) -> None:
    """Nothing exported holds the Graph token, the certificate's secret, a JWT or a URL's query."""
    _run(storage)
    token = _connections.open_connection("graph_cert").token("graph").value
    vault_secret = devstack.tenant.vault.latest_secret("entra-automation-cert")
    assert vault_secret is not None
    texts = list(exported_text(captured))
    assert texts
    for text in texts:
        assert token not in text
        assert vault_secret.value[:64] not in text
        assert "eyJ" not in text  # any JWT: access tokens, client assertions
        assert "api-version=" not in text
        assert "$top" not in text
        assert "%24top" not in text
        if text.startswith(("http://", "https://")):
            assert "?" not in text


def test_graph_requests_are_counted(
    devstack: OfflineTenant, app_env: None, storage: Account, captured: Captured
) -> None:
    """Each Graph request of the run adds one to graph.requests."""
    before = metric_sum(captured.metrics, "graph.requests")
    _run(storage)
    assert metric_sum(captured.metrics, "graph.requests") - before == 1


def test_throttled_answers_and_waits_are_counted(
    devstack: OfflineTenant, app_env: None, storage: Account, captured: Captured
) -> None:
    """Two 429s with Retry-After 0.2 s: graph.throttled grows by 2, graph.throttled.wait by their waits."""
    with tls_session(devstack.state()["caBundle"]) as http:
        fault = {"match": "/users", "status": 429, "times": 2, "retryAfter": 0.2}
        http.post(
            f"{devstack.servers['graph'].url}/_devstack/faults", json=fault, timeout=10
        ).raise_for_status()
    throttled = metric_sum(captured.metrics, "graph.throttled")
    waited = metric_sum(captured.metrics, "graph.throttled.wait")
    requests = metric_sum(captured.metrics, "graph.requests")
    _run(storage)
    assert metric_sum(captured.metrics, "graph.throttled") - throttled == 2
    assert metric_sum(captured.metrics, "graph.throttled.wait") - waited == pytest.approx(0.4)
    assert metric_sum(captured.metrics, "graph.requests") - requests == 3
