"""Chinese working days: public holidays and adjusted working days (调休), and time limits counted in them.

The holiday source is one small interface (`WorkingDays`): `ChineseCalendarDays` reads the
`chinese-calendar` package (the State Council's yearly notices; it covers 2004 to the year of its
release), and `OverlaidDays` lets an operator add a year's notice before the package has it. A day
outside every source's data is CalendarNotCovered: a deadline is never guessed from weekends alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

__all__ = [
    "CalendarNotCovered",
    "ChineseCalendarDays",
    "Limit",
    "OverlaidDays",
    "WorkingDays",
    "add_working_days",
    "limit_on",
    "working_days_between",
]

_MAX_SPAN_DAYS = 3 * 366  # no promised limit reaches this far; a safety stop for a broken source


class CalendarNotCovered(LookupError):
    """The holiday source has no data for this day (chinese_calendar's NotImplementedError)."""


class WorkingDays(Protocol):
    def is_working_day(self, day: date) -> bool:
        """True on a working day (weekdays and adjusted Saturdays/Sundays, not public holidays);
        CalendarNotCovered when the source has no data for the day's year."""
        ...


class ChineseCalendarDays:
    """The `chinese-calendar` package's data."""

    def is_working_day(self, day: date) -> bool:
        import chinese_calendar

        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:
            raise CalendarNotCovered(
                f"the holiday calendar has no data for {day.year} ({exc}); "
                "upgrade chinese-calendar or add that year's working days"
            ) from exc


@dataclass(frozen=True)
class OverlaidDays:
    """Days an operator states (True: working, False: holiday) over a base source."""

    base: WorkingDays
    stated: Mapping[date, bool]

    def is_working_day(self, day: date) -> bool:
        if day in self.stated:
            return self.stated[day]
        return self.base.is_working_day(day)


def working_days_between(calendar: WorkingDays, after: date, until: date) -> int:
    """How many working days d with after < d <= until (0 when until <= after)."""
    count, day = 0, after
    while day < until:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def add_working_days(calendar: WorkingDays, start: date, days: int) -> date:
    """The `days`-th working day after `start` (the start day itself does not count)."""
    day, found = start, 0
    for _ in range(_MAX_SPAN_DAYS):
        if found >= days:
            return day
        day += timedelta(days=1)
        found += calendar.is_working_day(day)
    if found >= days:
        return day
    raise CalendarNotCovered(f"no {days} working days within {_MAX_SPAN_DAYS} days after {start}")


@dataclass(frozen=True)
class Limit:
    """Where an application stands against its promised limit, on `today`."""

    deadline: date
    used: int  # working days counted against the limit
    promised: int
    paused: int  # working days the clock stood still (补正)
    running: bool  # False once finished or stopped for good

    @property
    def early_warning(self) -> bool:
        """At 80% of the promised limit (超时预警)."""
        return self.running and self.used * 5 >= self.promised * 4

    @property
    def overdue(self) -> bool:
        return self.running and self.used > self.promised


def limit_on(
    calendar: WorkingDays,
    *,
    received: date,
    promised: int,
    pauses: Iterable[tuple[date, date | None]],
    stopped: date | None,
    today: date,
) -> Limit:
    """The limit counted from the day of receipt (which does not count), without the working days
    spent in 补正 (a pause from its start day, exclusive, to its resumption day, inclusive; an open
    pause runs to today), up to `stopped` (办结 or a final state) or today."""
    end = min(stopped, today) if stopped is not None else today
    paused = sum(working_days_between(calendar, start, min(resumed or end, end)) for start, resumed in pauses)
    used = working_days_between(calendar, received, end) - paused
    deadline = add_working_days(calendar, received, promised + paused)
    return Limit(deadline=deadline, used=used, promised=promised, paused=paused, running=stopped is None)
