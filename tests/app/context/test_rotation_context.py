"""GET /api/context shows each rotating connection's days left, next rotation and last rotation run,
and degrades it within 7 days of expiry with no successful rotation (emulators, clocks moved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

import function_app
from shared import clock
from shared.context._probe import reset_probe_cache
from shared.identity import reset_connections
from shared.jobs.builtin import certificate_rotation, secret_rotation
from shared.runs import Run, Status
from tests.app.context.support import call_context, request_counts
from tests.app.jobs.rotation_support import Rotating, next_slot_after

JOB = certificate_rotation.NAME


@pytest.fixture
def rot(rotating: Rotating) -> Iterator[Rotating]:
    """The rotation environment with the context's Graph probe cache cleared around the test."""
    reset_probe_cache()
    yield rotating
    reset_probe_cache()


def _entry(when: datetime | None = None, name: str = "rot") -> dict[str, Any]:
    """Connection `name`'s entry in GET /api/context, asked with the app's clock at `when` (now)."""
    with clock.use(clock.ManualClock(when or datetime.now(UTC))):
        status, _, report = call_context(f"connection={name}")
    assert status == 200
    return dict(report["connections"][name])


def _rotated(rot: Rotating, kind: str) -> Run:
    """Connection `rot` (a `kind` certificate, 20 days left) rotated by one successful run; the run."""
    rot.certificate(kind, valid_days=20)
    done = rot.run(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    reset_connections()
    return done


def _failed_14_days_on(rot: Rotating, job: str, graph_call: str) -> tuple[Run, datetime]:
    """The clocks moved 14 days on and `job` run with Graph answering 503 to `graph_call`: the failed
    run and that moment."""
    rot.fault("graph", match=f"/{graph_call}", status=503, times=50)
    later = rot.later(timedelta(days=14))
    failed = rot.run(job, at=later)
    assert failed.status is Status.FAILED
    reset_connections()
    return failed, later


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_days_left_and_next_rotation_with_no_run_yet(rot: Rotating) -> None:
    """20 days left: the job's next slot is the next rotation, no run yet, ok with a warning."""
    rot.certificate("certificate", valid_days=20)
    now = datetime.now(UTC)
    entry = _entry(now)
    rotation = entry["rotation"]
    assert entry["status"] == "ok", entry.get("diagnosis")
    assert rotation["job"] == JOB
    assert rotation["enabled"] is True
    assert rotation["rotateWithinDays"] == 30
    assert rotation["daysLeft"] in (19, 20)
    # notAfter - 30 days is already past: the next 03:30 slot after now.
    assert _parse(rotation["nextRotation"]) == next_slot_after(now)
    assert rotation["lastRun"] is None
    assert rotation["ledgerError"] is None
    assert any("renews it at its next run" in w for w in entry["warnings"])


def test_warm_context_with_rotation_makes_no_identity_entra_or_key_vault_request(rot: Rotating) -> None:
    """A second report (rotation facts included) makes no identity, Entra, Key Vault or Graph request."""
    rot.certificate("keyvault-key")
    _entry()
    before = request_counts(rot.devstack, rot.http)
    entry = _entry()
    assert "rotation" in entry
    assert request_counts(rot.devstack, rot.http) == before


def test_within_seven_days_and_no_run_is_degraded(rot: Rotating) -> None:
    """Moved 14 days on (6 left) with no rotation run: degraded, the diagnosis says why and what to do."""
    rot.certificate("certificate", valid_days=20)
    entry = _entry(rot.later(timedelta(days=14)))
    assert entry["status"] == "degraded"
    assert entry["rotation"]["daysLeft"] <= 7
    assert entry["diagnosis"]["code"] == "RotationOverdue"
    assert "no certificate-rotation run is recorded" in entry["diagnosis"]["problem"]
    assert f"/api/jobs/{JOB}/run" in entry["diagnosis"]["fix"]


def test_failed_rotation_within_seven_days_names_the_run_and_step(rot: Rotating) -> None:
    """addKey refused by Graph, 6 days left: degraded naming the run, its failed step and Graph's code."""
    rot.certificate("certificate", valid_days=20)
    failed, later = _failed_14_days_on(rot, JOB, "addKey")
    entry = _entry(later)
    last = entry["rotation"]["lastRun"]
    assert last["id"] == failed.id
    assert (last["status"], last["failedStep"]) == ("failed", "rotation:addKey")
    assert "step addKey failed" in last["reason"]
    assert entry["status"] == "degraded", entry.get("diagnosis")
    problem = entry["diagnosis"]["problem"]
    assert failed.id in problem
    assert "at step rotation:addKey" in problem
    assert entry["rotation"]["lastSuccess"] is None


def test_successful_rotation_shows_the_run_and_the_new_certificate_dates(rot: Rotating) -> None:
    """After a successful run: last run succeeded, the new version's days left, its rotation date."""
    done = _rotated(rot, "keyvault-key")
    now = datetime.now(UTC)
    entry = _entry(now)
    rotation = entry["rotation"]
    assert entry["status"] == "ok", entry.get("diagnosis")
    assert rotation["lastRun"]["id"] == done.id
    assert rotation["lastRun"]["status"] == "succeeded"
    assert rotation["lastRun"]["failedStep"] is None
    assert rotation["lastSuccess"] is not None
    not_after = _parse(entry["certificate"]["notAfter"])
    assert rotation["daysLeft"] > 300
    assert _parse(rotation["nextRotation"]) == next_slot_after(not_after - timedelta(days=30))


def test_a_connection_the_job_does_not_cover_is_degraded_within_seven_days(rot: Rotating) -> None:
    """The job disabled, 6 days left: degraded, the diagnosis says the job does not rotate it."""
    rot.certificate("certificate", valid_days=20)
    rot.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_ENABLED", "false")
    entry = _entry(rot.later(timedelta(days=14)))
    assert entry["rotation"]["enabled"] is False
    assert entry["status"] == "degraded"
    assert "does not rotate this connection" in entry["diagnosis"]["problem"]


def test_status_page_shows_next_and_last_rotation(rot: Rotating) -> None:
    """The status page's certificate table shows the next rotation date and the last rotation run."""
    done = _rotated(rot, "certificate")
    req = func.HttpRequest("GET", "http://localhost/api/status", headers={}, params={}, body=b"")
    resp = function_app.status(req)
    html = resp.get_body().decode()
    assert resp.status_code == 200
    assert '<th scope="col">Next rotation</th>' in html
    assert '<th scope="col">Last rotation</th>' in html
    assert f"succeeded (run {done.id})" in html


def test_a_secret_within_seven_days_after_a_failed_rotation_is_degraded(
    rot: Rotating, secret_env: None
) -> None:
    """A client secret 6 days from its end whose addPassword failed: degraded, naming the run and step."""
    rot.secret(valid_days=20)
    failed, later = _failed_14_days_on(rot, secret_rotation.NAME, "addPassword")
    entry = _entry(later, "srot")
    rotation = entry["rotation"]
    assert (rotation["job"], rotation["daysLeft"]) == (secret_rotation.NAME, 5)
    assert rotation["lastRun"]["id"] == failed.id
    assert rotation["lastRun"]["failedStep"] == "rotation:addPassword"
    assert entry["status"] == "degraded"
    assert entry["diagnosis"]["problem"].startswith("The secret expires in 5 day(s)")
