"""Declaring a job: data registered when its module is imported, run lazily.

    from datetime import timedelta
    from shared.jobs import JobContext, job

    @job("stale-guests", connection="graph", roles={"User.Read.All"}, timeout=timedelta(minutes=5))
    def stale_guests(ctx: JobContext) -> dict[str, object]:
        ...                     # ctx.graph, ctx.count(...), ctx.log(...); the return value is the output

Settings (NAME upper-cased, '-' -> '_'): JOB_<NAME>_SCHEDULE (six-field NCRONTAB, UTC; the
timer trigger reads it as %JOB_<NAME>_SCHEDULE%), JOB_<NAME>_CONNECTION (overrides the declared
connection), JOB_<NAME>_CONNECTIONS (several, comma-separated: the job fans out, one queue
message per connection), JOB_<NAME>_ENABLED (default true). Declaring registers the roles with
shared.permissions, so GET /api/context shows them as required. No SDK is imported here.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from shared.errors import ConfigurationError
from shared.jobs._schedule import Schedule
from shared.permissions import GRAPH, require

if TYPE_CHECKING:
    from shared.jobs._context import JobContext

CatchUp = Literal["skip", "once"]
JobFunction = Callable[["JobContext"], Any]
UnitsFunction = Callable[["JobContext"], Iterable[str]]
AggregateFunction = Callable[[Mapping[str, Any]], Any]

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
_FALSE = {"0", "false", "no", "off"}


def setting_name(job_name: str, suffix: str) -> str:
    """`JOB_<NAME>_<SUFFIX>` for a job name."""
    return f"JOB_{job_name.upper().replace('-', '_')}_{suffix}"


@dataclass(frozen=True)
class Job:
    """One declared job. `units` (optional) splits a run into children, one queue message each."""

    name: str
    function: JobFunction
    schedule_default: str
    connection: str | None = None
    roles: frozenset[str] = frozenset()
    resource: str = GRAPH
    timeout: timedelta = timedelta(minutes=10)
    catch_up: CatchUp = "skip"
    description: str = ""
    units: UnitsFunction | None = None
    aggregate: AggregateFunction | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    # Off until JOB_<NAME>_ENABLED turns it on: a job that needs more than least privilege.
    enabled_default: bool = True

    @property
    def function_name(self) -> str:
        """The Functions name of its timer trigger (`job_<name>` with underscores)."""
        return "job_" + self.name.replace("-", "_")

    @property
    def schedule_setting(self) -> str:
        return setting_name(self.name, "SCHEDULE")

    def setting(self, suffix: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The value of JOB_<NAME>_<SUFFIX>, stripped, or None when unset."""
        value = (environ if environ is not None else os.environ).get(setting_name(self.name, suffix))
        return value.strip() if value and value.strip() else None

    def schedule(self, environ: Mapping[str, str] | None = None) -> Schedule:
        """The schedule from JOB_<NAME>_SCHEDULE (the declared default when unset)."""
        raw = self.setting("SCHEDULE", environ)
        return Schedule.parse(
            raw if raw is not None else self.schedule_default, setting=self.schedule_setting
        )

    def enabled(self, environ: Mapping[str, str] | None = None) -> bool:
        """JOB_<NAME>_ENABLED (false/0/no/off turn it off, anything else on), else the declared default."""
        raw = self.setting("ENABLED", environ)
        return self.enabled_default if raw is None else raw.lower() not in _FALSE

    def connections(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Its connection(s): JOB_<NAME>_CONNECTIONS, else JOB_<NAME>_CONNECTION, else the declared one."""
        many = self.setting("CONNECTIONS", environ)
        if many:
            return [c.strip().lower() for c in many.split(",") if c.strip()]
        one = self.setting("CONNECTION", environ) or self.connection
        return [one.lower()] if one else []

    @property
    def fans_out(self) -> bool:
        return self.units is not None or len(self.connections()) > 1


class JobRegistry:
    """The declared jobs by name (thread-safe: modules may be imported from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def add(self, declared: Job) -> Job:
        """Register a job: checks its name and schedule setting, declares its roles."""
        if not _NAME.match(declared.name):
            raise ValueError(
                f"job name {declared.name!r}: 3-42 lower-case letters, digits and '-', starting with a letter"
            )
        if declared.catch_up not in ("skip", "once"):
            raise ValueError(f"job {declared.name}: catch_up is 'skip' or 'once', not {declared.catch_up!r}")
        # A malformed schedule fails at start (import), naming the setting, not at the first tick.
        declared.schedule()
        with self._lock:
            existing = self._jobs.get(declared.name)
            if existing is not None and existing.function is not declared.function:
                raise ValueError(f"job {declared.name!r} is declared twice")
            self._jobs[declared.name] = declared
        # A job that is off needs nothing: /api/context asks for no role on its behalf.
        if declared.roles and declared.enabled():
            for connection in declared.connections() or []:
                require(connection, declared.resource, roles=declared.roles, by=f"job:{declared.name}")
        return declared

    def remove(self, name: str) -> None:
        """Forget a job (tests)."""
        with self._lock:
            self._jobs.pop(name, None)

    def get(self, name: str) -> Job | None:
        with self._lock:
            return self._jobs.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._jobs)

    def all(self) -> list[Job]:
        with self._lock:
            return [self._jobs[n] for n in sorted(self._jobs)]


registry = JobRegistry()


def job(
    name: str,
    *,
    schedule: str,
    connection: str | None = None,
    roles: Iterable[str] = (),
    resource: str = GRAPH,
    timeout: timedelta = timedelta(minutes=10),
    catch_up: CatchUp = "skip",
    units: UnitsFunction | None = None,
    aggregate: AggregateFunction | None = None,
    description: str = "",
    enabled: bool = True,
) -> Callable[[JobFunction], Job]:
    """Declare a job (a decorator); `schedule` is the default for JOB_<NAME>_SCHEDULE."""

    def register(function: JobFunction) -> Job:
        return registry.add(
            Job(
                name=name,
                function=function,
                schedule_default=schedule,
                connection=connection,
                roles=frozenset(roles),
                resource=resource,
                timeout=timeout,
                catch_up=catch_up,
                units=units,
                aggregate=aggregate,
                description=description or (function.__doc__ or "").strip().split("\n")[0],
                enabled_default=enabled,
            )
        )

    return register


def get_job(name: str) -> Job:
    """The job called `name`; ConfigurationError listing the declared ones when unknown."""
    found = registry.get(name)
    if found is None:
        raise UnknownJob(name, registry.names())
    return found


class UnknownJob(ConfigurationError):
    """No job of that name is declared."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"No job named {name!r}; declared jobs: {', '.join(known) or 'none'}.")
        self.name = name
