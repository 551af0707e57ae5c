"""Working days: the 2025 National Day holiday and its adjusted working days, uncovered years, round trips."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.services.applications import (
    CalendarNotCovered,
    ChineseCalendarDays,
    OverlaidDays,
    add_working_days,
    working_days_between,
)
from gateway.services.applications._calendar import limit_on

CALENDAR = ChineseCalendarDays()


def test_national_day_2025_and_its_adjusted_working_days() -> None:
    assert CALENDAR.is_working_day(date(2025, 9, 28))  # a Sunday, worked
    assert CALENDAR.is_working_day(date(2025, 10, 11))  # a Saturday, worked
    assert not any(CALENDAR.is_working_day(date(2025, 10, day)) for day in range(1, 9))
    # Received Friday 26 September: 28 Sep, 29, 30, then 9 and 10 October.
    assert add_working_days(CALENDAR, date(2025, 9, 26), 5) == date(2025, 10, 10)
    assert add_working_days(CALENDAR, date(2025, 9, 26), 6) == date(2025, 10, 11)
    assert working_days_between(CALENDAR, date(2025, 9, 26), date(2025, 10, 8)) == 3


def test_a_year_without_data_is_a_clear_error_and_can_be_stated() -> None:
    with pytest.raises(CalendarNotCovered, match="no data for 2099"):
        CALENDAR.is_working_day(date(2099, 1, 5))
    stated = OverlaidDays(CALENDAR, {date(2099, 1, 5): True})
    assert stated.is_working_day(date(2099, 1, 5))
    with pytest.raises(CalendarNotCovered):
        stated.is_working_day(date(2099, 1, 6))


def test_the_clock_stops_during_correction() -> None:
    # Promised 5 days from 2025-09-26; in 补正 from 29 Sep to 10 Oct: 30 Sep, 9, 10 Oct are not counted.
    paused = limit_on(
        CALENDAR,
        received=date(2025, 9, 26),
        promised=5,
        pauses=[(date(2025, 9, 29), date(2025, 10, 10))],
        stopped=None,
        today=date(2025, 10, 13),
    )
    assert paused.paused == 3
    assert paused.used == working_days_between(CALENDAR, date(2025, 9, 26), date(2025, 10, 13)) - 3 == 4
    assert paused.deadline == add_working_days(CALENDAR, date(2025, 9, 26), 8) == date(2025, 10, 14)
    assert paused.early_warning and not paused.overdue
    running = limit_on(
        CALENDAR, received=date(2025, 9, 26), promised=5, pauses=[], stopped=None, today=date(2025, 10, 13)
    )
    assert running.overdue and running.deadline == date(2025, 10, 10)


@settings(max_examples=60, deadline=None)
@given(start=st.dates(min_value=date(2010, 1, 1), max_value=date(2025, 6, 30)), days=st.integers(0, 60))
def test_adding_and_counting_agree(start: date, days: int) -> None:
    end = add_working_days(CALENDAR, start, days)
    assert working_days_between(CALENDAR, start, end) == days
    assert days == 0 or CALENDAR.is_working_day(end)
    assert end - start <= timedelta(days=3 * days + 14)
