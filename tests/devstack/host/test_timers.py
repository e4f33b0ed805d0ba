"""Timer runs: run_on_startup, past_due after an overrun, and never two runs of one function at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.functions as func

from devstack.host.indexing import IndexedFunction, index_app
from devstack.host.invocation import Invoker, Result
from devstack.host.ncrontab import IntervalSchedule
from devstack.host.timers import TimerRunner


def _timer_function(calls: list[dict[str, Any]], duration: float) -> IndexedFunction:
    app = func.FunctionApp()
    running = threading.Semaphore(1)

    @app.timer_trigger(arg_name="timer", schedule="00:00:01")
    def tick(timer: func.TimerRequest) -> None:
        overlapped = not running.acquire(blocking=False)
        calls.append({"pastDue": timer.past_due, "overlapped": overlapped, "at": time.monotonic()})
        time.sleep(duration)
        if not overlapped:
            running.release()

    return index_app(app)[0]


def _ignore(function: IndexedFunction, result: Result) -> None:
    return None


def test_run_on_startup_then_overruns_are_past_due(tmp_path: Path) -> None:
    """The startup run is not past due; runs that outlast the 100 ms interval make the next one past due."""
    calls: list[dict[str, Any]] = []
    function = _timer_function(calls, duration=0.35)
    runner = TimerRunner(
        function,
        IntervalSchedule(timedelta(milliseconds=100)),
        Invoker(tmp_path),
        _ignore,
        run_on_startup=True,
    )
    runner.start()
    time.sleep(1.3)
    runner.stop()
    assert len(calls) >= 3
    assert calls[0]["pastDue"] is False
    assert any(c["pastDue"] for c in calls[1:])
    assert not any(c["overlapped"] for c in calls)


def test_schedule_from_setting(tmp_path: Path) -> None:
    """`%SETTING%` in the schedule resolves from the settings given."""
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="timer", schedule="%EVERY%")
    def tick(timer: func.TimerRequest) -> None:
        return None

    runner = TimerRunner.for_function(index_app(app)[0], {"EVERY": "00:05:00"}, Invoker(tmp_path), _ignore)
    assert runner.schedule == IntervalSchedule(timedelta(minutes=5))
