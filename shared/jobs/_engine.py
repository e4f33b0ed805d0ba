"""Running jobs: exactly one effect per slot, a lease against overlap, retries, fan-out over queues.

Every trigger is at least once (timers fire twice, queues redeliver); every effect is guarded by
a conditional write in the ledger (shared/runs):

    timer     slot = the schedule occurrence the firing belongs to; `begin` (job, slot) once:
              a second firing for the slot, on any host, is recorded as `duplicate` and does nothing.
              Past due (late, or the platform says so): `skip` records it `skipped`; `once` runs it.
    lease     one row per job; a run that finds it held by a live run is `skipped` (timer) or
              waits on the queue (on-demand, retry). An expired lease whose run never finished is
              that run's death: the run is marked `abandoned` and retried once, same slot.
    http      `begin` (job, Idempotency-Key) once; the run is queued on `jobs-runs`.
    fan-out   the parent enqueues one `jobs-units` message per unit (connection or partition);
              each child is a Run under the parent; the child that finishes last finalises the
              parent (a conditional write: only one does). A child that keeps failing goes to
              `jobs-units-poison` after maxDequeueCount and the poison trigger marks it failed.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import clock, telemetry
from shared.errors import AutomationError, ConfigurationError
from shared.jobs._context import JobContext
from shared.jobs._declare import Job, get_job, registry
from shared.jobs._schedule import LATE_AFTER, parse_slot_key, slot_key
from shared.runs import ErrorSummary, GraphUsage, Kind, Ledger, OutputTooLarge, Run, Status, ledger

if TYPE_CHECKING:
    from shared.storage import Account

logger = logging.getLogger(__name__)

RUNS_QUEUE = "jobs-runs"
UNITS_QUEUE = "jobs-units"
LEASES_TABLE = "jobleases"
# An on-demand or retry run that finds the job busy waits on the queue, at most this many times.
MAX_WAITS = 20
MAX_WAIT_SECONDS = 60


class JobDisabled(ConfigurationError):
    """The job is switched off (JOB_<NAME>_ENABLED=false)."""


class RetryLater(AutomationError):
    """A child failed in a way that may pass (an outage): the queue delivers it again."""

    outage = True


@dataclass(frozen=True)
class Outcome:
    """What one call of a job's function produced."""

    status: Status
    output: Any = None
    counts: Mapping[str, int] | None = None
    graph: GraphUsage | None = None
    error: BaseException | None = None
    detail: Mapping[str, Any] | None = None


