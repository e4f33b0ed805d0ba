"""Timer triggers: one thread per function, so one function never runs twice at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from devstack.host.errors import HostStartupError
from devstack.host.indexing import IndexedFunction
from devstack.host.invocation import Invoker, Result
from devstack.host.ncrontab import Schedule, parse_schedule, plan_next
from devstack.host.settings import resolve_expression

logger = logging.getLogger(__name__)

# A timer thread wakes up a few milliseconds late; only lateness beyond this counts as past due.
PAST_DUE_TOLERANCE = timedelta(seconds=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class TimerRunner:
    """Runs one timer function on its schedule until stopped."""

    def __init__(
        self,
        function: IndexedFunction,
        schedule: Schedule,
        invoker: Invoker,
        send_outputs: Callable[[IndexedFunction, Result], None],
        *,
        run_on_startup: bool = False,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.function = function
        self.schedule = schedule
        self._invoker = invoker
        self._send_outputs = send_outputs
        self._run_on_startup = run_on_startup
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)
        self._last: datetime | None = None

    @classmethod
    def for_function(
        cls,
        function: IndexedFunction,
        environ: Mapping[str, str],
        invoker: Invoker,
        send_outputs: Callable[[IndexedFunction, Result], None],
    ) -> TimerRunner:
        """A runner from the trigger's schedule (with %SETTING% resolved) and run_on_startup."""
        settings = function.trigger.settings
        try:
            schedule = parse_schedule(resolve_expression(str(settings.get("schedule") or ""), environ))
        except ValueError as exc:
            raise HostStartupError(f"function '{function.name}': {exc}") from exc
        on_startup = bool(settings.get("runOnStartup"))
        return cls(function, schedule, invoker, send_outputs, run_on_startup=on_startup)

    def start(self) -> None:
        """Start the timer thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling; waits up to `timeout` for a running invocation to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self, due: datetime, upcoming: datetime, past_due: bool) -> None:
        now = self._clock()
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": _iso(self._last or due),
                "Next": _iso(upcoming),
                "LastUpdated": _iso(now),
            },
            schedule={"AdjustForDST": True},
        )
        self._last = now
        try:
            result = self._invoker.invoke(self.function, request, reason=f"Timer fired at {_iso(now)}")
            self._send_outputs(self.function, result)
        except Exception:  # noqa: BLE001 - user code may raise anything; the invoker logged it
            # The host logs the failure and keeps the schedule, as Azure does.
            logger.warning("Timer function '%s' failed; next run as scheduled", self.function.name)

    def _loop(self) -> None:
        now = self._clock()
        due = self.schedule.next_after(now)
        if self._run_on_startup:
            self._run(now, due, past_due=False)
        skipped = False
        logger.info("Timer '%s': next run at %s", self.function.name, _iso(due))
        while not self._stop.is_set():
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                # Sleep in short steps so a clock jump or a stop is noticed promptly.
                self._stop.wait(min(wait, 1.0))
                continue
            now = self._clock()
            upcoming = self.schedule.next_after(due)
            self._run(due, upcoming, past_due=skipped or now - due > PAST_DUE_TOLERANCE)
            due, skipped = plan_next(self.schedule, due, self._clock())
