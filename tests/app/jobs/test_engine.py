"""On-demand runs, fan-out and poison, declarations and bad input, against Azurite."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from shared import clock
from shared.errors import AuthenticationFailedError, ConfigurationError, IdentityUnavailableError
from shared.jobs import Job, JobContext, UnknownJob, registry
from shared.jobs._engine import Engine, JobDisabled
from shared.jobs.builtin import runs_retention
from shared.permissions import registry as permissions
from shared.runs import Kind, Ledger, Status
from shared.storage import Account
from tests.app.jobs.support import Pump, declared


def _report(ctx: JobContext) -> dict[str, str | None]:
    ctx.count("seen")
    return {"connection": ctx.connection_name}


def test_same_idempotency_key_twice_is_one_run(engine: Engine, runs: Ledger, pump: Pump) -> None:
    """Two on-demand requests with one Idempotency-Key queue one run, which runs once."""
    calls: list[str] = []
    with declared("on-demand", lambda ctx: calls.append(ctx.run.id)):
        first, created = engine.request("on-demand", idempotency_key="abc", caller="ops")
        again, created_again = engine.request("on-demand", idempotency_key="abc", caller="ops")
        other, _ = engine.request("on-demand")
        assert first.status is Status.QUEUED
        pump.drain()
    assert created
    assert not created_again
    assert again.id == first.id
    assert sorted(calls) == sorted([first.id, other.id])
    done = runs.get(Kind.JOB, "on-demand", first.id)
    assert done is not None
    assert done.status is Status.SUCCEEDED
    assert done.trigger == "http"
    assert done.caller == "ops"


def test_a_redelivered_run_message_runs_nothing_twice(engine: Engine, runs: Ledger, pump: Pump) -> None:
    """A run message delivered again after its run ended changes nothing."""
    calls: list[int] = []
    with declared("redelivered", lambda ctx: calls.append(1)):
        run, _ = engine.request("redelivered")
        pump.drain()
        engine.on_run_message(json.dumps({"job": "redelivered", "run": run.id}))
    assert calls == [1]


def test_fan_out_over_five_connections_with_one_broken(engine: Engine, runs: Ledger, pump: Pump) -> None:
    """Four children succeed, the broken one fails with its diagnosis, the parent fails with a breakdown."""

    def per_tenant(ctx: JobContext) -> dict[str, str | None]:
        if ctx.connection_name == "tenant-c":
            raise AuthenticationFailedError(
                "Graph refused: the connection's token has no Application.Read.All role.",
                step="graph",
                status=403,
                code="Authorization_RequestDenied",
                hint="Grant Application.Read.All to tenant-c's app and consent.",
            )
        return _report(ctx)

    names = "tenant-a,tenant-b,tenant-c,tenant-d,tenant-e"
    with declared("fleet", per_tenant), pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_FLEET_CONNECTIONS", names)
        parent, _ = engine.request("fleet")
        pump.drain()
        final = runs.get(Kind.JOB, "fleet", parent.id)
        children = runs.children(parent)
        output = runs.read_output(final) if final else None
    assert final is not None
    assert final.status is Status.FAILED
    breakdown = final.detail["children"]
    assert breakdown["total"] == 5
    assert breakdown["succeeded"] == 4
    assert breakdown["failed"] == 1
    failure = breakdown["failures"]["tenant-c"]["error"]
    assert failure["code"] == "Authorization_RequestDenied"
    assert "Application.Read.All" in failure["hint"]
    assert final.error is not None
    assert "tenant-c" in final.error.message
    assert final.counts == {"seen": 4}
    assert sorted(c.key for c in children if c.status is Status.SUCCEEDED) == [
        "tenant-a",
        "tenant-b",
        "tenant-d",
        "tenant-e",
    ]
    assert output is not None
    assert json.loads(output)["children"]["tenant-a"] == {"connection": "tenant-a"}


def test_a_child_that_keeps_failing_is_poisoned_and_the_parent_says_so(
    engine: Engine, runs: Ledger, pump: Pump
) -> None:
    """A child failing with an outage is retried, poisoned after maxDequeueCount, and the parent fails."""
    attempts: list[int] = []

    def flaky(ctx: JobContext) -> None:
        if ctx.connection_name == "down":
            attempts.append(ctx.run.attempt)
            raise IdentityUnavailableError("identity endpoint answered 503", status=503)

    with declared("flaky", flaky), pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_FLAKY_CONNECTIONS", "up,down")
        parent, _ = engine.request("flaky")
        pump.drain()
        final = runs.get(Kind.JOB, "flaky", parent.id)
    assert attempts == [1, 2, 3]  # maxDequeueCount is 3 in this pump
    assert len(pump.poisoned) == 1
    assert final is not None
    assert final.status is Status.FAILED
    failure = final.detail["children"]["failures"]["down"]["error"]
    assert failure["type"] == "Poisoned"
    assert "maxDequeueCount" in failure["message"]
    assert "503" in failure["message"]
    assert final.detail["children"]["units"] == {"down": "failed", "up": "succeeded"}


def test_units_split_one_job_into_partitions(engine: Engine, runs: Ledger, pump: Pump) -> None:
    """A job with `units` runs one child per partition and aggregates their outputs its way."""

    def part(ctx: JobContext) -> int:
        return int(ctx.unit or 0) * 10

    with declared(
        "partitions", part, units=lambda ctx: ["1", "2", "3"], aggregate=lambda outs: sum(outs.values())
    ):
        parent, _ = engine.request("partitions")
        pump.drain()
        final = runs.get(Kind.JOB, "partitions", parent.id)
    assert final is not None
    assert final.status is Status.SUCCEEDED
    assert json.loads(runs.read_output(final) or b"") == 60


def test_oversized_output_fails_the_run_with_the_setting_named(storage: Account, pump: Pump) -> None:
    """An output larger than RUNS_OUTPUT_MAX_BYTES fails the run and says which setting limits it."""
    small = Engine(Ledger(storage, output_limit=100))
    with declared("big", lambda ctx: {"x": "y" * 500}):
        run = small.run_now("big")
    assert run.status is Status.FAILED
    assert run.error is not None
    assert "RUNS_OUTPUT_MAX_BYTES" in run.error.message
    assert run.output is None


def test_disabled_job_refuses_on_demand_runs_and_ignores_timers(engine: Engine, runs: Ledger) -> None:
    """JOB_<NAME>_ENABLED=false: on-demand runs raise JobDisabled, timer firings record nothing."""
    with declared("switched-off", _report), pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_SWITCHED_OFF_ENABLED", "false")
        with pytest.raises(JobDisabled, match="JOB_SWITCHED_OFF_ENABLED"):
            engine.request("switched-off")
        assert engine.on_timer("switched-off") is None
    assert runs.query(Kind.JOB, "switched-off").runs == []


def test_unknown_job_names_the_declared_ones(engine: Engine) -> None:
    """An unknown job name raises UnknownJob listing the jobs that exist."""
    with declared("known-one", _report), pytest.raises(UnknownJob, match="known-one"):
        engine.request("nope")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0 0 6 * *", "5 field"),
        ("00:05:00", "TimeSpan"),
        ("0 0 25 * * *", "not a valid NCRONTAB"),
        ("every day", "2 field"),
    ],
)
def test_malformed_schedule_setting_fails_at_declaration_naming_it(value: str, says: str) -> None:
    """A malformed JOB_<NAME>_SCHEDULE fails when the job is declared (at start), naming the setting."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_BAD_SCHEDULE_SCHEDULE", value)
        with pytest.raises(ConfigurationError, match="JOB_BAD_SCHEDULE_SCHEDULE") as caught:
            registry.add(Job(name="bad-schedule", function=_report, schedule_default="0 0 6 * * *"))
    assert says in str(caught.value)
    assert registry.get("bad-schedule") is None


