"""Timer schedules: six-field NCRONTAB with seconds, TimeSpans, and past-due planning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.host.ncrontab import CronSchedule, IntervalSchedule, parse_schedule, plan_next

T0 = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)


def test_seconds_come_first() -> None:
    """`*/10 * * * * *` is every ten seconds, not every ten minutes."""
    schedule = parse_schedule("*/10 * * * * *")
    assert schedule.next_after(T0) == T0 + timedelta(seconds=10)


def test_six_field_minutes() -> None:
    """`0 */5 * * * *` is every five minutes at second zero."""
    assert parse_schedule("0 */5 * * * *").next_after(T0 + timedelta(seconds=1)) == T0 + timedelta(minutes=5)


def test_day_of_week_and_hour() -> None:
    """`0 30 9 * * 1-5` is 09:30:00 on weekdays (2026-01-01 is a Thursday)."""
    schedule = parse_schedule("0 30 9 * * 1-5")
    assert schedule.next_after(T0) == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 1, 2, 10, 0, tzinfo=UTC)) == datetime(
        2026, 1, 5, 9, 30, tzinfo=UTC
    )


def test_five_fields_are_minutes() -> None:
    """A classic five-field cron expression is accepted, as the host does."""
    assert isinstance(parse_schedule("*/5 * * * *"), CronSchedule)
    assert parse_schedule("*/5 * * * *").next_after(T0) == T0 + timedelta(minutes=5)


def test_day_and_weekday_must_both_match() -> None:
    """`0 0 9 1-7 * Mon` is the first Monday of the month, as NCrontab has it (not either-or)."""
    schedule = parse_schedule("0 0 9 1-7 * Mon")
    assert schedule.next_after(datetime(2026, 12, 2, tzinfo=UTC)) == datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 12, 7, 9, tzinfo=UTC)) == datetime(2027, 1, 4, 9, tzinfo=UTC)


def test_the_hosts_spellings() -> None:
    """A one-value range, a reversed range, `n/step`, and names by any prefix, as NCrontab reads them."""
    assert parse_schedule("0 0 16-16 * * *").next_after(T0) == datetime(2026, 1, 1, 16, tzinfo=UTC)
    assert parse_schedule("0 0 5-3 * * *").next_after(T0) == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert parse_schedule("50/20 * * * * *").next_after(T0) == T0 + timedelta(seconds=50)
    assert parse_schedule("0 0 0 1 Febr *").next_after(T0) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_schedule("0 0 0 * * sat").next_after(T0) == datetime(2026, 1, 3, tzinfo=UTC)


def test_leap_day() -> None:
    """Feb 29 comes in the next leap year."""
    assert parse_schedule("0 0 0 29 2 *").next_after(T0) == datetime(2028, 2, 29, tzinfo=UTC)


def test_timespan_schedule() -> None:
    """ "00:05:00" runs every five minutes."""
    schedule = parse_schedule("00:05:00")
    assert schedule == IntervalSchedule(timedelta(minutes=5))
    assert schedule.next_after(T0) == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    "text", ["", "every minute", "* * *", "61 * * * * *", "00:00:00", "* * * * * 7", "0 0 0 * Smarch *"]
)
def test_invalid_schedules(text: str) -> None:
    """Anything else is a ValueError (the host turns it into a start failure)."""
    with pytest.raises(ValueError, match=r"."):
        parse_schedule(text)


def test_plan_next_on_time() -> None:
    """A quick run is followed by the next slot, nothing skipped."""
    schedule = parse_schedule("*/10 * * * * *")
    assert plan_next(schedule, T0, T0 + timedelta(seconds=1)) == (T0 + timedelta(seconds=10), False)


def test_plan_next_after_an_overrun_runs_once_past_due() -> None:
    """A run that outlasts several slots is followed by one catch-up run, flagged as skipped (past due)."""
    schedule = parse_schedule("*/10 * * * * *")
    upcoming, skipped = plan_next(schedule, T0, T0 + timedelta(seconds=35))
    assert upcoming == T0 + timedelta(seconds=30)
    assert skipped
