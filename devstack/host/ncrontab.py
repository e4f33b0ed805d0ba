"""Timer schedules: NCRONTAB (six fields, seconds first; five also accepted) or a TimeSpan.

All times are UTC, as in Azure unless WEBSITE_TIME_ZONE is set (not supported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from croniter import croniter

from devstack.host.settings import parse_timespan


class Schedule(Protocol):
    """When a timer fires next."""

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (aware, UTC)."""
        ...


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression."""

    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`."""
        fields = len(self.expression.split())
        # croniter wants the seconds field last unless told it comes first (NCRONTAB's order).
        it = croniter(self.expression, moment, second_at_beginning=fields == 6)
        result: datetime = it.get_next(datetime)
        return result


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule ("00:05:00"): every interval since the host started."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        """`moment` plus the interval."""
        return moment + self.interval


def parse_schedule(expression: str) -> Schedule:
    """A schedule from its (already %SETTING%-resolved) text; ValueError when it is neither form."""
    text = expression.strip()
    if ":" in text and " " not in text:
        interval = parse_timespan(text)
        if interval <= timedelta(0):
            raise ValueError(f"TimeSpan schedule must be positive: {expression!r}")
        return IntervalSchedule(interval)
    fields = len(text.split())
    if fields not in (5, 6) or not croniter.is_valid(text, second_at_beginning=fields == 6):
        raise ValueError(
            "schedule is neither a TimeSpan nor an NCRONTAB expression "
            f"({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}): {expression!r}"
        )
    return CronSchedule(text)


def plan_next(schedule: Schedule, due: datetime, now: datetime) -> tuple[datetime, bool]:
    """The next slot after the one `due` that just ran at `now`, and whether slots were skipped.

    A run that outlasts its interval does not queue a burst of catch-up runs: the most recent
    missed slot runs once, as past due, like the Functions host.
    """
    upcoming = schedule.next_after(due)
    skipped = False
    following = schedule.next_after(upcoming)
    while following <= now:
        upcoming, following, skipped = following, schedule.next_after(following), True
    return upcoming, skipped
