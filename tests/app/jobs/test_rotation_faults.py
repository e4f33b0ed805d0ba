"""Certificate rotation under faults: the process killed between addKey and the switch, Key Vault
down mid-rotation. The app keeps a working credential throughout; the next run finishes the job."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared import clock
from shared.identity import connection
from shared.identity._connection import scope_for
from shared.jobs.builtin import certificate_rotation
from shared.runs import Kind, Status
from tests.app.context.support import call_context
from tests.app.jobs.rotation_support import GRACE, Rotating, fresh_token, step_hook, thumbprints

JOB = certificate_rotation.NAME
ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 120  # a bound so a broken runner fails the test instead of hanging it


def _read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, f"runner ended early (exit {proc.poll()})"
    return line


@pytest.mark.parametrize("kind", ["certificate", "keyvault-key"])
def test_killed_between_add_key_and_switch_the_next_run_finishes_and_tokens_never_fail(
    kind: str, rotating: Rotating
) -> None:
    """SIGKILL right after addKey: a token at every step and after; the next run switches, then retires."""
    old = rotating.certificate(kind)
    warm = connection("rot")
    assert warm.token("graph").value  # an instance that loaded the old version before the run
    steps = []
    with subprocess.Popen(
        [sys.executable, "-m", "tests.app.jobs.rotation_runner", rotating.storage.prefix],
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
                assert fresh_token("rot")  # between every two steps a new instance gets a token
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
    runs = rotating.runs
    [dead] = runs.query(Kind.JOB, JOB).runs
    assert dead.status is Status.RUNNING
    assert old in thumbprints()
    assert len(thumbprints()) >= 2  # the new key is registered; nobody switched yet
    assert warm.token("graph").value
    assert fresh_token("rot")  # a new instance loads the newest version, which Entra now accepts
    _, _, report = call_context("connection=rot")
    assert report["connections"]["rot"]["rotation"]["lastRun"]["status"] == "running"

    later = datetime.now(UTC) + timedelta(minutes=11)  # past the dead run's lease (the job's timeout)
    done = rotating.run(JOB, at=later)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {}  # nothing to create or register again
    finished = rotating.output(done)
    assert [s["step"] for s in finished["steps"]] == ["switch", "removeKey"]
    assert "waiting" in finished["steps"][-1]
    assert runs.get(Kind.JOB, JOB, dead.id).status is Status.ABANDONED  # type: ignore[union-attr]
    new = finished["thumbprint"]
    assert {old, new} <= thumbprints()

    with clock.use(clock.ManualClock(rotating.later(GRACE))):
        retired = rotating.run(JOB)
        assert retired.status is Status.SUCCEEDED, retired.error
        assert retired.counts == {"removed": 1}
        assert old not in thumbprints()
        assert fresh_token("rot")
        # The instance that loaded the old version before the run was never restarted: its next
        # token request is refused for the removed key, and it reloads the newest version and succeeds.
        held = warm.vault_credential.version
        assert warm._credential.fetch(scope_for("graph", warm.cloud)).value
        assert warm.vault_credential.version != held


def test_key_vault_down_after_add_key_fails_at_switch_and_the_old_certificate_works(
    rotating: Rotating, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key Vault answering 503 to everything from addKey on: the run fails at rotation:switch with 503;
    the instance keeps its old certificate and gets tokens; once Key Vault is back the next run switches."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")  # the retries give up quickly
    old = rotating.certificate("certificate")
    conn = connection("rot")
    assert conn.token("graph").value

    def vault_goes_down(step: str, name: str) -> None:
        if step == "addKey":
            rotating.fault("keyvault", match=".", status=503, times=100_000)

    with step_hook(vault_goes_down):
        failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status) == ("rotation:switch", 503)
    assert "step switch failed" in failed.error.message
    assert failed.detail["rotation"]["rot"]["step"] == "rotation:switch"
    # Still down: the instance asks Entra for a new token with the certificate it holds, and gets it.
    rotating.counts(reset=True)
    assert conn._credential.fetch(scope_for("graph", conn.cloud)).value
    assert rotating.counts()["entra"] >= 1
    assert old in thumbprints()
    rotating.clear_faults("keyvault")
    done = rotating.run(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {}
    assert [s["step"] for s in rotating.output(done)["steps"]] == ["switch", "removeKey"]


def test_key_vault_down_at_create_fails_naming_the_step_and_changes_nothing(
    rotating: Rotating, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key Vault 503 on create (not a 429): the run fails at rotation:create; the app is as before."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")
    old = rotating.certificate("keyvault-key")
    before = thumbprints()
    rotating.fault("keyvault", match="/create", status=503, times=100_000)
    failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status, failed.error.outage) == ("rotation:create", 503, True)
    assert thumbprints() == before
    assert old in before
    assert fresh_token("rot")
