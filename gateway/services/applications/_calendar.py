"""Chinese working days: public holidays and adjusted working days (调休), and time limits counted in them.

The holiday source is one small interface (`WorkingDays`): `ChineseCalendarDays` reads the
`chinese-calendar` package (the State Council's yearly notices; it covers 2004 to the year of its
release), `NoticeDays` holds notices an operator loads before the package has them (the setting
`working_days_file`), and `OverlaidDays` states single days over another source.

A year no notice covers yet is counted provisionally (`WithProvisional`, `StatutoryDays`): weekends,
the statutory holidays of 《全国年节及纪念日放假办法》 with a make-up weekday for each that falls on a
weekend, and no adjusted working days (调休), which only the notice sets. Answers say when a
deadline rests on the provisional count, so that nobody mistakes it for the official one; loading
the notice makes it official without touching the applications.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "CalendarNotCovered",
    "ChineseCalendarDays",
    "Limit",
    "NoticeDays",
    "OverlaidDays",
    "StatutoryDays",
    "WithProvisional",
    "WorkingDays",
    "add_working_days",
    "calendar_for",
    "is_provisional",
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


@dataclass(frozen=True)
class NoticeDays:
    """The State Council's notices (国务院办公厅关于某年部分节假日安排的通知) for whole years, as an
    operator loads them: the listed holidays are off, the listed adjusted days (调休) are worked,
    and every other day follows the week."""

    years: frozenset[int]
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    sources: tuple[str, ...] = ()

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarNotCovered(f"no notice loaded for {day.year}")
        if day in self.holidays:
            return False
        return day in self.working_days or day.weekday() < 5

    @classmethod
    def from_file(cls, path: Path) -> NoticeDays:
        """A JSON file: {"notices": [{"year", "source", "holidays": [dates], "working_days": [dates]}]};
        ValueError saying what is wrong."""
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
        notices = document.get("notices") if isinstance(document, dict) else None
        if not isinstance(notices, list) or not notices:
            raise ValueError(f'{path}: expected {{"notices": [...]}} with at least one notice')
        years: set[int] = set()
        holidays: set[date] = set()
        working: set[date] = set()
        sources = []
        for number, notice in enumerate(notices, start=1):
            where = f"{path}: notice {number}"
            if not isinstance(notice, dict) or not isinstance(notice.get("year"), int):
                raise ValueError(f"{where}: needs a whole-number year")
            year = notice["year"]
            if year in years:
                raise ValueError(f"{where}: {year} is given twice")
            if not isinstance(notice.get("source"), str) or not notice["source"].strip():
                raise ValueError(f"{where}: needs its source (the notice's title or document number)")
            listed = {kind: _dates(notice.get(kind), f"{where} {kind}", year) for kind in ("holidays", "working_days")}
            if listed["holidays"] & listed["working_days"]:
                raise ValueError(f"{where}: a day is both a holiday and a working day")
            if any(day.weekday() < 5 for day in listed["working_days"]):
                raise ValueError(f"{where}: working_days lists only the Saturdays and Sundays worked (调休)")
            years.add(year)
            holidays |= listed["holidays"]
            working |= listed["working_days"]
            sources.append(notice["source"].strip())
        return cls(frozenset(years), frozenset(holidays), frozenset(working), tuple(sources))


def _dates(value: Any, where: str, year: int) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of dates (YYYY-MM-DD)")
    found = set()
    for text in value:
        try:
            day = date.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(f"{where}: {text!r} is not a date (YYYY-MM-DD)")
        if day.year != year:
            raise ValueError(f"{where}: {text} is not in {year}")
        found.add(day)
    return frozenset(found)


@dataclass(frozen=True)
class FirstCovering:
    """The first source that covers a day (a loaded notice before the package's data)."""

    sources: tuple[WorkingDays, ...]

    def is_working_day(self, day: date) -> bool:
        reasons = []
        for source in self.sources:
            try:
                return source.is_working_day(day)
            except CalendarNotCovered as exc:
                reasons.append(str(exc))
        raise CalendarNotCovered("; ".join(reasons) or f"no source for {day}")


@cache
def _lunar_festivals() -> dict[int, dict[str, date]]:
    text = resources.files("catalogs").joinpath("data/lunar_festivals.json").read_text("utf-8")
    return {
        int(year): {name: date.fromisoformat(day) for name, day in festivals.items()}
        for year, festivals in json.loads(text)["years"].items()
    }


def _qingming(year: int) -> date:
    import chinese_calendar

    [(day, _name)] = [
        term for term in chinese_calendar.get_solar_terms(date(year, 4, 3), date(year, 4, 6)) if term[1] == "清明"
    ]
    return day


@dataclass(frozen=True)
class StatutoryDays:
    """The provisional count for a year without a notice: 《全国年节及纪念日放假办法》 as revised in
    2024 (in force from 2025) — 元旦 1 day, 春节 4 days (除夕 to 正月初三), 清明 1, 劳动节 2 (May 1–2),
    端午 1, 中秋 1, 国庆 3 (Oct 1–3) — and, by its article 6, a weekday off for each of those days that
    falls on a Saturday or Sunday. Adjusted working days cannot be known before the notice."""

    _holidays: dict[int, frozenset[date]] = field(default_factory=dict, compare=False, repr=False)

    def holidays(self, year: int) -> frozenset[date]:
        if year not in self._holidays:
            self._holidays[year] = self._count(year)
        return self._holidays[year]

    @staticmethod
    def _count(year: int) -> frozenset[date]:
        festivals = _lunar_festivals().get(year)
        if festivals is None or year < 2025:
            raise CalendarNotCovered(
                f"no provisional rule for {year} (lunar festival dates 2025 and later are shipped)"
            )
        spring = festivals["spring_festival"]
        days = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2), _qingming(year)}
        days |= {spring + timedelta(days=offset) for offset in range(-1, 3)}
        days |= {festivals["dragon_boat"], festivals["mid_autumn"]}
        days |= {date(year, 10, day) for day in (1, 2, 3)}
        made_up = set()
        for day in sorted(days):
            if day.weekday() >= 5:
                substitute = day + timedelta(days=1)
                while substitute.weekday() >= 5 or substitute in days or substitute in made_up:
                    substitute += timedelta(days=1)
                made_up.add(substitute)
        return frozenset(days | made_up)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays(day.year)


@dataclass(frozen=True)
class WithProvisional:
    """The official sources, and the provisional count where none covers a day."""

    official: WorkingDays
    provisional: WorkingDays

    def is_working_day(self, day: date) -> bool:
        try:
            return self.official.is_working_day(day)
        except CalendarNotCovered:
            return self.provisional.is_working_day(day)

    def is_official(self, day: date) -> bool:
        try:
            self.official.is_working_day(day)
        except CalendarNotCovered:
            return False
        return True


def calendar_for(notice_file: Path | None) -> WithProvisional:
    """The calendar the applications service counts with: loaded notices, the package's data,
    then the provisional count."""
    sources: list[WorkingDays] = [ChineseCalendarDays()]
    if notice_file is not None:
        sources.insert(0, NoticeDays.from_file(notice_file))
    return WithProvisional(official=FirstCovering(tuple(sources)), provisional=StatutoryDays())


def is_provisional(calendar: WorkingDays, day: date) -> bool:
    """True when `day` is counted by the provisional rule rather than an official notice."""
    return isinstance(calendar, WithProvisional) and not calendar.is_official(day)


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
