"""What a job's function gets: its run, its connection and Graph client, counters and a log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import clock

if TYPE_CHECKING:
    from shared.jobs._declare import Job
    from shared.runs import Run

logger = logging.getLogger("shared.jobs")


class JobContext:
    """One execution of a job (a run, or one child of a fanned-out run)."""

    def __init__(
        self,
        job: Job,
        run: Run,
        *,
        connection: str | None,
        unit: str | None = None,
        deadline: datetime | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.job = job
        self.run = run
        self.connection_name = connection
        self.unit = unit
        self.deadline = deadline
        self.counts: dict[str, int] = {}
        self.detail: dict[str, Any] = {}  # small facts for the run's record (`note`)
        self._progress = progress
        self._exit = ExitStack()
        self._graph: Any = None
        self._usage: Any = None

    @property
    def name(self) -> str:
        return self.job.name

    def now(self) -> datetime:
        """The app's clock (tests move it)."""
        return clock.now()

    def setting(self, suffix: str, default: str | None = None) -> str | None:
        """JOB_<NAME>_<SUFFIX> (e.g. ctx.setting("DAYS", "30"))."""
        value = self.job.setting(suffix)
        return value if value is not None else default

    def connection(self) -> Any:
        """The job's `shared.identity.Connection` (configured name; ConfigurationError if unknown)."""
        if not self.connection_name:
            raise RuntimeError(f"job {self.job.name} declares no connection")
        from shared.jobs._connections import open_connection

        return open_connection(self.connection_name)

    @property
    def graph(self) -> Any:
        """The connection's Graph client; its requests and throttling waits are counted for the run."""
        if self._graph is None:
            client = self.connection().graph
            tracking = getattr(client, "tracking", None)
            if tracking is not None:
                self._usage = self._exit.enter_context(tracking())
            self._graph = client
        return self._graph

    @property
    def usage(self) -> Any:
        """The Graph counters so far (None when Graph was not used)."""
        return self._usage

    def count(self, what: str, n: int = 1) -> None:
        """Add `n` to the run's counter `what` (shown in the ledger)."""
        self.counts[what] = self.counts.get(what, 0) + n

    def note(self, key: str, value: Any) -> None:
        """Keep a small JSON fact in the run's `detail` (kept when the run fails, unlike the output)."""
        self.detail[key] = value

    def log(self, message: str, *args: object) -> None:
        """A progress line: the app's log (and the terminal, under `python -m shared.jobs run`)."""
        logger.info("job %s run %s: " + message, self.job.name, self.run.id, *args)
        if self._progress is not None:
            self._progress(message % args if args else message)

    def close(self) -> None:
        """End Graph tracking (the engine calls it when the function returns)."""
        self._exit.close()
