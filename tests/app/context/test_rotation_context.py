"""GET /api/context shows each rotating connection's days left, next rotation and last rotation run,
and degrades it within 7 days of expiry with no successful rotation (emulators, clocks moved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
import requests

import function_app
from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.context._probe import reset_probe_cache
from shared.identity import reset_connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import certificate_rotation, secret_rotation
from shared.runs import Ledger, Status
from shared.storage import Account
from tests.app.context.support import call_context, request_counts
from tests.app.jobs.rotation_support import (
    add_fault,
    configure,
    configure_secret,
    move_devstack_clock,
    next_slot_after,
)

JOB = certificate_rotation.NAME


@pytest.fixture
def rot(rotation_env: None, storage: Account) -> Iterator[None]:
    """The rotation environment with the context's Graph probe cache cleared around the test."""
    reset_probe_cache()
    yield
    reset_probe_cache()


def _entry(when: datetime | None = None) -> dict[str, Any]:
    with clock.use(clock.ManualClock(when or datetime.now(UTC))):
        status, _, report = call_context("connection=rot")
    assert status == 200
    return dict(report["connections"]["rot"])


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_days_left_and_next_rotation_with_no_run_yet(
    devstack: OfflineTenant,
    rot: None,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20 days left: the job's next slot is the next rotation, no run yet, ok with a warning."""
    configure(devstack, http, monkeypatch, "certificate", valid_days=20)
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


def test_warm_context_with_rotation_makes_no_identity_entra_or_key_vault_request(
    devstack: OfflineTenant,
    rot: None,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second report (rotation facts included) makes no identity, Entra, Key Vault or Graph request."""
    configure(devstack, http, monkeypatch, "keyvault-key")
    _entry()
    before = request_counts(devstack, http)
    entry = _entry()
    assert "rotation" in entry
    assert request_counts(devstack, http) == before


def test_within_seven_days_and_no_run_is_degraded(
    devstack: OfflineTenant,
    rot: None,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Moved 14 days on (6 left) with no rotation run: degraded, the diagnosis says why and what to do."""
    configure(devstack, http, monkeypatch, "certificate", valid_days=20)
    move_devstack_clock(devstack, http, advance=timedelta(days=14))
    entry = _entry(datetime.now(UTC) + timedelta(days=14))
    assert entry["status"] == "degraded"
    assert entry["rotation"]["daysLeft"] <= 7
    assert entry["diagnosis"]["code"] == "RotationOverdue"
    assert "no certificate-rotation run is recorded" in entry["diagnosis"]["problem"]
    assert f"/api/jobs/{JOB}/run" in entry["diagnosis"]["fix"]


def test_failed_rotation_within_seven_days_names_the_run_and_step(
    devstack: OfflineTenant,
    rot: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """addKey refused by Graph, 6 days left: degraded naming the run, its failed step and Graph's code."""
    configure(devstack, http, monkeypatch, "certificate", valid_days=20)
    add_fault(devstack, http, "graph", match="/addKey", status=503, times=50)
    later = datetime.now(UTC) + timedelta(days=14)
    move_devstack_clock(devstack, http, advance=timedelta(days=14))
    with clock.use(clock.ManualClock(later)):
        failed = Engine(Ledger(storage)).run_now(JOB)
    assert failed.status is Status.FAILED
    reset_connections()
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


def test_successful_rotation_shows_the_run_and_the_new_certificate_dates(
    devstack: OfflineTenant,
    rot: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a successful run: last run succeeded, the new version's days left, its rotation date."""
    configure(devstack, http, monkeypatch, "keyvault-key", valid_days=20)
    done = Engine(Ledger(storage)).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    reset_connections()
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


def test_a_connection_the_job_does_not_cover_is_degraded_within_seven_days(
    devstack: OfflineTenant,
    rot: None,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job disabled, 6 days left: degraded, the diagnosis says the job does not rotate it."""
    configure(devstack, http, monkeypatch, "certificate", valid_days=20)
    monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_ENABLED", "false")
    move_devstack_clock(devstack, http, advance=timedelta(days=14))
    entry = _entry(datetime.now(UTC) + timedelta(days=14))
    assert entry["rotation"]["enabled"] is False
    assert entry["status"] == "degraded"
    assert "does not rotate this connection" in entry["diagnosis"]["problem"]


def test_status_page_shows_next_and_last_rotation(
    devstack: OfflineTenant,
    rot: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status page's certificate table shows the next rotation date and the last rotation run."""
    configure(devstack, http, monkeypatch, "certificate", valid_days=20)
    done = Engine(Ledger(storage)).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    reset_connections()
    req = func.HttpRequest("GET", "http://localhost/api/status", headers={}, params={}, body=b"")
    resp = function_app.status(req)
    html = resp.get_body().decode()
    assert resp.status_code == 200
    assert '<th scope="col">Next rotation</th>' in html
    assert '<th scope="col">Last rotation</th>' in html
    assert f"succeeded (run {done.id})" in html


def test_a_secret_within_seven_days_after_a_failed_rotation_is_degraded(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client secret 6 days from its end whose addPassword failed: degraded, naming the run and step."""
    reset_probe_cache()
    configure_secret(devstack, http, monkeypatch, valid_days=20)
    add_fault(devstack, http, "graph", match="/addPassword", status=503, times=50)
    later = datetime.now(UTC) + timedelta(days=14)
    move_devstack_clock(devstack, http, advance=timedelta(days=14))
    with clock.use(clock.ManualClock(later)):
        failed = Engine(Ledger(storage)).run_now(secret_rotation.NAME)
        assert failed.status is Status.FAILED
        reset_connections()
        _, _, report = call_context("connection=srot")
    entry = report["connections"]["srot"]
    rotation = entry["rotation"]
    assert (rotation["job"], rotation["daysLeft"]) == (secret_rotation.NAME, 5)
    assert rotation["lastRun"]["failedStep"] == "rotation:addPassword"
    assert entry["status"] == "degraded"
    assert entry["diagnosis"]["problem"].startswith("The secret expires in 5 day(s)")
    reset_probe_cache()
