"""The built-in credential-expiry job on the scale seed (2,500 apps), through real tokens and Graph."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.identity import reset_connections
from shared.jobs import _connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import _vault
from shared.runs import Kind, Ledger, Run, Status
from shared.storage import Account
from tests.app.context.support import sample_connections
from tests.app.jobs.support import Pump
from tests.conftest import tls_session

N = 2500
JOB = "credential-expiry"


@pytest.fixture
def tenant(scaled_devstack: Callable[[int], OfflineTenant]) -> OfflineTenant:
    return scaled_devstack(N)


@pytest.fixture
def app_env(tenant: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's settings against the scaled tenant; the job reads Graph through graph_cert."""
    for name, value in {**tenant.app_settings(), **sample_connections()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JOB_CREDENTIAL_EXPIRY_CONNECTION", "graph_cert")
    _reset()
    with tls_session(tenant.state()["caBundle"]) as http:
        # Each test starts with a full throttling bucket and no injected fault.
        http.put(f"{tenant.servers['graph'].url}/_devstack/throttling", json={"enabled": True}, timeout=10)
        http.delete(f"{tenant.servers['graph'].url}/_devstack/faults", timeout=10)
        http.delete(f"{tenant.servers['sink'].url}/_devstack/messages", timeout=10)
    yield
    _reset()


def _reset() -> None:
    reset_connections()
    _connections.reset()
    _vault.reset()


@pytest.fixture
def at_seed_time(tenant: OfflineTenant) -> Iterator[clock.ManualClock]:
    """The app's clock at the instant the scale seed dated its credentials from."""
    assert tenant.scale is not None
    with clock.use(clock.ManualClock(tenant.scale.now)) as manual:
        assert isinstance(manual, clock.ManualClock)
        yield manual


def _expected(tenant: OfflineTenant) -> set[tuple[str, str, str, str]]:
    facts = tenant.scale
    assert facts is not None
    expired = {(c.app_id, c.key_id, c.kind, "expired") for c in facts.expired()}
    soon = {(c.app_id, c.key_id, c.kind, "expiring") for c in facts.expiring_within(30)}
    return expired | soon


def _output(runs: Ledger, run: Run) -> dict[str, Any]:
    data = runs.read_output(run)
    assert data is not None
    return dict(json.loads(data))


def _reported(report: dict[str, Any], apps: set[str]) -> set[tuple[str, str, str, str]]:
    return {
        (i["appId"], i["keyId"], i["kind"], i["state"])
        for i in report["items"]
        if i["source"] == "application" and i["appId"] in apps
    }


def test_report_is_exactly_the_seed_in_the_fewest_requests(
    tenant: OfflineTenant, app_env: None, storage: Account, at_seed_time: clock.ManualClock
) -> None:
    """Every expired or soon-expiring credential of the 2,500 apps is reported, read in ⌈2,500/999⌉ pages."""
    runs = Ledger(storage)
    run = Engine(runs).run_now(JOB)
    assert run.status is Status.SUCCEEDED, run.error
    report = _output(runs, run)
    facts = tenant.scale
    assert facts is not None
    assert _reported(report, set(facts.apps)) == _expected(tenant)
    apps = report["sources"]["applications"]
    assert apps["objects"] >= N
    assert apps["requests"] == math.ceil(N / 999) == math.ceil(apps["objects"] / 999)
    assert run.graph.requests == apps["requests"] + report["sources"]["servicePrincipals"]["requests"]
    assert run.graph.throttled == 0
    assert run.counts["applications"] == apps["objects"]
    assert report["summary"]["expired"] >= len(facts.expired())
    assert "keyVault" in report["sources"]


def test_throttled_run_completes_waits_as_told_and_reports_the_waits(
    tenant: OfflineTenant, app_env: None, storage: Account, at_seed_time: clock.ManualClock
) -> None:
    """Throttling model on and a burst of 429s (Retry-After 1 s): the job waits, completes and says so."""
    with tls_session(tenant.state()["caBundle"]) as http:
        fault = {"match": "/applications", "status": 429, "times": 3, "retryAfter": 1}
        assert (
            http.post(f"{tenant.servers['graph'].url}/_devstack/faults", json=fault, timeout=10).status_code
            == 201
        )
    runs = Ledger(storage)
    started = time.monotonic()
    run = Engine(runs).run_now(JOB)
    elapsed = time.monotonic() - started
    assert run.status is Status.SUCCEEDED, run.error
    assert run.graph.throttled == 3
    assert run.graph.waited_seconds >= 3.0
    assert elapsed >= 3.0
    report = _output(runs, run)
    assert report["sources"]["applications"]["throttled"] == 3
    assert report["sources"]["applications"]["waitedSeconds"] >= 3.0
    facts = tenant.scale
    assert facts is not None
    assert _reported(report, set(facts.apps)) == _expected(tenant)


def test_notification_reaches_the_webhook_named_by_a_vault_secret(
    tenant: OfflineTenant,
    app_env: None,
    storage: Account,
    at_seed_time: clock.ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The summary goes to the Teams webhook whose URL is a Key Vault secret; the URL is stored nowhere."""
    hook = f"{tenant.servers['sink'].url}/webhookb2/team-ops/IncomingWebhook/abc123/def456"
    with tls_session(tenant.state()["caBundle"]) as http:
        put = http.put(
            f"{tenant.servers['keyvault'].url}/_devstack/secrets/teams-webhook",
            json={"value": hook},
            timeout=10,
        )
        assert put.status_code == 200
        monkeypatch.setenv("JOB_CREDENTIAL_EXPIRY_NOTIFY_SECRET", "teams-webhook")
        runs = Ledger(storage)
        run = Engine(runs).run_now(JOB)
        messages = http.get(f"{tenant.servers['sink'].url}/_devstack/messages", timeout=10).json()
    assert run.status is Status.SUCCEEDED, run.error
    report = _output(runs, run)
    assert report["notification"] == {"sent": True, "status": 200}
    [message] = messages
    assert message["service"] == "teams"
    assert f"{report['summary']['expired']} expired" in message["body"]["text"]
    stored = json.dumps(report) + json.dumps(run.to_dict())
    assert "abc123" not in stored


def test_fan_out_over_five_connections_one_without_the_role(
    tenant: OfflineTenant,
    app_env: None,
    storage: Account,
    at_seed_time: clock.ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five connections, one lacking Application.Read.All: 4 succeed, 1 fails naming the missing role."""
    monkeypatch.setenv(
        "JOB_CREDENTIAL_EXPIRY_CONNECTIONS", "graph_cert,graph_secret,graph_federated,graph_kvkey,graph_mi"
    )
    engine = Engine(Ledger(storage))
    parent, _ = engine.request(JOB)
    Pump(storage, engine).drain()
    final = engine.runs.get(Kind.JOB, JOB, parent.id)
    assert final is not None
    assert final.status is Status.FAILED
    breakdown = final.detail["children"]
    assert breakdown["succeeded"] == 4
    assert breakdown["failed"] == 1
    error = breakdown["failures"]["graph_mi"]["error"]
    assert error["status"] == 403
    assert error["code"] == "Authorization_RequestDenied"
    assert "Application.Read.All" in error["hint"]
    output = _output(engine.runs, final)
    facts = tenant.scale
    assert facts is not None
    assert _reported(output["children"]["graph_cert"], set(facts.apps)) == _expected(tenant)
    assert output["children"]["graph_mi"] is None


def test_graph_refusal_is_recorded_without_a_token(
    tenant: OfflineTenant, app_env: None, storage: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run through a connection without the role fails with Graph's code, and no bearer token is stored."""
    monkeypatch.setenv("JOB_CREDENTIAL_EXPIRY_CONNECTION", "graph_mi")
    runs = Ledger(storage)
    run = Engine(runs).run_now(JOB)
    assert run.status is Status.FAILED
    assert run.error is not None
    assert run.error.code == "Authorization_RequestDenied"
    assert "eyJ" not in json.dumps(run.to_dict())
