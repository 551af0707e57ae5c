"""Working days: the 2025 National Day holiday and its adjusted working days, uncovered years, round trips."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
from gateway.services.applications._calendar import (
    NoticeDays,
    StatutoryDays,
    calendar_for,
    is_provisional,
    limit_on,
)

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


# A year without the State Council's notice: the statutory rule, provisionally.


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_rule_agrees_with_the_notices_of_the_years_the_package_covers(year: int) -> None:
    """Every day the rule gives off is off in that year's notice, and the year has as many working
    days either way (the notices' adjusted days only move days off, they do not add any)."""
    import chinese_calendar

    statutory = StatutoryDays()
    assert all(chinese_calendar.is_holiday(day) for day in statutory.holidays(year))
    days = [date(year, 1, 1) + timedelta(days=offset) for offset in range(365)]
    assert sum(map(statutory.is_working_day, days)) == sum(map(CALENDAR.is_working_day, days))


def test_the_statutory_rule_for_2027_has_the_spring_festival_and_make_up_days() -> None:
    holidays = StatutoryDays().holidays(2027)
    # 除夕 5 February to 正月初三 8 February; the 6th and 7th fall on a weekend: 9 and 10 are made up.
    assert {date(2027, 2, day) for day in range(5, 11)} <= holidays
    assert date(2027, 2, 11) not in holidays
    assert {date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)} <= holidays  # 清明, 端午, 中秋
    # 2 October is a Saturday and 3 October a Sunday: 4 and 5 October are made up.
    assert {date(2027, 10, day) for day in range(1, 6)} <= holidays and date(2027, 10, 6) not in holidays


def test_a_year_past_the_package_is_counted_provisionally_and_says_so() -> None:
    calendar = calendar_for(None)
    assert not is_provisional(calendar, date(2026, 12, 31))
    assert is_provisional(calendar, date(2027, 1, 5))
    # Received Monday 28 December 2026: 29, 30, 31, (1 January off), 4 and 5 January.
    assert add_working_days(calendar, date(2026, 12, 28), 5) == date(2027, 1, 5)


def _notice_file(tmp_path: Path, notices: Any) -> Path:
    path = tmp_path / "notices.json"
    path.write_text(json.dumps({"notices": notices}), "utf-8")
    return path


def test_a_loaded_notice_is_official_and_comes_before_the_package(tmp_path: Path) -> None:
    notice = {
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知 (a test's own)",
        "holidays": ["2027-01-01", "2027-01-04"],
        "working_days": ["2027-01-09"],
    }
    calendar = calendar_for(_notice_file(tmp_path, [notice]))
    assert not is_provisional(calendar, date(2027, 1, 5))
    assert not calendar.is_working_day(date(2027, 1, 4))
    assert calendar.is_working_day(date(2027, 1, 9))  # a Saturday worked
    assert add_working_days(calendar, date(2026, 12, 28), 5) == date(2027, 1, 6)
    assert not is_provisional(calendar, date(2026, 12, 31))  # the package still answers for 2026
    assert is_provisional(calendar, date(2028, 1, 3))


@pytest.mark.parametrize(
    ("notices", "message"),
    [
        ([], "at least one notice"),
        ([{"year": "2027", "source": "x", "holidays": [], "working_days": []}], "whole-number year"),
        ([{"year": 2027, "holidays": [], "working_days": []}], "needs its source"),
        ([{"year": 2027, "source": "x", "holidays": ["2027-02-30"], "working_days": []}], "is not a date"),
        ([{"year": 2027, "source": "x", "holidays": ["2028-01-01"], "working_days": []}], "is not in 2027"),
        ([{"year": 2027, "source": "x", "holidays": [], "working_days": ["2027-01-05"]}], "only the Saturdays"),
        ([{"year": 2027, "source": "x", "holidays": ["2027-01-09"], "working_days": ["2027-01-09"]}], "both"),
        (
            [{"year": 2027, "source": "x", "holidays": [], "working_days": []}] * 2,
            "given twice",
        ),
    ],
)
def test_a_bad_notice_file_is_refused_saying_what_is_wrong(tmp_path: Path, notices: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NoticeDays.from_file(_notice_file(tmp_path, notices))
