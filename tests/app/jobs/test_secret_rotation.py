"""The built-in secret-rotation job against the Key Vault, Entra and Graph emulators."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.identity import connection, reset_connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import certificate_rotation, secret_rotation
from shared.runs import Kind, Ledger, Status
from shared.storage import Account
from tests.app.context.support import call_context
from tests.app.jobs.rotation_support import (
    add_fault,
    configure_secret,
    counts,
    move_devstack_clock,
    output,
    password_ids,
    password_values,
)
from tests.app.jobs.support import Recycled

JOB = secret_rotation.NAME


@pytest.fixture
def tokens_between_steps() -> Iterator[list[str]]:
    """After every rotation step, a fresh instance (new connection) must get a token: the steps seen."""
    seen: list[str] = []

    def fresh_token(step: str, name: str) -> None:
        reset_connections()
        assert connection(name).token("graph").value, step
        seen.append(step)

    certificate_rotation.step_hooks.append(fresh_token)
    yield seen
    certificate_rotation.step_hooks.remove(fresh_token)


def _ledger_text(runs: Ledger) -> str:
    """Every stored run of the job, and its output, as text."""
    found = runs.query(Kind.JOB, JOB, page_size=100).runs
    parts = [json.dumps(r.to_dict(), default=str) for r in found]
    parts += [(runs.read_output(r) or b"").decode() for r in found]
    return "\n".join(parts)


def test_secret_rotation_adds_stores_switches_then_retires_after_the_grace(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
    tokens_between_steps: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """20 days left: addPassword, new Key Vault version, token with it; after the grace the old one goes;
    a token at every step; no secret in the ledger, the logs or /api/context."""
    caplog.set_level(logging.DEBUG)
    old = configure_secret(devstack, http, monkeypatch)
    runs = Ledger(storage)
    values = set(password_values(devstack))
    counts(devstack, http, reset=True)
    started = datetime.now(UTC)
    first = Engine(runs).run_now(JOB)
    requests_first = counts(devstack, http)
    assert first.status is Status.SUCCEEDED, first.error
    assert first.counts == {"added": 1, "stored": 1}
    done = output(runs, first)
    assert [s["step"] for s in done["steps"]] == ["addPassword", "store", "switch", "removePassword"]
    assert "waiting" in done["steps"][-1]
    new = done["keyId"]
    assert {old, new} <= password_ids(devstack)
    assert tokens_between_steps == ["read", "addPassword", "store", "switch"]
    values |= password_values(devstack)

    again = Engine(runs).run_now(JOB)  # within the grace: nothing to do
    assert again.status is Status.SUCCEEDED, again.error
    assert again.counts == {}

    move_devstack_clock(devstack, http, advance=timedelta(hours=25))
    counts(devstack, http, reset=True)
    with clock.use(clock.ManualClock(datetime.now(UTC) + timedelta(hours=25))):
        last = Engine(runs).run_now(JOB)
        requests_last = counts(devstack, http)
        assert last.status is Status.SUCCEEDED, last.error
        assert last.counts == {"removed": 1}
        assert old not in password_ids(devstack)
        assert new in password_ids(devstack)
        reset_connections()
        assert connection("srot").token("graph").value
        _, _, report = call_context("connection=srot")
    entry = report["connections"]["srot"]
    assert entry["rotation"]["lastRun"]["id"] == last.id
    assert entry["rotation"]["daysLeft"] >= 170
    assert entry["status"] == "ok", entry.get("diagnosis")
    seen = _ledger_text(runs) + caplog.text + json.dumps(report)
    for value in values:
        assert value not in seen
    print(
        f"\nclient-secret: requests first run {requests_first}, removal run {requests_last},"
        f" within 30 days to old password removed: {(datetime.now(UTC) - started).total_seconds():.2f}s"
    )


def test_an_untagged_secret_is_found_by_its_hint(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A secret stored by hand (no keyId tag) is matched to its password by the hint and rotated."""
    old = configure_secret(devstack, http, monkeypatch, tagged=False)
    done = Engine(Ledger(storage)).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"added": 1, "stored": 1}
    assert old in password_ids(devstack)


def test_graph_5xx_on_add_password_fails_naming_the_step_and_the_old_secret_works(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 on addPassword fails the run at rotation:addPassword; the old secret works; the next rotates."""
    old = configure_secret(devstack, http, monkeypatch)
    add_fault(devstack, http, "graph", match="/addPassword", status=503, times=20)
    runs = Ledger(storage)
    failed = Engine(runs).run_now(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.step == "rotation:addPassword"
    assert "Secret rotation of connection srot: step addPassword failed" in failed.error.message
    assert failed.detail["rotation"]["srot"]["step"] == "rotation:addPassword"
    assert password_ids(devstack) >= {old}
    reset_connections()
    assert connection("srot").token("graph").value
    http.delete(f"{devstack.servers['graph'].url}/_devstack/faults", timeout=10)
    done = Engine(runs).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"added": 1, "stored": 1}


def test_killed_between_add_password_and_store_the_next_run_removes_the_orphan_and_rotates(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Death after addPassword: the unknown new password is an orphan the next run removes; tokens work."""
    old = configure_secret(devstack, http, monkeypatch)
    before = password_ids(devstack)

    def die_after_add(step: str, name: str) -> None:
        if step == "addPassword":
            raise Recycled

    certificate_rotation.step_hooks.append(die_after_add)
    runs = Ledger(storage)
    try:
        with pytest.raises(Recycled):
            Engine(runs).run_now(JOB)
    finally:
        certificate_rotation.step_hooks.remove(die_after_add)
    [orphan] = password_ids(devstack) - before
    reset_connections()
    assert connection("srot").token("graph").value  # Key Vault still holds the old, valid secret
    with clock.use(clock.ManualClock(datetime.now(UTC) + timedelta(minutes=11))):  # the dead run's lease
        done = Engine(runs).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"orphansRemoved": 1, "added": 1, "stored": 1}
    ids = password_ids(devstack)
    assert orphan not in ids
    assert old in ids
    reset_connections()
    assert connection("srot").token("graph").value


def test_key_vault_down_at_store_fails_naming_the_step_and_the_old_secret_works(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key Vault answering 503 to every write: the run fails at rotation:store; the old secret works."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")
    old = configure_secret(devstack, http, monkeypatch)
    add_fault(devstack, http, "keyvault", match=r"^/secrets/srot-[0-9a-f]+$", status=503, times=1000)
    failed = Engine(Ledger(storage)).run_now(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.step == "rotation:store"
    assert failed.error.status == 503
    reset_connections()
    assert connection("srot").token("graph").value
    assert old in password_ids(devstack)


def test_two_instances_firing_for_one_slot_add_one_password(
    devstack: OfflineTenant,
    secret_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two instances' timers for the same 03:45 slot, at once: one run, one addPassword, one new version."""
    old = configure_secret(devstack, http, monkeypatch)
    before = password_ids(devstack)
    now = datetime.now(UTC)
    slot_time = now.replace(hour=3, minute=45, second=1, microsecond=0)
    if slot_time <= now:
        slot_time += timedelta(days=1)
    with clock.use(clock.ManualClock(slot_time)), ThreadPoolExecutor(2) as pool:
        fired = list(pool.map(lambda _: Engine(Ledger(storage)).on_timer(JOB), range(2)))
    statuses = sorted(r.status.value for r in fired if r is not None)
    assert statuses.count(Status.SUCCEEDED.value) == 1, statuses
    added = password_ids(devstack) - before
    assert len(added) == 1
    assert old in password_ids(devstack)
