"""NCRONTAB schedules with seconds, and the slot a timer firing belongs to.

Azure Functions timers take six fields, `{second} {minute} {hour} {day} {month} {day-of-week}`,
in UTC unless WEBSITE_TIME_ZONE says otherwise (we always use UTC):
https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import ConfigurationError

# A timer may fire a little early on one host (clock skew) or late on a busy one: a firing
# this close to an occurrence belongs to it.
SKEW = timedelta(seconds=1)
# Later than this after its slot, a firing is past due (the host was down or blocked).
LATE_AFTER = timedelta(seconds=60)
MAX_MISSED_COUNTED = 1000


def _iter(expression: str, start: datetime, *, backwards: bool = False) -> Any:
    from croniter import croniter  # imported when a schedule is first used

    return croniter(expression, start, ret_type=datetime, second_at_beginning=True, is_prev=backwards)


@dataclass(frozen=True)
class Schedule:
    """A checked six-field NCRONTAB expression."""

    expression: str

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
            from croniter import croniter

            valid = croniter.is_valid(text, second_at_beginning=True)
            if valid:
                _iter(text, datetime(2026, 1, 1, tzinfo=UTC)).get_next()
        except (ValueError, KeyError, TypeError, OverflowError):
            valid = False
        if not valid:
            raise ConfigurationError(
                f"{setting}={expression!r} is not a valid NCRONTAB expression; {example}."
            )
        return cls(text)

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`."""
        value: datetime = _iter(self.expression, moment).get_next()
        return value.astimezone(UTC)

    def previous_at_or_before(self, moment: datetime) -> datetime:
        """The last occurrence at or before `moment`."""
        probe = moment + timedelta(microseconds=1)
        value: datetime = _iter(self.expression, probe, backwards=True).get_prev()
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
