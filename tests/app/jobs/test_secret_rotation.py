"""The built-in secret-rotation job against the Key Vault, Entra and Graph emulators."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared import clock
from shared.identity import reset_connections
from shared.jobs.builtin import secret_rotation
from shared.runs import Status
from tests.app.context.support import call_context
from tests.app.jobs.rotation_support import (
    GRACE,
    SECRET_SLOT,
    Rotating,
    fire_twice,
    fresh_token,
    ledger_text,
    next_slot_after,
    password_ids,
    password_values,
    step_hook,
)
from tests.app.jobs.support import Recycled

JOB = secret_rotation.NAME


@pytest.fixture
def tokens_between_steps() -> Iterator[list[str]]:
    """After every rotation step, a fresh instance (new connection) must get a token: the steps seen."""
    seen: list[str] = []

    def fresh_token_after(step: str, name: str) -> None:
        assert fresh_token(name), step
        seen.append(step)

    with step_hook(fresh_token_after):
        yield seen


def test_secret_rotation_adds_stores_switches_then_retires_after_the_grace(
    secret_rotating: Rotating, tokens_between_steps: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """20 days left: addPassword, new Key Vault version, token with it; after the grace the old one goes;
    a token at every step; no secret in the ledger, the logs or /api/context."""
    caplog.set_level(logging.DEBUG)
    rot = secret_rotating
    devstack = rot.devstack
    old = rot.secret()
    values = set(password_values(devstack))
    rot.counts(reset=True)
    started = datetime.now(UTC)
    first = rot.run(JOB)
    requests_first = rot.counts()
    assert first.status is Status.SUCCEEDED, first.error
    assert first.counts == {"added": 1, "stored": 1}
    done = rot.output(first)
    assert [s["step"] for s in done["steps"]] == ["addPassword", "store", "switch", "removePassword"]
    assert "waiting" in done["steps"][-1]
    new = done["keyId"]
    assert {old, new} <= password_ids(devstack)
    assert tokens_between_steps == ["read", "addPassword", "store", "switch"]
    values |= password_values(devstack)

    again = rot.run(JOB)  # within the grace: nothing to do
    assert again.status is Status.SUCCEEDED, again.error
    assert again.counts == {}

    after_grace = rot.later(GRACE)
    rot.counts(reset=True)
    with clock.use(clock.ManualClock(after_grace)):
        last = rot.run(JOB)
        requests_last = rot.counts()
        assert last.status is Status.SUCCEEDED, last.error
        assert last.counts == {"removed": 1}
        assert old not in password_ids(devstack)
        assert new in password_ids(devstack)
        assert fresh_token("srot")
        _, _, report = call_context("connection=srot")
    entry = report["connections"]["srot"]
    assert entry["rotation"]["lastRun"]["id"] == last.id
    assert entry["rotation"]["daysLeft"] >= 170
    assert entry["status"] == "ok", entry.get("diagnosis")
    seen = ledger_text(rot.runs, JOB) + caplog.text + json.dumps(report)
    for value in values:
        assert value not in seen
    print(
        f"\nclient-secret: requests first run {requests_first}, removal run {requests_last},"
        f" within 30 days to old password removed: {(datetime.now(UTC) - started).total_seconds():.2f}s"
    )


def test_an_untagged_secret_is_found_by_its_hint(secret_rotating: Rotating) -> None:
    """A secret stored by hand (no keyId tag) is matched to its password by the hint and rotated."""
    old = secret_rotating.secret(tagged=False)
    done = secret_rotating.run(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"added": 1, "stored": 1}
    assert old in password_ids(secret_rotating.devstack)


def test_graph_5xx_on_add_password_fails_naming_the_step_and_the_old_secret_works(
    secret_rotating: Rotating,
) -> None:
    """A 503 on addPassword fails the run at rotation:addPassword; the old secret works; the next rotates."""
    rot = secret_rotating
    old = rot.secret()
    rot.fault("graph", match="/addPassword", status=503, times=20)
    failed = rot.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.step == "rotation:addPassword"
    assert "Secret rotation of connection srot: step addPassword failed" in failed.error.message
    assert failed.detail["rotation"]["srot"]["step"] == "rotation:addPassword"
    assert password_ids(rot.devstack) >= {old}
    assert fresh_token("srot")
    rot.clear_faults("graph")
    done = rot.run(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"added": 1, "stored": 1}


def test_killed_between_add_password_and_store_the_next_run_removes_the_orphan_and_rotates(
    secret_rotating: Rotating,
) -> None:
    """Death after addPassword: the unknown new password is an orphan the next run removes; tokens work."""
    rot = secret_rotating
    old = rot.secret()
    before = password_ids(rot.devstack)

    def die_after_add(step: str, name: str) -> None:
        if step == "addPassword":
            raise Recycled

    with step_hook(die_after_add), pytest.raises(Recycled):
        rot.run(JOB)
    [orphan] = password_ids(rot.devstack) - before
    assert fresh_token("srot")  # Key Vault still holds the old, valid secret
    done = rot.run(JOB, at=datetime.now(UTC) + timedelta(minutes=11))  # past the dead run's lease
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"orphansRemoved": 1, "added": 1, "stored": 1}
    ids = password_ids(rot.devstack)
    assert orphan not in ids
    assert old in ids
    assert fresh_token("srot")


def test_key_vault_down_at_store_fails_naming_the_step_and_the_old_secret_works(
    secret_rotating: Rotating, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key Vault answering 503 to every write: the run fails at rotation:store; the old secret works."""
    rot = secret_rotating
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "2")
    old = rot.secret()
    rot.fault("keyvault", match=r"^/secrets/srot-[0-9a-f]+$", status=503, times=1000)
    failed = rot.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.step == "rotation:store"
    assert failed.error.status == 503
    assert fresh_token("srot")
    assert old in password_ids(rot.devstack)


