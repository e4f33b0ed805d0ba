"""The app's one clock: slots, expiry windows, leases and retention all read `now()`.

Tests move time with `use(ManualClock(...))` instead of waiting; production reads the system
clock. Always timezone-aware UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "SystemClock", "now", "use"]


class Clock:
    """Something that tells the time (UTC, aware)."""

    def now(self) -> datetime:
        raise NotImplementedError


class SystemClock(Clock):
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that moves only when told to (thread-safe)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (UTC)")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware)."""
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta`; the new time."""
        with self._lock:
            self._now += delta
            return self._now


_current: Clock = SystemClock()


def now() -> datetime:
    """The current time, from whichever clock is in use."""
    return _current.now()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Use `clock` for the duration of the block (process-wide: tests only)."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
