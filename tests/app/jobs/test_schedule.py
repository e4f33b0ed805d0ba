"""NCRONTAB checking without croniter: what the host and croniter both run is accepted, and the
next occurrence is always one every field selects (the day AND the weekday, as the host has it)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ConfigurationError
from shared.jobs._schedule import _FIELDS, Schedule, _values


@st.composite
def _field(draw: st.DrawFn, index: int) -> str:
    _, low, high, names = _FIELDS[index]
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["*", "value", "range", "name"] if names else ["*", "value", "range"]))
        if kind == "*":
            item = "*"
        elif kind == "name":
            item = (
                draw(st.sampled_from(names)).lower() if draw(st.booleans()) else draw(st.sampled_from(names))
            )
        else:
            first = draw(st.integers(low, high))
            item = f"{first}-{draw(st.integers(first, high))}" if kind == "range" else str(first)
        if draw(st.booleans()):
            item += f"/{draw(st.integers(1, high - low + 1))}"
        items.append(item)
    return ",".join(items)


@st.composite
def _expression(draw: st.DrawFn) -> str:
    fields = [draw(_field(i)) for i in range(6)]
    fields[3] = draw(st.sampled_from(["*", fields[3]]))  # keep most day/month pairs possible
    return " ".join(fields)


@settings(max_examples=300, deadline=None)
@given(_expression(), st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_what_the_check_accepts_croniter_runs_on_the_selected_values(
    expression: str, start: datetime
) -> None:
    """Every accepted expression has a next occurrence, and each of its parts is a selected value."""
    try:
        schedule = Schedule.parse(expression, setting="JOB_X_SCHEDULE")
    except ConfigurationError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:  # only a day no selected month has may be refused: every field was drawn valid
        assert "no selected month has any of the selected days" in refused
        return
    moment = start.replace(tzinfo=UTC)
    nxt = schedule.next_after(moment)
    assert nxt > moment
    parts = (nxt.second, nxt.minute, nxt.hour, nxt.day, nxt.month, (nxt.weekday() + 1) % 7)
    fields = expression.split(" ")
    selected = [
        _values(text, low, high, names) for text, (_, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    for index in (0, 1, 2, 4):
        assert parts[index] in selected[index], (expression, nxt)
    # The host's rule (NCrontab): the day AND the day of week, not classic cron's either-or.
    assert parts[3] in selected[3], (expression, nxt)
    assert parts[5] in selected[5], (expression, nxt)
    before = schedule.previous_at_or_before(nxt)
    assert before == nxt


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("61 * * * * *", "second: '61' is outside 0-59"),
        ("0 0 25 * * *", "hour: '25' is outside 0-23"),
        ("0 0 0 0 * *", "day: '0' is outside 1-31"),
        ("0 0 0 * 13 *", "month: '13' is outside 1-12"),
        ("0 0 0 * * 7", "day-of-week: '7' is outside 0-6"),
        ("*/0 * * * * *", "second: '*/0': the step after '/' is a whole number from 1"),
        ("0 5-1 * * * *", "minute: '5-1' runs backwards"),
        ("1,,2 * * * * *", "second: '' is not a number"),
        ("0 0 0 L * *", "day: 'L' is not a number"),
        ("0 0 0 * * 1#2", "day-of-week: '1#2' is not a number or a name"),
        ("0 0 0 ? * *", "day: '?' is not a number"),
        ("0 0 0 * JANUARY *", "month: 'JANUARY' is not a number or a name"),
        ("0 0 0 31 2 *", "day and month: no selected month has any of the selected days"),
        ("0 0 0 30,31 2 *", "no selected month has any of the selected days"),
        ("0 0 0 \u0661 * *", "day: '\u0661' is not a number"),  # an Arabic-Indic one: a digit, not ASCII
    ],
)
def test_refusals_name_the_field_and_the_setting(expression: str, says: str) -> None:
    """Each refused field is named with why, in a message that names the setting."""
    with pytest.raises(ConfigurationError) as caught:
        Schedule.parse(expression, setting="JOB_NIGHTLY_SCHEDULE")
    assert caught.value.message.startswith(f"JOB_NIGHTLY_SCHEDULE={expression!r} is not a valid NCRONTAB")
    assert f"({says}" in caught.value.message or says in caught.value.message


def test_day_and_weekday_both_match_as_on_the_host() -> None:
    """'1-7 * MON' is the first Monday of each month (NCrontab), not every day 1-7 and every Monday."""
    first_monday = Schedule.parse("0 0 9 1-7 * MON", setting="X")
    assert first_monday.upcoming(datetime(2026, 12, 2, tzinfo=UTC), 3) == [
        datetime(2026, 12, 7, 9, tzinfo=UTC),
        datetime(2027, 1, 4, 9, tzinfo=UTC),
        datetime(2027, 2, 1, 9, tzinfo=UTC),
    ]


def test_a_range_of_one_value_is_that_value() -> None:
    """'16-16' is hour 16 only (croniter on its own reads it as every hour)."""
    at_four = Schedule.parse("0 0 16-16 * * *", setting="X")
    assert at_four.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 16, tzinfo=UTC)


def test_leap_day_and_names_are_accepted() -> None:
    """Feb 29 comes in leap years; month and day names are three letters, any case."""
    leap = Schedule.parse("0 0 0 29 2 *", setting="X")
    assert leap.next_after(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)
    named = Schedule.parse("0 0 9 * jan-Mar MON-FRI", setting="X")
    assert named.next_after(datetime(2026, 3, 31, 10, tzinfo=UTC)) == datetime(2027, 1, 1, 9, tzinfo=UTC)


def test_declaring_the_app_imports_no_croniter() -> None:
    """Indexing function_app checks every schedule without importing croniter (the cold start)."""
    code = "import sys, function_app; function_app.app.get_functions(); print('croniter' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
