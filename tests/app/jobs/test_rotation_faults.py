"""Certificate rotation under faults: the process killed between addKey and the switch, Key Vault
down mid-rotation. The app keeps a working credential throughout; the next run finishes the job."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.identity import connection, reset_connections
from shared.identity._connection import scope_for
from shared.jobs._engine import Engine
from shared.jobs.builtin import certificate_rotation
from shared.runs import Kind, Ledger, Status
from shared.storage import Account
from tests.app.context.support import call_context
from tests.app.jobs.rotation_support import add_fault, configure, counts, output, thumbprints

JOB = certificate_rotation.NAME
ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 120  # a bound so a broken runner fails the test instead of hanging it


def _fresh_token() -> str:
    """A token as a newly started instance gets it: the newest Key Vault version, first use."""
    reset_connections()
    return connection("rot").token("graph").value


def _read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, f"runner ended early (exit {proc.poll()})"
    return line


@pytest.mark.parametrize("kind", ["certificate", "keyvault-key"])
def test_killed_between_add_key_and_switch_the_next_run_finishes_and_tokens_never_fail(
    kind: str,
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL right after addKey: a token at every step and after; the next run switches, then retires."""
    old = configure(devstack, http, monkeypatch, kind)
    warm = connection("rot")
    assert warm.token("graph").value  # an instance that loaded the old version before the run
    steps = []
    with subprocess.Popen(
        [sys.executable, "-m", "tests.app.jobs.rotation_runner", storage.prefix],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            while True:
                line = _read_line(proc)
                assert line.startswith("STEP "), line
                steps.append(line.removeprefix("STEP "))
                assert _fresh_token()  # between every two steps a new instance gets a token
                if steps[-1] == "addKey":
                    proc.kill()  # SIGKILL: no cleanup, no ledger update, the lease kept
                    break
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
        finally:
            proc.kill()
            proc.wait(WAIT_S)
    assert steps == ["read", "create", "addKey"]
    runs = Ledger(storage)
    [dead] = runs.query(Kind.JOB, JOB).runs
    assert dead.status is Status.RUNNING
    assert old in thumbprints()
    assert len(thumbprints()) >= 2  # the new key is registered; nobody switched yet
    assert warm.token("graph").value
    assert _fresh_token()  # a new instance loads the newest version, which Entra now accepts
    _, _, report = call_context("connection=rot")
    assert report["connections"]["rot"]["rotation"]["lastRun"]["status"] == "running"

    later = datetime.now(UTC) + timedelta(minutes=11)  # past the dead run's lease (the job's timeout)
    with clock.use(clock.ManualClock(later)):
        done = Engine(runs).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {}  # nothing to create or register again
    finished = output(runs, done)
    assert [s["step"] for s in finished["steps"]] == ["switch", "removeKey"]
    assert "waiting" in finished["steps"][-1]
    assert runs.get(Kind.JOB, JOB, dead.id).status is Status.ABANDONED  # type: ignore[union-attr]
    new = finished["thumbprint"]
    assert {old, new} <= thumbprints()

    http.put(
        f"{devstack.servers['graph'].url}/_devstack/clock", json={"advanceSeconds": 25 * 3600}, timeout=10
    )
    with clock.use(clock.ManualClock(datetime.now(UTC) + timedelta(hours=25))):
        retired = Engine(runs).run_now(JOB)
        assert retired.status is Status.SUCCEEDED, retired.error
        assert retired.counts == {"removed": 1}
        assert old not in thumbprints()
        assert _fresh_token()


def test_key_vault_down_after_add_key_fails_at_switch_and_the_old_certificate_works(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key Vault answering 503 to everything from addKey on: the run fails at rotation:switch with 503;
    the instance keeps its old certificate and gets tokens; once Key Vault is back the next run switches."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")  # the retries give up quickly
    old = configure(devstack, http, monkeypatch, "certificate")
    conn = connection("rot")
    assert conn.token("graph").value

    def vault_goes_down(step: str, name: str) -> None:
        if step == "addKey":
            add_fault(devstack, http, "keyvault", match=".", status=503, times=100_000)

    certificate_rotation.step_hooks.append(vault_goes_down)
    runs = Ledger(storage)
    try:
        failed = Engine(runs).run_now(JOB)
    finally:
        certificate_rotation.step_hooks.remove(vault_goes_down)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status) == ("rotation:switch", 503)
    assert "step switch failed" in failed.error.message
    assert failed.detail["rotation"]["rot"]["step"] == "rotation:switch"
    # Still down: the instance asks Entra for a new token with the certificate it holds, and gets it.
    counts(devstack, http, reset=True)
    assert conn._credential.fetch(scope_for("graph", conn.cloud)).value
    assert counts(devstack, http)["entra"] >= 1
    assert old in thumbprints()
    http.delete(f"{devstack.servers['keyvault'].url}/_devstack/faults", timeout=10)
    done = Engine(runs).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {}
    assert [s["step"] for s in output(runs, done)["steps"]] == ["switch", "removeKey"]


def test_key_vault_down_at_create_fails_naming_the_step_and_changes_nothing(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key Vault 503 on create (not a 429): the run fails at rotation:create; the app is as before."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")
    old = configure(devstack, http, monkeypatch, "keyvault-key")
    before = thumbprints()
    add_fault(devstack, http, "keyvault", match="/create", status=503, times=100_000)
    failed = Engine(Ledger(storage)).run_now(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status, failed.error.outage) == ("rotation:create", 503, True)
    assert thumbprints() == before
    assert old in before
    assert _fresh_token()
