"""The timer trigger of one job, added to the Functions app by one line in function_app.py."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from shared.jobs._declare import Job


def add_timer(app: Any, job: Job) -> Any:
    """Add `job_<name>`, a timer on %JOB_<NAME>_SCHEDULE% (the declared default when unset).

    `run_on_startup` stays off (it causes extra runs: azure-functions-host#4115); past-due runs
    are the engine's business (the job's catch-up policy), so the schedule monitor stays on.
    """
    import azure.functions as func

    schedule = (
        f"%{job.schedule_setting}%"
        if os.environ.get(job.schedule_setting, "").strip()
        else job.schedule_default
    )
    name = job.name

    # `context`: the host passes the invocation's func.Context; the run's trace hangs under it.
    def handler(timer: func.TimerRequest, context: func.Context) -> None:
        from shared.jobs._engine import engine
        from shared.telemetry import invocation

        with invocation(context):
            engine().on_timer(name, past_due=bool(timer.past_due), next_due=_next_due(timer))

    # The Python worker resolves the handler's annotations (typing.get_type_hints) against this
    # module, where `func` is not a global: give it the types themselves (a `context` parameter
    # must be azure.functions.Context for the worker to pass one).
    handler.__annotations__ = {"timer": func.TimerRequest, "context": func.Context, "return": None}
    handler.__name__ = job.function_name
    handler.__qualname__ = job.function_name
    handler.__doc__ = f"Timer for job {name}: one run per schedule slot (shared.jobs)."
    app.function_name(job.function_name)(
        app.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=False, use_monitor=True)(
            handler
        )
    )
    return handler


def _next_due(timer: Any) -> datetime | None:
    """ScheduleStatus.Next (ISO 8601) as an aware datetime, when the host sent one."""
    status = getattr(timer, "schedule_status", None) or {}
    value = status.get("Next") if isinstance(status, dict) else None
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
