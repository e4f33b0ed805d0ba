"""Scheduled jobs: declarations, exactly one effect per slot, on-demand runs, fan-out over queues.

Write a job (README: "Write a job"):

    @job("stale-guests", schedule="0 0 6 * * *", connection="graph", roles={"User.Read.All"})
    def stale_guests(ctx: JobContext) -> dict[str, object]: ...

and add one line to function_app.py: `add_timer(app, stale_guests)`. Importing this package
imports no SDK (declarations are data); the engine (`shared.jobs._engine`) loads storage when a
trigger runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.jobs._context import JobContext
from shared.jobs._declare import Job, JobRegistry, UnknownJob, get_job, job, registry, setting_name
from shared.jobs._schedule import Schedule, slot_key
from shared.jobs._triggers import add_timer

if TYPE_CHECKING:
    from shared.jobs._engine import Engine

__all__ = [
    "Engine",
    "Job",
    "JobContext",
    "JobRegistry",
    "Schedule",
    "UnknownJob",
    "add_timer",
    "engine",
    "get_job",
    "job",
    "registry",
    "setting_name",
    "slot_key",
]


def engine() -> Engine:
    """The process's job engine (imports the storage SDKs on first use)."""
    from shared.jobs._engine import engine as get

    return get()


def __getattr__(name: str) -> object:
    if name == "Engine":
        from shared.jobs._engine import Engine

        return Engine
    raise AttributeError(name)
