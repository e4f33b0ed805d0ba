"""Timer misfires against Azurite: duplicates, overlap, past due, catch-up, abandoned runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared import clock
from shared.jobs import JobContext
from shared.jobs._engine import Engine
from shared.runs import Kind, Ledger, Status
from shared.storage import Account
from tests.app.jobs.support import Pump, Recycled, declared


def _ok(ctx: JobContext) -> dict[str, str]:
    ctx.count("things", 2)
    return {"unit": ctx.unit or "", "slot": str(ctx.run.detail.get("slot"))}


def _statuses(runs: Ledger, name: str) -> list[str]:
    return sorted(r.status.value for r in runs.query(Kind.JOB, name, page_size=100).runs)


def test_two_firings_for_one_slot_make_one_run_and_one_duplicate(
    engine: Engine, runs: Ledger, moving: clock.ManualClock
) -> None:
    """The same process firing twice for 06:00:00 runs the job once and records one duplicate."""
    with declared("hourly", _ok):
        moving.advance(timedelta(seconds=0.6))
        first = engine.on_timer("hourly")
        moving.advance(timedelta(seconds=2))
        second = engine.on_timer("hourly")
    assert first is not None
    assert first.status is Status.SUCCEEDED
    assert first.key == "2026-12-01T06:00:00Z"
    assert second is not None
    assert second.status is Status.DUPLICATE
    assert second.detail["duplicateOf"] == first.id
    assert _statuses(runs, "hourly") == ["duplicate", "succeeded"]


def test_hosts_racing_for_one_slot_make_one_run(storage: Account, moving: clock.ManualClock) -> None:
    """Four engines (as four hosts on one account) firing at once: one run, three duplicates."""
    calls: list[str] = []
    barrier = threading.Barrier(4)
    results: list[Status] = []

    def job(ctx: JobContext) -> None:
        calls.append(ctx.run.id)

    def host() -> None:
        barrier.wait()
        run = Engine(Ledger(storage)).on_timer("race")
        assert run is not None
        results.append(run.status)

    with declared("race", job):
        moving.advance(timedelta(seconds=1))
        threads = [threading.Thread(target=host) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(calls) == 1
    assert sorted(results) == [Status.DUPLICATE] * 3 + [Status.SUCCEEDED]


def test_an_early_firing_belongs_to_the_coming_slot(engine: Engine, moving: clock.ManualClock) -> None:
    """A host whose clock fires 0.6 s before 06:00:00 runs the 06:00:00 slot, not the previous one."""
    with declared("early", _ok):
        run = engine.on_timer("early")
    assert run is not None
    assert run.key == "2026-12-01T06:00:00Z"


def test_overlapping_run_is_skipped(engine: Engine, runs: Ledger, moving: clock.ManualClock) -> None:
    """While the 06:00:00 run still works, the 06:00:10 firing is recorded skipped, naming the run."""
    entered, release = threading.Event(), threading.Event()

    def slow(ctx: JobContext) -> None:
        entered.set()
        assert release.wait(30)

    with declared("slow", slow, schedule="*/10 * * * * *"):
        moving.advance(timedelta(seconds=0.6))
        first: list[object] = []
        worker = threading.Thread(target=lambda: first.append(engine.on_timer("slow")))
        worker.start()
        assert entered.wait(30)
        moving.advance(timedelta(seconds=10))
        second = engine.on_timer("slow")
        release.set()
        worker.join()
    assert second is not None
    assert second.status is Status.SKIPPED
    assert second.key == "2026-12-01T06:00:10Z"
    assert second.detail["reason"].startswith("overlap")
    running = first[0]
    assert getattr(running, "status", None) is Status.SUCCEEDED
    assert second.detail["runningRun"] == getattr(running, "id", None)


def test_past_due_with_skip_policy_is_recorded_not_run(
    engine: Engine, runs: Ledger, moving: clock.ManualClock
) -> None:
    """A past-due firing (the platform says so) is recorded skipped with pastDue, and the job does not run."""
    calls: list[int] = []
    with declared("catchup-skip", lambda ctx: calls.append(1)):
        moving.advance(timedelta(seconds=1))
        run = engine.on_timer("catchup-skip", past_due=True)
    assert calls == []
    assert run is not None
    assert run.status is Status.SKIPPED
    assert run.detail["pastDue"] is True
    assert "past due" in run.detail["reason"]


def test_missed_slots_with_once_policy_run_once_and_are_counted(
    engine: Engine, runs: Ledger, moving: clock.ManualClock
) -> None:
    """After 4 hourly slots were missed, a late firing with catch-up `once` runs once and counts them."""
    with declared("catchup-once", _ok, catch_up="once"):
        moving.advance(timedelta(seconds=1))
        assert engine.on_timer("catchup-once") is not None
        moving.advance(timedelta(hours=5, minutes=20))  # down from 06:00 to 11:20: 07..10 missed
        late = engine.on_timer("catchup-once")
    assert late is not None
    assert late.status is Status.SUCCEEDED
    assert late.key == "2026-12-01T11:00:00Z"
    assert late.detail["pastDue"] is True
    assert late.detail["missedSlots"] == 4


def test_late_firing_without_platform_flag_is_past_due(engine: Engine, moving: clock.ManualClock) -> None:
    """A firing minutes after its slot counts as past due even when the platform did not flag it."""
    with declared("late", _ok):
        moving.advance(timedelta(minutes=3))
        run = engine.on_timer("late")
    assert run is not None
    assert run.status is Status.SKIPPED
    assert run.detail["pastDue"] is True


def test_abandoned_run_is_retried_once_with_its_slot(
    engine: Engine, runs: Ledger, pump: Pump, moving: clock.ManualClock
) -> None:
    """A run whose instance died is marked abandoned after its timeout and retried once, same slot."""
    attempts: list[int] = []

    def dies_first(ctx: JobContext) -> dict[str, int]:
        attempts.append(ctx.run.attempt)
        if ctx.run.attempt == 1 and ctx.run.detail["slot"] == "2026-12-01T06:00:00Z":
            raise Recycled
        return {"attempt": ctx.run.attempt}

    with declared("fragile", dies_first, timeout=timedelta(minutes=5)):
        moving.advance(timedelta(seconds=1))
        with pytest.raises(Recycled):
            engine.on_timer("fragile")
        [dead] = runs.query(Kind.JOB, "fragile").runs
        assert dead.status is Status.RUNNING
        moving.advance(timedelta(hours=1))  # the 07:00 firing finds the expired lease
        engine.on_timer("fragile")
        pump.drain()
    by_trigger = {r.trigger: r for r in runs.query(Kind.JOB, "fragile").runs if r.trigger != "timer"}
    dead_now = runs.get(Kind.JOB, "fragile", dead.id)
    assert dead_now is not None
    assert dead_now.status is Status.ABANDONED
    assert dead_now.error is not None
    assert dead_now.error.type == "Abandoned"
    retry = by_trigger["retry"]
    assert retry.status is Status.SUCCEEDED
    assert retry.attempt == 2
    assert retry.detail["slot"] == "2026-12-01T06:00:00Z"
    assert retry.detail["retryOf"] == dead.id
    assert attempts == [1, 1, 2]  # 06:00 (died), 07:00, then the retry of 06:00


def test_an_abandoned_retry_is_not_retried_again(
    engine: Engine, runs: Ledger, pump: Pump, moving: clock.ManualClock
) -> None:
    """A retry that dies too is marked abandoned, and no third attempt is made."""

    def always_dies(ctx: JobContext) -> None:
        raise Recycled

    with declared("doomed", always_dies, timeout=timedelta(minutes=5)):
        moving.advance(timedelta(seconds=1))
        with pytest.raises(Recycled):
            engine.on_timer("doomed")  # 06:00 dies
        moving.advance(timedelta(hours=1))
        with pytest.raises(Recycled):
            engine.on_timer("doomed")  # 07:00 finds 06:00 abandoned, queues its retry, dies too
        moving.advance(timedelta(minutes=10))
        with pytest.raises(Recycled):
            pump.once()  # the retry of 06:00 finds 07:00 abandoned, queues its retry, dies
        moving.advance(timedelta(minutes=10))
        with pytest.raises(Recycled):
            pump.once()  # the retry of 07:00 finds the retry of 06:00 abandoned: no third attempt
    every = runs.query(Kind.JOB, "doomed", page_size=50).runs
    retries = {r.detail["retryOf"]: r for r in every if r.trigger == "retry"}
    assert len(retries) == 2
    first_retry = next(r for r in retries.values() if r.detail["slot"] == "2026-12-01T06:00:00Z")
    assert first_retry.status is Status.ABANDONED
    assert first_retry.id not in retries
    assert max(r.attempt for r in every) == 2


def test_a_late_firing_keeps_its_slot_when_the_host_says_which() -> None:
    """With the host's ScheduleStatus.Next, a firing 1.2 s late is for its own slot, not the next."""
    from datetime import UTC, datetime

    from shared.jobs import Schedule

    every_second = Schedule.parse("* * * * * *", setting="X")
    t = datetime(2026, 12, 1, 6, 0, 0, tzinfo=UTC)
    late = t + timedelta(seconds=1.2)
    assert every_second.slot_for(late) == t + timedelta(seconds=1)  # by the clock alone
    assert every_second.slot_for(late, next_due=t + timedelta(seconds=1)) == t
    hourly = Schedule.parse("0 0 * * * *", setting="X")
    early = t - timedelta(seconds=0.6)  # a host whose clock runs early computed Next = t
    assert hourly.slot_for(early, next_due=t) == t
    assert hourly.slot_for(t + timedelta(seconds=0.01), next_due=t + timedelta(hours=1)) == t
