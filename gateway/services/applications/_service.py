"""The service's state in a running gateway (the calendar, the catalogue lookup) and its background
task: the outbox's retries and the deadline metric.

Warnings on an application (`warnings`: early_warning at 80% of the promised working days, overdue
past them) are evaluated on read, against the runtime's clock, so an answer is never stale. The
background task re-evaluates every open application each `SWEEP_SECONDS` for the Prometheus gauge
`tongban_applications_attention{handling_city, kind}` (labels from closed sets: the catalogue's
cities, and early_warning | overdue), and hands unforwarded applications over again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from prometheus_client import Gauge

import catalogs
from catalogs.service_items import ServiceItem
from gateway import errors
from gateway.services.applications import _store
from gateway.services.applications._calendar import (
    CalendarNotCovered,
    ChineseCalendarDays,
    WorkingDays,
)
from gateway.services.applications._rules import limit_of
from gateway.services.applications._states import CLOCK_STOPPED, TERMINAL
from gateway.services.catalog import item_by_code

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["ATTENTION", "Applications", "SWEEP_SECONDS", "applications_state", "sweep", "run_background", "setup"]

_log = logging.getLogger(__name__)
SWEEP_SECONDS: Final = 10.0
_KINDS: Final = ("early_warning", "overdue")

ATTENTION = Gauge(
    "tongban_applications_attention",
    "Open applications past 80% of their promised working days (early_warning) or past them (overdue), "
    "by handling city",
    ["handling_city", "kind"],
    multiprocess_mode="max",  # every worker counts the same rows of the shared database
)


@dataclass
class Applications:
    """What the operations share in one process."""

    calendar: WorkingDays

    async def item(self, runtime: Runtime, code: str) -> ServiceItem | None:
        """The item as the loaded catalogue holds it (the catalogue service's lookup)."""

        def read() -> ServiceItem | None:
            with runtime.database.read() as connection:
                return item_by_code(connection, code)

        return await runtime.in_thread(read)


def setup(runtime: Runtime) -> Applications:
    return Applications(calendar=ChineseCalendarDays())


def applications_state(runtime: Runtime) -> Applications:
    state = runtime.services.get("applications")
    if state is None:  # a runtime built without the app factory (scripts, some tests)
        state = runtime.services["applications"] = setup(runtime)
    assert isinstance(state, Applications)
    return state


async def sweep(runtime: Runtime) -> Counter[tuple[str, str]]:
    """One pass: the outbox handed over again, and the gauge set from every open application."""
    from gateway.services.applications._operations import forward_application

    def read() -> tuple[list[str], list[_store.StoredApplication]]:
        with runtime.database.read() as connection:
            waiting = _store.unforwarded(connection)
            found = _store.list_applications(connection, cities=None, city=None, status=None)
        return waiting, found

    waiting, found = await runtime.in_thread(read)
    if runtime.partners is not None:
        for application_id in waiting:
            await forward_application(runtime, application_id)
    state = applications_state(runtime)
    today = _store.local_day(runtime.clock.now())
    counts: Counter[tuple[str, str]] = Counter()
    for application in found:
        if application.state in TERMINAL or application.finished_on or application.state in CLOCK_STOPPED:
            continue
        try:
            limit = limit_of(application, state.calendar, today)
        except CalendarNotCovered:
            continue
        if limit.overdue:
            counts[(application.handling_city, "overdue")] += 1
        elif limit.early_warning:
            counts[(application.handling_city, "early_warning")] += 1
    for city in catalogs.cities():
        for kind in _KINDS:
            ATTENTION.labels(handling_city=city.region, kind=kind).set(counts[(city.region, kind)])
    return counts


async def run_background(runtime: Runtime) -> None:
    while True:
        try:
            await sweep(runtime)
        except errors.TongbanError as exc:
            _log.warning("the applications sweep failed (%s); trying again", exc.code)
        except Exception:  # the sweep must outlive a passing database hiccup
            _log.exception("the applications sweep failed; trying again")
        await asyncio.sleep(SWEEP_SECONDS)
