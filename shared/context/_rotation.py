"""Each rotating connection's rotation: days left, next rotation date, last rotation run.

The days and dates come from the certificate already loaded (no Key Vault call) and the job's
declaration (schedule, JOB_<NAME>_DAYS); the last run from the run ledger (one Table query per
report, bounded by LEDGER_TIMEOUT_S so a storage outage cannot hold the report). See
docs/identity.md, "Rotation in the context".
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from shared import clock
from shared.config import CredentialKind
from shared.identity import ConnectionFacts

# A certificate this close to expiry with no successful rotation makes the connection degraded.
DEGRADED_WITHIN_DAYS = 7
DEFAULT_DAYS = 30  # JOB_<NAME>_DAYS's default in both rotation jobs
LEDGER_TIMEOUT_S = 3.0
RUNS_READ = 10  # the newest runs of each rotation job looked at
_IGNORED = ("skipped", "duplicate")  # records of runs that did not rotate anything

# Which built-in job rotates which credential kind, and its default threshold in days.
_JOBS: dict[CredentialKind, tuple[str, str]] = {
    CredentialKind.CERTIFICATE: ("certificate-rotation", "shared.jobs.builtin.certificate_rotation"),
    CredentialKind.KEYVAULT_KEY: ("certificate-rotation", "shared.jobs.builtin.certificate_rotation"),
    CredentialKind.CLIENT_SECRET: ("secret-rotation", "shared.jobs.builtin.secret_rotation"),
}


@dataclass(frozen=True)
class RotationRunFacts:
    """One run of the rotation job, as it concerns one connection."""

    id: str
    status: str  # succeeded | failed | pending (at the CA issuer) | running | queued | abandoned
    time: dt.datetime | None  # when it finished (else started, else was created)
    failed_step: str | None  # e.g. rotation:addKey
    reason: str | None  # the run's own (redacted) error message


@dataclass(frozen=True)
class RotationFacts:
    """What the rotation job will do for a connection and what it did last."""

    job: str
    enabled: bool  # the job is enabled and covers this connection
    rotate_within_days: int
    days_left: int | None
    next_rotation: dt.datetime | None
    last_run: RotationRunFacts | None
    last_success: dt.datetime | None
    ledger_error: str | None = None  # the ledger could not be read (the rest still holds)


def job_for(kind: CredentialKind) -> Any:
    """The declared rotation job of a credential kind (None: the kind does not rotate)."""
    found = _JOBS.get(kind)
    if found is None:
        return None
    import importlib

    from shared.jobs._declare import registry

    importlib.import_module(found[1])  # declares the job (light: no SDK import)
    return registry.get(found[0])


def _covers(job: Any, name: str) -> bool:
    if not job.enabled():
        return False
    listed = job.connections()
    return not listed or name.lower() in listed


def _days(job: Any) -> int:
    raw = job.setting("DAYS") or ""
    return int(raw) if raw.isdigit() else DEFAULT_DAYS


def next_rotation(job: Any, not_after: dt.datetime, days: int, now: dt.datetime) -> dt.datetime:
    """The first job slot at or after notAfter - days (or after now, when that is past)."""
    due = max(not_after - dt.timedelta(days=days), now)
    return job.schedule().next_after(due - dt.timedelta(microseconds=1))  # type: ignore[no-any-return]


def _run_facts(run: Any, name: str) -> RotationRunFacts | None:
    """What `run` says about connection `name` (None: the run did not cover it)."""
    status = run.status.value
    if status in _IGNORED:
        return None
    when = run.finished or run.started or run.created
    error = run.error
    detail: Mapping[str, Any] = run.detail or {}
    per = detail.get("rotation")
    if isinstance(per, Mapping):
        mine = per.get(name.lower())
        if not isinstance(mine, Mapping):
            return None
        # failed, or pending: the renewal waits on Key Vault's CA issuer (its step and words kept too)
        stuck = mine.get("status") in ("failed", "pending")
        return RotationRunFacts(
            id=run.id,
            status=str(mine.get("status") or status),
            time=when,
            failed_step=str(mine.get("step")) if stuck and mine.get("step") else None,
            reason=(str(mine.get("message") or "") or None) if stuck else None,
        )
    children = detail.get("children")
    if isinstance(children, Mapping) and isinstance(children.get("units"), Mapping):
        unit = children["units"].get(name.lower())
        if unit is None:
            return None
        failure = (children.get("failures") or {}).get(name.lower()) or {}
        err = failure.get("error") or {}
        return RotationRunFacts(
            id=run.id,
            status=str(unit),
            time=when,
            failed_step=err.get("step"),
            reason=err.get("message"),
        )
    only = detail.get("connection")
    if only and str(only).lower() != name.lower():
        return None
    # A run that ended before it could say (abandoned, killed) or is still going.
    return RotationRunFacts(
        id=run.id,
        status=status,
        time=when,
        failed_step=error.step if error is not None else None,
        reason=error.message if error is not None else None,
    )


class RotationView:
    """The rotation facts of a report's connections; the ledger is read at most once per job."""

    def __init__(self, read_runs: Callable[[str], Sequence[Any]] | None = None) -> None:
        self._read_runs = read_runs or _latest_runs
        self._runs: dict[str, Sequence[Any] | str] = {}
        self._lock = threading.Lock()  # the report's connection threads share one read per job

    def _runs_of(self, job: str) -> Sequence[Any] | str:
        with self._lock:
            if job not in self._runs:
                self._runs[job] = _bounded(lambda: self._read_runs(job))
            return self._runs[job]

    def facts(self, facts: ConnectionFacts) -> RotationFacts | None:
        """The rotation facts of one connection (None for kinds that do not rotate)."""
        job = job_for(facts.credential)
        if job is None:
            return None
        now = clock.now()
        days = _days(job)
        cert = facts.certificate
        runs = self._runs_of(job.name)
        last = success = None
        if not isinstance(runs, str):
            for run in runs:
                found = _run_facts(run, facts.name)
                if found is None:
                    continue
                last = last or found
                if found.status == "succeeded":
                    success = found.time
                    break
        # A certificate's notAfter, or a rotated secret's end (tagged on its Key Vault version).
        due_from = cert.not_after if cert is not None else facts.secret_expires
        return RotationFacts(
            job=job.name,
            enabled=_covers(job, facts.name),
            rotate_within_days=days,
            days_left=(due_from - now).days if due_from is not None else None,
            next_rotation=next_rotation(job, due_from, days, now) if due_from is not None else None,
            last_run=last,
            last_success=success,
            ledger_error=runs if isinstance(runs, str) else None,
        )


