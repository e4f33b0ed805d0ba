"""Built-in job `runs-retention`: deletes ledger runs (and their outputs) older than RUNS_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

from shared.jobs._context import JobContext
from shared.jobs._declare import job


@job("runs-retention", schedule="0 30 3 * * *", timeout=timedelta(minutes=9))
def runs_retention(ctx: JobContext) -> dict[str, object]:
    """Purge runs of every kind older than RUNS_RETENTION_DAYS (default 90)."""
    from shared.jobs._engine import engine
    from shared.runs import retention

    keep = retention()
    removed = engine().runs.purge(older_than=keep)
    ctx.count("purged", removed)
    return {"retentionDays": keep.days, "purged": removed}


JOB = runs_retention
