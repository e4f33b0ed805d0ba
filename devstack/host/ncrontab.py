"""Timer schedules: NCRONTAB (six fields, seconds first; five also accepted) or a TimeSpan.

All times are UTC, as in Azure unless WEBSITE_TIME_ZONE is set (not supported here). The
expression is read as the host's NCrontab reads it (https://github.com/atifaziz/NCrontab,
CrontabFieldImpl and CrontabSchedule): comma lists of `*`, `n` or `a-b` (swapped when reversed),
each with an optional `/step` (`n/step` runs from n to the field's end); month and weekday names
by any prefix of their English name, any case; and an occurrence needs the day AND the weekday
to match, not classic cron's either-or.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from devstack.host.settings import parse_timespan

_MONTHS = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
]
_WEEKDAYS = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]
# second, minute, hour, day, month, day of week: (low, high, names)
_FIELDS: tuple[tuple[int, int, list[str]], ...] = (
    (0, 59, []),
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, _MONTHS),
    (0, 6, _WEEKDAYS),
)
_HORIZON_DAYS = 366 * 8  # Feb 29 on a given weekday comes back within 28 years; far enough here


class Schedule(Protocol):
    """When a timer fires next."""

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (aware, UTC)."""
        ...


def _value(text: str, low: int, names: list[str]) -> int:
    if text[:1].isdigit():
        return int(text)
    for index, name in enumerate(names):
        if text and name.startswith(text.upper()):
            return index + low
    raise ValueError(f"{text!r} is not a value of this field")


def _field(text: str, low: int, high: int, names: list[str]) -> frozenset[int]:
    """The values one NCRONTAB field selects; ValueError as the host refuses it."""
    out: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = max(int(step_text), 1) if slash else 1
        if base == "*":
            first, last = low, high
        elif "-" in base[1:]:
            start, _, end = base.partition("-")
            first, last = sorted((_value(start, low, names), _value(end, low, names)))
        else:
            first = _value(base, low, names)
            last = high if slash else first
        if first < low or last > high:
            raise ValueError(f"{item!r} is outside {low}-{high}")
        out.update(range(first, last + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression and the values each of its six fields selects."""

    expression: str
    fields: tuple[frozenset[int], ...]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) == 5:  # five fields: minutes first, second 0
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ValueError(f"{len(parts)} fields")
        return cls(expression, tuple(_field(t, *f) for t, f in zip(parts, _FIELDS, strict=True)))

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`."""
        seconds, minutes, hours, days, months, weekdays = self.fields
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(_HORIZON_DAYS):
            # isoweekday(): Monday 1 .. Sunday 7; NCrontab: Sunday 0 .. Saturday 6.
            if day.month in months and day.day in days and day.isoweekday() % 7 in weekdays:
                for hour in sorted(h for h in hours if day.replace(hour=h) + timedelta(hours=1) > start):
                    for minute in sorted(minutes):
                        for second in sorted(seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ValueError(f"{self.expression!r} has no occurrence in {_HORIZON_DAYS} days")


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
    try:
        return CronSchedule.parse(text)
    except ValueError as exc:
        raise ValueError(
            "schedule is neither a TimeSpan nor an NCRONTAB expression "
            f"({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}): {expression!r} ({exc})"
        ) from None


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