def _latest_runs(job: str) -> Sequence[Any]:
    from shared.runs import Kind, ledger

    return ledger().latest(Kind.JOB, job, limit=RUNS_READ)


def _bounded(read: Callable[[], Sequence[Any]]) -> Sequence[Any] | str:
    """`read()` within LEDGER_TIMEOUT_S; our message (never a foreign text) when it fails."""
    from shared.errors import AutomationError

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="context-ledger")
    future = pool.submit(read)
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=LEDGER_TIMEOUT_S)
    except FutureTimeout:
        return f"The run ledger did not answer within {LEDGER_TIMEOUT_S:g} s."
    except AutomationError as exc:  # storage mapped at its boundary; anything else is a bug to see
        return f"The run ledger could not be read: {exc.message}"


def check(rotation: RotationFacts, warnings: list[str]) -> dict[str, object] | None:
    """A diagnosis when the certificate is within DEGRADED_WITHIN_DAYS with no successful
    rotation since (None: fine); warnings for what is merely worth knowing."""
    days = rotation.days_left
    if days is None:
        return None
    last = rotation.last_run
    what = "secret" if rotation.job == "secret-rotation" else "certificate"
    if days <= DEGRADED_WITHIN_DAYS and not (last is not None and last.status == "succeeded"):
        if not rotation.enabled:
            why = f"the {rotation.job} job does not rotate this connection (disabled or not listed)"
            fix = (
                f"Enable the {rotation.job} job for this connection (JOB_*_ENABLED, JOB_*_CONNECTIONS) "
                f"or renew the {what} now."
            )
        elif last is None:
            why = f"no {rotation.job} run is recorded"
            fix = f"Run the job now: POST /api/jobs/{rotation.job}/run (see docs/identity.md)."
        elif last.status == "pending":
            why = f"run {last.id} asked Key Vault for a new version, which its CA issuer has not issued"
            if last.reason:
                why += f" ({last.reason})"
            fix = (
                "Check the issuer's order (Key Vault > Certificates > the certificate > Certificate "
                "Operation; issuer Unknown needs the signed certificate merged); the next run registers it."
            )
        else:
            step = f" at step {last.failed_step}" if last.failed_step else ""
            why = f"the last {rotation.job} run {last.id} {last.status}{step}"
            if last.reason:
                why += f": {last.reason}"
            fix = (
                f"Fix the cause named in the run, then run the job again: POST /api/jobs/{rotation.job}/run."
            )
        problem = f"The {what} expires in {days} day(s) and has not been rotated: {why}."
        return {
            "step": "rotation",
            "status": None,
            "code": "RotationOverdue",
            "outage": False,
            "problem": problem,
            "fix": fix,
        }
    if days < rotation.rotate_within_days:
        if last is not None and last.status == "succeeded":
            warnings.append(
                f"{what} expires in {days} day(s); {rotation.job} run {last.id} succeeded: "
                "this instance picks up the new version on its next Key Vault check"
            )
        elif last is not None and last.status == "pending":
            warnings.append(
                f"{what} expires in {days} day(s); run {last.id} requested a new version, which Key Vault's "
                "CA issuer has not issued yet: the next run registers it once it has"
            )
        else:
            warnings.append(f"{what} expires in {days} day(s); {rotation.job} renews it at its next run")
    return None
