"""NCRONTAB schedules with seconds, and the slot a timer firing belongs to.

Azure Functions timers take six fields, `{second} {minute} {hour} {day} {month} {day-of-week}`,
in UTC unless WEBSITE_TIME_ZONE says otherwise (we always use UTC):
https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import ConfigurationError

# A timer may fire a little early on one host (clock skew) or late on a busy one: a firing
# this close to an occurrence belongs to it.
SKEW = timedelta(seconds=1)
# Later than this after its slot, a firing is past due (the host was down or blocked).
LATE_AFTER = timedelta(seconds=60)
MAX_MISSED_COUNTED = 1000


# The host's NCRONTAB fields (https://github.com/atifaziz/NCrontab, CrontabFieldImpl): name, range
# and, for month and day of week, names. Checked here without croniter, whose import (dateutil,
# pytz) would cost the cold start a fifth of azure.functions' own import; croniter computes the
# slots when a timer fires. Accepted is what both the host and croniter accept: `*`, `n`, `a-b`
# (a <= b), each with an optional `/step` (step >= 1), comma lists, and three-letter names.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _value(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    upper = text.upper()
    return names.index(upper) + low if upper in names else None


def _values(text: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | str:
    """The values one field selects, or why it is not a field."""
    out: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = int(step_text) if step_text.isascii() and step_text.isdigit() else 0
        if slash and step < 1:
            return f"'{item}': the step after '/' is a whole number from 1"
        if base == "*":
            first, last = low, high
        else:
            start, dash, end = base.partition("-")
            first_value = _value(start, low, names)
            last_value = _value(end, low, names) if dash else first_value
            if first_value is None or last_value is None:
                return f"'{item}' is not a number{' or a name' if names else ''}"
            if not (low <= first_value <= high and low <= last_value <= high):
                return f"'{item}' is outside {low}-{high}"
            if first_value > last_value:
                return f"'{item}' runs backwards"
            first, last = first_value, (high if slash and not dash else last_value)
        out.update(range(first, last + 1, step or 1))
    return out


def _canonical(fields: list[str]) -> str:
    """Six NCRONTAB fields as croniter must get them, or ConfigurationError's reason (a str).

    Each field becomes the plain list of values it selects (`*` when it selects them all): what
    the host computes, in a form croniter reads without its quirks (it reads `16-16` as every
    hour). A day no selected month has (Feb 30, Apr 31) never comes, whatever the weekdays.
    """
    out: list[str] = []
    selected: list[set[int]] = []
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        values = _values(text, low, high, names)
        if isinstance(values, str):
            raise ValueError(f"{name}: {values}")
        selected.append(values)
        out.append("*" if len(values) == high - low + 1 else ",".join(map(str, sorted(values))))
    days, months = selected[3], selected[4]
    if not any(d <= _LONGEST_MONTH[m - 1] for m in months for d in days):
        raise ValueError("day and month: no selected month has any of the selected days")
    return " ".join(out)


def _iter(expression: str, start: datetime, *, backwards: bool = False) -> Any:
    from croniter import croniter  # imported when a schedule is first used

    # day_or=False: the host (NCrontab's CrontabSchedule.GetNextOccurrence) wants the day AND the
    # day of week to match; croniter's default is classic cron's either-or.
    return croniter(
        expression, start, ret_type=datetime, second_at_beginning=True, is_prev=backwards, day_or=False
    )


@dataclass(frozen=True)
class Schedule:
    """A checked six-field NCRONTAB expression."""

    expression: str
    # The values each field selects, as croniter reads them (`_canonical`).
    canonical: str = field(default="", repr=False, compare=False)

    @classmethod
    def parse(cls, expression: str, *, setting: str) -> Schedule:
        """The schedule `setting` holds; ConfigurationError naming the setting when malformed."""
        text = " ".join(expression.split())
        fields = text.split(" ") if text else []
        example = "e.g. '0 0 6 * * *' (06:00:00 UTC daily) or '*/30 * * * * *' (every 30 s)"
        if ":" in text and len(fields) == 1:
            raise ConfigurationError(
                f"{setting}={expression!r} is a TimeSpan; jobs need an NCRONTAB expression "
                f"with six fields, {example}."
            )
        if len(fields) != 6:
            raise ConfigurationError(
                f"{setting}={expression!r} has {len(fields)} field(s); an NCRONTAB schedule has six "
                f"(second minute hour day month day-of-week), {example}."
            )
        try:
            canonical = _canonical(fields)
        except ValueError as exc:
            raise ConfigurationError(
                f"{setting}={expression!r} is not a valid NCRONTAB expression ({exc}); {example}."
            ) from None
        return cls(text, canonical)

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`."""
        value: datetime = _iter(self.canonical, moment).get_next()
        return value.astimezone(UTC)

    def previous_at_or_before(self, moment: datetime) -> datetime:
        """The last occurrence at or before `moment`."""
        probe = moment + timedelta(microseconds=1)
        value: datetime = _iter(self.canonical, probe, backwards=True).get_prev()
        return value.astimezone(UTC)

    def upcoming(self, moment: datetime, count: int = 3) -> list[datetime]:
        """The next `count` occurrences after `moment`."""
        out: list[datetime] = []
        for _ in range(count):
            moment = self.next_after(moment)
            out.append(moment)
        return out

    def slot_for(self, fired: datetime, *, next_due: datetime | None = None) -> datetime:
        """The occurrence a firing at `fired` is for.

        With the host's ScheduleStatus.Next (`next_due`), the occurrence before it, however late
        the firing came; unless the firing is so close to `next_due` (a host whose clock runs
        early) that it is for `next_due` itself. Without it, the nearest occurrence within the
        skew, else the last one.
        """
        if next_due is not None:
            before = self.previous_at_or_before(next_due - timedelta(microseconds=1))
            if timedelta(0) <= next_due - fired <= min(SKEW, (next_due - before) / 2):
                return self.previous_at_or_before(next_due)
            return before
        after = self.next_after(fired)
        before = self.previous_at_or_before(fired)
        # Early by less than the skew (and nearer to the next slot than to the last): the next slot.
        if after - fired <= min(SKEW, (after - before) / 2):
            return after
        return before

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Occurrences strictly between `start` and `end`."""
        moment = start
        while True:
            moment = self.next_after(moment)
            if moment >= end:
                return
            yield moment

    def missed(self, last: datetime | None, slot: datetime) -> int:
        """How many occurrences fell between the last slot run and `slot` (capped)."""
        if last is None or last >= slot:
            return 0
        count = 0
        for _ in self.between(last, slot):
            count += 1
            if count >= MAX_MISSED_COUNTED:
                break
        return count


def slot_key(slot: datetime) -> str:
    """The ledger key of a slot: its UTC time, ISO 8601 to the second."""
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_slot_key(key: str) -> datetime | None:
    """The slot a key names, or None when the key is not a slot."""
    try:
        return datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