class Engine:
    """The job runner; one per process (`engine()`), or built on a given ledger in tests."""

    def __init__(self, runs: Ledger | None = None, *, progress: Callable[[str], None] | None = None) -> None:
        self._runs = runs
        self.progress = progress

    @property
    def runs(self) -> Ledger:
        return self._runs or ledger()

    @property
    def store(self) -> Account:
        return self.runs.store

    # -- triggers ------------------------------------------------------------------------------

    def on_timer(self, name: str, *, past_due: bool = False, next_due: datetime | None = None) -> Run | None:
        """A timer fired for job `name`; the run (or skipped/duplicate record) it produced.

        `next_due` is the host's ScheduleStatus.Next (the occurrence after this firing): the slot is
        the one before it, however late the firing came. Without it, the slot nearest to now.
        """
        job = get_job(name)
        if not job.enabled():
            logger.info("job %s is disabled (JOB_*_ENABLED); timer ignored", name)
            return None
        now = clock.now()
        schedule = job.schedule()
        slot = schedule.slot_for(now, next_due=next_due)
        key = slot_key(slot)
        last = next(
            (
                s
                for r in self.runs.latest(Kind.JOB, name, trigger="timer", limit=5)
                if (s := parse_slot_key(r.key))
            ),
            None,
        )
        late = past_due or now - slot > LATE_AFTER
        detail: dict[str, Any] = {"slot": key, "pastDue": late, "missedSlots": schedule.missed(last, slot)}
        if late and job.catch_up == "skip":
            skipped = self.runs.new(
                Kind.JOB,
                name,
                trigger="timer",
                status=Status.SKIPPED,
                key=key,
                finished=now,
                detail={**detail, "reason": "past due; the catch-up policy is skip"},
            )
            claim = self.runs.begin(skipped)
            return claim.run if claim.created else self._duplicate(job, claim.run, key)
        claim = self.runs.begin(
            self.runs.new(Kind.JOB, name, trigger="timer", status=Status.QUEUED, key=key, detail=detail)
        )
        if not claim.created:
            return self._duplicate(job, claim.run, key)
        return self._execute(job, claim.run, busy="skip")

    def request(
        self,
        name: str,
        *,
        idempotency_key: str | None = None,
        caller: str | None = None,
        connection: str | None = None,
    ) -> tuple[Run, bool]:
        """Queue an on-demand run; (run, created). The same Idempotency-Key gives the same run."""
        job = get_job(name)
        if not job.enabled():
            raise JobDisabled(
                f"Job {name} is disabled.", hint=f"Set JOB_{name.upper().replace('-', '_')}_ENABLED=true."
            )
        run = self.runs.new(
            Kind.JOB,
            name,
            trigger="http",
            status=Status.QUEUED,
            key=f"http:{idempotency_key}" if idempotency_key else "",
            caller=caller,
            detail={"connection": connection} if connection else {},
        )
        claim = self.runs.begin(run)
        if claim.created:
            try:
                # The request's span (the host's, docs/telemetry.md): the run's span links to it.
                self.store.enqueue(RUNS_QUEUE, _run_message(name, run.id, telemetry.traceparent()))
            except AutomationError as exc:
                self.runs.finish(claim.run, Status.FAILED, error=exc)
                raise
        return claim.run, claim.created

    def on_run_message(self, body: bytes | str) -> Run | None:
        """A `jobs-runs` message: run the queued run it names (nothing if already final)."""
        message = _message(body, ("job", "run"))
        job = registry.get(message["job"]) if message else None
        if message is None or job is None:
            logger.error("jobs-runs: dropped a message that names no known job or run")
            return None
        run = self.runs.get(Kind.JOB, job.name, message["run"])
        if run is None or run.status.final:
            return run  # purged, or a redelivery of a run that ended
        link = message.get("traceparent")
        with telemetry.linked(link):  # the run's span links to the request (or run) that queued it
            return self._execute(job, run, busy="wait", link=link)

    def on_unit_message(self, body: bytes | str, dequeue_count: int = 1) -> Run | None:
        """A `jobs-units` message: run one child of a fanned-out run; RetryLater to be redelivered."""
        message = _message(body, ("job", "parent", "unit"))
        job = registry.get(message["job"]) if message else None
        if message is None or job is None:
            logger.error("jobs-units: dropped a message that names no known job")
            return None
        parent = self.runs.get(Kind.JOB, job.name, message["parent"])
        if parent is None or parent.status.final:
            return None  # the parent ended (abandoned or purged): its children are moot
        with telemetry.linked(message.get("traceparent")):  # the child's span links to the parent's
            return self._run_unit(job, parent, message["unit"], attempt=dequeue_count, last_try=False)

    def on_unit_poison(self, body: bytes | str) -> Run | None:
        """A message that reached `jobs-units-poison`: its child failed for good; settle the parent."""
        message = _message(body, ("job", "parent", "unit"))
        job = registry.get(message["job"]) if message else None
        if message is None or job is None:
            return None
        parent = self.runs.get(Kind.JOB, job.name, message["parent"])
        if parent is None:
            return None
        child = self.runs.by_key(Kind.JOB, job.name, message["unit"], parent_id=parent.id)
        if child is None:
            child = self.runs.begin(
                self.runs.new(
                    Kind.JOB,
                    job.name,
                    trigger="queue",
                    status=Status.QUEUED,
                    key=message["unit"],
                    parent_id=parent.id,
                    detail={"unit": message["unit"]},
                )
            ).run
        if not child.status.final:
            last = f" Last error: {child.error.message}" if child.error else ""
            self.runs.finish(
                child,
                Status.FAILED,
                error=ErrorSummary.text(
                    "Poisoned",
                    f"Gave up after the queue's maxDequeueCount deliveries; the message is in "
                    f"{UNITS_QUEUE}-poison.{last}",
                    code=child.error.code if child.error else None,
                ),
                detail={"poisoned": True},
            )
        return self._settle(job, parent)

    def run_now(self, name: str, *, connection: str | None = None) -> Run:
        """Run a job once, here and now (children inline): what `python -m shared.jobs run` does."""
        job = get_job(name)
        run = self.runs.begin(
            self.runs.new(
                Kind.JOB,
                name,
                trigger="cli",
                status=Status.QUEUED,
                detail={"connection": connection} if connection else {},
            )
        ).run
        result = self._execute(job, run, busy="skip", inline=True)
        return result or run

    # -- execution -----------------------------------------------------------------------------

    def _duplicate(self, job: Job, holder: Run, key: str) -> Run:
        return self.runs.record(
            self.runs.new(
                Kind.JOB,
                job.name,
                trigger="timer",
                status=Status.DUPLICATE,
                finished=clock.now(),
                detail={"slot": key, "duplicateOf": holder.id},
            )
        )

    def _execute(
        self, job: Job, run: Run, *, busy: str, inline: bool = False, link: str | None = None
    ) -> Run | None:
        now = clock.now()
        holder = f"{run.id}/{secrets.token_hex(4)}"
        lease = self.store.lease(
            LEASES_TABLE, f"job.{job.name}", holder, now=now, until=now + job.timeout, run=run.id
        )
        if lease.taken_over and lease.previous is not None:
            self._abandoned(job, str(lease.previous.get("run") or ""))
            if lease.previous.get("run") == run.id:
                # This is a redelivery of the run that died: its retry is queued already.
                self.store.release(LEASES_TABLE, lease)
                return self.runs.get(Kind.JOB, job.name, run.id)
        if not lease.acquired:
            running = lease.holder.split("/", 1)[0]
            if busy == "wait" and int(run.detail.get("waits", 0)) < MAX_WAITS:
                waited = self.runs.save(
                    run.evolve(detail={**run.detail, "waits": int(run.detail.get("waits", 0)) + 1})
                )
                delay = max(1, min(MAX_WAIT_SECONDS, int((lease.expires - now).total_seconds()) + 1))
                # Still the same queued work: the message keeps the link it came with.
                self.store.enqueue(RUNS_QUEUE, _run_message(job.name, run.id, link), delay_seconds=delay)
                return waited
            return self.runs.finish(
                run,
                Status.SKIPPED,
                detail={"reason": "overlap: another run of this job holds its lease", "runningRun": running},
            )
        started = self.runs.save(
            run.evolve(status=Status.RUNNING, started=now, deadline=now + job.timeout, detail={**run.detail})
        )
        if started is None:  # someone else moved it (another delivery): leave it to them
            self.store.release(LEASES_TABLE, lease)
            return self.runs.get(Kind.JOB, job.name, run.id)
        connection = run.detail.get("connection")
        if job.fans_out and not connection:
            # The parent's span: its children's messages carry it, their spans link to it.
            with telemetry.run_span(started) as span:
                parent = self._fan_out(job, started, inline=inline)
                span.set(run_status=parent.status.value if parent else None)
            return parent
        outcome = self._call(job, started, connection=connection or _first(job.connections()), unit=None)
        done = self._record(started, outcome)
        # Released only on a normal return: if the process dies (or the host stops it) the
        # lease stays until it expires, and whoever takes it over records the run as abandoned.
        self.store.release(LEASES_TABLE, lease)
        return done

    def _call(self, job: Job, run: Run, *, connection: str | None, unit: str | None) -> Outcome:
        ctx = JobContext(
            job, run, connection=connection, unit=unit, deadline=run.deadline, progress=self.progress
        )
        # One trace per run (docs/telemetry.md); a no-op when telemetry is off.
        with telemetry.run_span(run, connection=connection, job_unit=unit) as span:
            try:
                output = job.function(ctx)
                status, error = Status.SUCCEEDED, None
            except Exception as exc:
                if not isinstance(exc, AutomationError):
                    logger.exception("job %s run %s failed", job.name, run.id)
                output, status, error = None, Status.FAILED, exc
                span.failed(exc)
            usage = GraphUsage.of(ctx.usage) if ctx.usage is not None else None
            ctx.close()
            span.set(run_status=status.value)
        if isinstance(error, AutomationError) and error.status == 403 and job.roles and connection:
            error = _diagnosed(job, connection, error)
        return Outcome(status, output, dict(ctx.counts), usage, error, dict(ctx.detail))

    def _record(self, run: Run, outcome: Outcome) -> Run | None:
        status, error = outcome.status, outcome.error
        if outcome.output is not None and status is Status.SUCCEEDED:
            try:
                run = run.evolve(output=self.runs.write_output(run, outcome.output))
            except OutputTooLarge as exc:
                status, error = Status.FAILED, exc
        done = self.runs.finish(
            run, status, counts=outcome.counts, graph=outcome.graph, error=error, detail=outcome.detail
        )
        if done is None:
            logger.warning(
                "job %s run %s ended after another writer changed it (abandoned?)", run.name, run.id
            )
        return done

    def _abandoned(self, job: Job, run_id: str) -> None:
        dead = self.runs.get(Kind.JOB, job.name, run_id) if run_id else None
        if dead is None or dead.status.final:
            return
        timeout = int(job.timeout.total_seconds())
        marked = self.runs.finish(
            dead,
            Status.ABANDONED,
            error=ErrorSummary.text(
                "Abandoned",
                f"No result {timeout} s (the job's timeout) after it started: the instance "
                "running it stopped (recycled, scaled in or redeployed).",
            ),
        )
        if marked is None or dead.attempt >= 2:
            return
        slot = dead.detail.get("slot")
        retry = self.runs.new(
            Kind.JOB,
            job.name,
            trigger="retry",
            status=Status.QUEUED,
            key=f"retry:{dead.key or dead.id}",
            attempt=dead.attempt + 1,
            caller=dead.caller,
            detail={
                k: v
                for k, v in {
                    "slot": slot,
                    "retryOf": dead.id,
                    "connection": dead.detail.get("connection"),
                }.items()
                if v
            },
        )
        claim = self.runs.begin(retry)
        if claim.created:
            # Links to the invocation that found the run abandoned (no run span is open yet).
            self.store.enqueue(RUNS_QUEUE, _run_message(job.name, retry.id, telemetry.traceparent()))
            logger.warning("job %s run %s abandoned; retry %s queued", job.name, dead.id, retry.id)

    # -- fan-out -------------------------------------------------------------------------------

    def _fan_out(self, job: Job, parent: Run, *, inline: bool) -> Run | None:
        if job.units is not None:
            ctx = JobContext(job, parent, connection=_first(job.connections()), progress=self.progress)
            units = list(dict.fromkeys(job.units(ctx)))
        else:
            units = job.connections()
        saved = self.runs.save(parent.evolve(detail={**parent.detail, "children": {"total": len(units)}}))
        if saved is None:
            return None
        link = telemetry.traceparent()  # the parent run's span (ids only), None when telemetry is off
        for unit in units:
            message = {
                "job": job.name,
                "parent": parent.id,
                "unit": unit,
                **({"traceparent": link} if link else {}),
            }
            if inline:
                self._run_unit(job, saved, unit, attempt=1, last_try=True)
            else:
                self.store.enqueue(UNITS_QUEUE, message)
        return self._settle(job, saved) if inline or not units else saved

    def _run_unit(self, job: Job, parent: Run, unit: str, *, attempt: int, last_try: bool) -> Run | None:
        claim = self.runs.begin(
            self.runs.new(
                Kind.JOB,
                job.name,
                trigger="queue",
                status=Status.RUNNING,
                key=unit,
                parent_id=parent.id,
                attempt=attempt,
                detail={"unit": unit},
            )
        )
        child = claim.run
        if not claim.created:
            if child.status.final:
                return self._settle(job, parent)  # a redelivery of a child that ended
            moved = self.runs.save(child.evolve(status=Status.RUNNING, attempt=attempt, started=clock.now()))
            if moved is None:
                return None
            child = moved
        over_connections = job.units is None
        connection = (
            unit if over_connections else parent.detail.get("connection") or _first(job.connections())
        )
        outcome = self._call(job, child, connection=connection, unit=None if over_connections else unit)
        error = outcome.error
        retryable = error is not None and (not isinstance(error, AutomationError) or error.outage)
        if retryable and not last_try:
            assert error is not None
            self.runs.save(
                child.evolve(status=Status.QUEUED, error=ErrorSummary.of(error), counts=outcome.counts or {})
            )
            raise RetryLater(
                f"child {unit} of {job.name} run {parent.id} failed (attempt {attempt}); the queue retries it"
            ) from error
        self._record(child, outcome)
        return self._settle(job, parent)

    def _settle(self, job: Job, parent: Run) -> Run | None:
        """Finalise `parent` once all its children are final (whoever sees it first wins)."""
        fresh = self.runs.get(Kind.JOB, job.name, parent.id)
        if fresh is None or fresh.status.final:
            return fresh
        total = int((fresh.detail.get("children") or {}).get("total", 0))
        children = self.runs.children(fresh)
        done = [c for c in children if c.status.final]
        if len(done) < total:
            return fresh
        failed = {c.key: c for c in done if c.status is not Status.SUCCEEDED}
        counts: dict[str, int] = {}
        graph = GraphUsage()
        outputs: dict[str, Any] = {}
        for child in sorted(done, key=lambda c: c.key):
            for k, v in child.counts.items():
                counts[k] = counts.get(k, 0) + v
            graph = graph + child.graph
            data = self.runs.read_output(child)
            outputs[child.key] = json.loads(data) if data else None
        breakdown = {
            "total": total,
            "succeeded": total - len(failed),
            "failed": len(failed),
            "units": {c.key: c.status.value for c in sorted(done, key=lambda c: c.key)},
            "failures": {
                k: {"status": c.status.value, **({"error": c.to_dict()["error"]} if c.error else {})}
                for k, c in sorted(failed.items())
            },
        }
        aggregate = job.aggregate or _default_aggregate
        result = fresh.evolve(output=None)
        try:
            result = fresh.evolve(output=self.runs.write_output(fresh, aggregate(outputs)))
        except OutputTooLarge as exc:
            failed = failed or {"(output)": fresh}
            error_summary: ErrorSummary | None = ErrorSummary.of(exc)
        else:
            error_summary = (
                ErrorSummary.text(
                    "ChildrenFailed",
                    f"{len(failed)} of {total} children failed: {', '.join(sorted(failed))}.",
                )
                if failed
                else None
            )
        final = self.runs.finish(
            result,
            Status.FAILED if failed else Status.SUCCEEDED,
            counts=counts,
            graph=graph,
            error=error_summary,
            detail={"children": breakdown},
        )
        if final is not None:
            self._release_for(job, final)
        return final or self.runs.get(Kind.JOB, job.name, parent.id)

    def _release_for(self, job: Job, run: Run) -> None:
        row = self.store.get(LEASES_TABLE, "lease", f"job.{job.name}")
        if row is not None and row.get("run") == run.id:
            self.store.delete(LEASES_TABLE, "lease", f"job.{job.name}", etag=row.etag)


