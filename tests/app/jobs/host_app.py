"""A Functions app for the local-host tests: one job ticking every 5 s, declared as function_app does."""

from __future__ import annotations

import os

import azure.functions as func

from shared.jobs import JobContext, add_timer, job

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@job(os.environ.get("HOST_TEST_JOB", "host-tick"), schedule="*/5 * * * * *")
def tick(ctx: JobContext) -> dict[str, str]:
    """Record which host ran the slot."""
    return {"host": os.environ.get("HOST_TEST_NAME", "")}


add_timer(app, tick)