def test_missing_vault_permission_fails_at_store_naming_the_role(secret_rotating: Rotating) -> None:
    """Without Secrets Officer: the run fails at rotation:store, 403, the hint names the role; old works."""
    rot = secret_rotating
    old = rot.secret()
    with rot.without_vault_role("Key Vault Secrets Officer"):
        failed = rot.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status) == ("rotation:store", 403)
    assert failed.error.hint is not None
    assert "Key Vault Secrets Officer" in failed.error.hint
    assert fresh_token("srot")
    assert old in password_ids(rot.devstack)


def test_two_instances_firing_for_one_slot_add_one_password(secret_rotating: Rotating) -> None:
    """Two instances' timers for the same 03:45 slot, at once: one run, one addPassword, one new version."""
    rot = secret_rotating
    devstack = rot.devstack
    old = rot.secret()
    before = password_ids(devstack)
    slot_time = next_slot_after(datetime.now(UTC), SECRET_SLOT) + timedelta(seconds=1)
    fired = fire_twice(rot.storage, JOB, slot_time)
    statuses = sorted(r.status.value for r in fired if r is not None)
    assert statuses.count(Status.SUCCEEDED.value) == 1, statuses
    added = password_ids(devstack) - before
    assert len(added) == 1
    assert old in password_ids(devstack)


def test_secret_rotation_reads_key_vault_once_then_once_more_to_prove_the_switch(
    secret_rotating: Rotating,
) -> None:
    """A cold first run reads Key Vault once (its token uses that read too), writes once and reads once
    more to prove Key Vault serves the new version; the warm removal run reads once."""
    rot = secret_rotating
    rot.secret()
    # Key Vault's 401 challenge is answered once per process (the SDK caches it per vault): done
    # here, so the counts below are the job's own; then a newly started instance's state.
    assert fresh_token("srot")
    reset_connections()
    rot.counts(reset=True)
    first = rot.run(JOB)
    requests_first = rot.counts()
    vault_first = _vault_operations(rot)
    assert first.status is Status.SUCCEEDED, first.error
    assert first.counts == {"added": 1, "stored": 1}
    rot.counts(reset=True)
    with clock.use(clock.ManualClock(rot.later(GRACE))):
        last = rot.run(JOB)
        requests_last = rot.counts()
        assert last.status is Status.SUCCEEDED, last.error
        assert last.counts == {"removed": 1}
    print(f"\nclient-secret (no step hook): requests first run {requests_first}, removal run {requests_last}")
    assert vault_first == {"GetSecret": 2, "SetSecret": 1}
    assert _vault_operations(rot) == {"GetSecret": 1}


def _vault_operations(rot: Rotating) -> dict[str, int]:
    """The Key Vault emulator's requests since the last reset, by operation."""
    found: dict[str, int] = rot.http.get(f"{rot.devstack.servers['keyvault'].url}/_devstack/requests").json()[
        "byOperation"
    ]
    return found


def test_the_job_is_off_until_its_setting_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """secret-rotation is opt-in: off until JOB_SECRET_ROTATION_ENABLED (infra: rotateSecrets) turns it on."""
    from shared.jobs._declare import setting_name
    from shared.jobs.builtin import secret_rotation

    assert setting_name(secret_rotation.NAME, "ENABLED") == secret_rotation.ENABLED_SETTING
    monkeypatch.delenv(secret_rotation.ENABLED_SETTING, raising=False)
    assert not secret_rotation.JOB.enabled()
    monkeypatch.setenv(secret_rotation.ENABLED_SETTING, "true")
    assert secret_rotation.JOB.enabled()