def _diagnosed(job: Job, connection: str, error: AutomationError) -> AutomationError:
    """A 403 with the roles the job declares and the connection's token lacks, named in the hint."""
    from shared.jobs._connections import open_connection
    from shared.permissions import compare

    try:
        claims = open_connection(connection).token(job.resource).claims
    except AutomationError:
        return error  # the token itself fails: the original error says why
    missing = compare(claims.get("roles") or [], {r: [job.name] for r in job.roles}).missing
    if missing:
        error.hint = (
            f"Connection {connection} lacks {', '.join(missing)} (job {job.name} declares them): "
            "grant the application permission(s) and admin consent."
        )
        error.code = error.code or "MissingRoles"
    return error


def _default_aggregate(outputs: Mapping[str, Any]) -> Any:
    return {"children": dict(outputs)}


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _run_message(job: str, run_id: str, link: str | None) -> dict[str, str]:
    """A `jobs-runs` message: the job and run, and the traceparent to link to (telemetry on only)."""
    return {"job": job, "run": run_id, **({"traceparent": link} if link else {})}


def _message(body: bytes | str, fields: tuple[str, ...]) -> dict[str, str] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(f), str) and data[f] for f in fields):
        return None
    # A message may carry the span that queued it (docs/telemetry.md, "Links across queues");
    # an older message has none and is processed all the same.
    extra = {"traceparent": data["traceparent"]} if isinstance(data.get("traceparent"), str) else {}
    return {**{f: data[f] for f in fields}, **extra}


_engine: Engine | None = None


def engine() -> Engine:
    """The process's engine (on the process's ledger)."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine
