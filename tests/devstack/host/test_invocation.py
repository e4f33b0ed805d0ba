"""Invocations are bounded by host.json's functionTimeout: a stuck function never holds a thread forever."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from devstack.host.indexing import index_app
from devstack.host.invocation import FunctionTimeoutError, Invoker


def test_async_function_past_its_timeout_fails_the_invocation(tmp_path: Path) -> None:
    """An async function still running at functionTimeout fails with the host's wording, on time."""
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="timer", schedule="00:05:00")
    async def stuck(timer: func.TimerRequest) -> None:
        await asyncio.sleep(30)

    invoker = Invoker(tmp_path, function_timeout_s=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(FunctionTimeoutError, match=r"Timeout value of 0\.3 s was exceeded by function"):
            invoker.invoke(index_app(app)[0], TimerRequest(past_due=False), "Timer fired")
        assert time.monotonic() - started < 3
    finally:
        invoker.close()