def test_declared_roles_show_as_required_for_each_connection() -> None:
    """A job's roles are registered for its connection(s), by `job:<name>`."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_ROLES_DEMO_CONNECTIONS", "one,two")
        with declared("roles-demo", _report, roles=frozenset({"Application.Read.All"})):
            for name in ("one", "two"):
                assert permissions.for_connection(name)["graph"]["Application.Read.All"] == (
                    "job:roles-demo",
                )


def test_local_run_runs_inline_with_children(storage: Account) -> None:
    """`run_now` runs a fanned-out job here, children included, and stores its output."""
    local = Engine(Ledger(storage))
    with declared("local", _report), pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_LOCAL_CONNECTIONS", "x,y")
        run = local.run_now("local")
    assert run.status is Status.SUCCEEDED
    assert run.trigger == "cli"
    assert run.detail["children"]["units"] == {"x": "succeeded", "y": "succeeded"}
    assert "JOB_LOCAL_CONNECTIONS" not in os.environ


def test_upcoming_slots_follow_the_schedule_setting() -> None:
    """The schedule read from JOB_<NAME>_SCHEDULE gives the next three slots in UTC."""
    with declared("every-ten", _report, schedule="*/10 * * * * *") as job:
        start = clock.now().replace(second=1, microsecond=0)
        upcoming = job.schedule().upcoming(start)
    assert [u - start for u in upcoming] == [timedelta(seconds=s) for s in (9, 19, 29)]


def test_runs_retention_job_purges_old_runs(storage: Account, moving: clock.ManualClock) -> None:
    """The built-in runs-retention job deletes runs older than RUNS_RETENTION_DAYS and keeps newer ones."""
    from shared.jobs._engine import engine as process_engine

    with declared("old-news", _report):
        old = process_engine().run_now("old-news")
        moving.advance(timedelta(days=10))
        recent = process_engine().run_now("old-news")
        moving.advance(timedelta(days=25))
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RUNS_RETENTION_DAYS", "30")
            cleanup = process_engine().run_now("runs-retention")
        runs = process_engine().runs
        assert runs.get(Kind.JOB, "old-news", old.id) is None
        assert runs.get(Kind.JOB, "old-news", recent.id) is not None
    assert cleanup.status is Status.SUCCEEDED
    assert cleanup.counts["purged"] >= 1
    assert runs_retention.JOB.name == "runs-retention"


def test_an_opt_in_job_is_off_needs_no_role_until_its_setting_turns_it_on() -> None:
    """A job declared `enabled=False` is off and asks for no role until JOB_<NAME>_ENABLED=true."""
    from shared.jobs._declare import job

    with pytest.MonkeyPatch.context() as env:
        env.setenv("JOB_OPT_IN_DEMO_CONNECTION", "opt")
        env.delenv("JOB_OPT_IN_DEMO_ENABLED", raising=False)
        off = job("opt-in-demo", schedule="0 0 6 * * *", roles={"Directory.Read.All"}, enabled=False)(_report)
        try:
            assert not off.enabled()
            assert "Directory.Read.All" not in permissions.for_connection("opt").get("graph", {})
            env.setenv("JOB_OPT_IN_DEMO_ENABLED", "true")
            assert off.enabled()
            assert not off.enabled({"JOB_OPT_IN_DEMO_ENABLED": "off"})
        finally:
            registry.remove("opt-in-demo")
