"""Reading and writing applications, their timeline and ratings (tables.py), in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import Connection, and_, insert, or_, select, update

from gateway import errors
from gateway.services.applications.tables import application_events, application_ratings, applications

__all__ = [
    "LOCAL_TIME",
    "Event",
    "Rating",
    "StoredApplication",
    "add_event",
    "add_rating",
    "find_application",
    "insert_application",
    "list_applications",
    "local_day",
    "mark_forwarded",
    "unforwarded",
]

LOCAL_TIME: Final = timezone(timedelta(hours=8))  # days are counted in China Standard Time


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIME).date()


@dataclass(frozen=True)
class Event:
    seq: int
    state: str
    at: datetime
    by: str
    note: str | None
    exchange_id: str
    audit_index: int | None


@dataclass(frozen=True)
class Rating:
    level: str
    reason: str | None
    at: datetime
    by: str
    audit_index: int | None


@dataclass(frozen=True)
class StoredApplication:
    id: str
    item_code: str
    receiving_city: str
    handling_city: str
    handling_department: str
    submitted_by: str
    applicant_id: str
    document: dict[str, Any]
    state: str
    received_at: datetime
    promised_days: int
    finished_on: date | None
    forwarded_at: datetime | None
    forward_error: str | None
    forward_attempts: int
    result: dict[str, Any] | None
    updated_at: datetime
    events: tuple[Event, ...] = ()
    rating: Rating | None = None

    @property
    def received_on(self) -> date:
        return local_day(self.received_at)


def _application(row: Any, events: tuple[Event, ...] = (), rating: Rating | None = None) -> StoredApplication:
    return StoredApplication(
        id=row.id,
        item_code=row.item_code,
        receiving_city=row.receiving_city,
        handling_city=row.handling_city,
        handling_department=row.handling_department,
        submitted_by=row.submitted_by,
        applicant_id=row.applicant_id,
        document=json.loads(row.document),
        state=row.state,
        received_at=row.received_at,
        promised_days=row.promised_days,
        finished_on=date.fromisoformat(row.finished_on) if row.finished_on else None,
        forwarded_at=row.forwarded_at,
        forward_error=row.forward_error,
        forward_attempts=row.forward_attempts,
        result=json.loads(row.result) if row.result else None,
        updated_at=row.updated_at,
        events=events,
        rating=rating,
    )


def insert_application(connection: Connection, application: StoredApplication, first: Event) -> None:
    connection.execute(
        insert(applications).values(
            id=application.id,
            item_code=application.item_code,
            receiving_city=application.receiving_city,
            handling_city=application.handling_city,
            handling_department=application.handling_department,
            submitted_by=application.submitted_by,
            applicant_id=application.applicant_id,
            document=json.dumps(application.document, ensure_ascii=False, sort_keys=True),
            state=application.state,
            received_at=application.received_at,
            received_on=application.received_on.isoformat(),
            promised_days=application.promised_days,
            finished_on=None,
            forwarded_at=None,
            forward_error=None,
            forward_attempts=0,
            result=None,
            updated_at=application.received_at,
        )
    )
    _insert_event(connection, application.id, first)


def _insert_event(connection: Connection, application_id: str, event: Event) -> None:
    connection.execute(
        insert(application_events).values(
            application_id=application_id,
            seq=event.seq,
            state=event.state,
            at=event.at,
            by_member=event.by,
            note=event.note,
            exchange_id=event.exchange_id,
            audit_index=event.audit_index,
        )
    )


def add_event(
    connection: Connection,
    application_id: str,
    *,
    expected_state: str,
    event: Event,
    finished_on: date | None,
    result: dict[str, Any] | None,
) -> None:
    """Record a state change, if the application still stands where the caller saw it (else 409)."""
    values: dict[str, Any] = {"state": event.state, "updated_at": event.at}
    if finished_on is not None:
        values["finished_on"] = finished_on.isoformat()
    if result is not None:
        values["result"] = json.dumps(result, ensure_ascii=False, sort_keys=True)
    changed = connection.execute(
        update(applications)
        .where(and_(applications.c.id == application_id, applications.c.state == expected_state))
        .values(**values)
    ).rowcount
    if changed != 1:
        raise errors.IllegalTransition(f"application {application_id} changed state meanwhile; read it again")
    _insert_event(connection, application_id, event)


def add_rating(connection: Connection, application_id: str, rating: Rating, exchange_id: str) -> None:
    existing = connection.execute(
        select(application_ratings.c.level).where(application_ratings.c.application_id == application_id)
    ).first()
    if existing is not None:
        raise errors.Conflict(f"application {application_id} has been rated already")
    connection.execute(
        insert(application_ratings).values(
            application_id=application_id,
            level=rating.level,
            reason=rating.reason,
            at=rating.at,
            by_member=rating.by,
            exchange_id=exchange_id,
            audit_index=rating.audit_index,
        )
    )


def mark_forwarded(connection: Connection, application_id: str, *, at: datetime | None, error: str | None) -> None:
    """The outcome of one attempt to hand the application to the handling city."""
    values: dict[str, Any] = {"forward_attempts": applications.c.forward_attempts + 1, "forward_error": error}
    if at is not None:
        values["forwarded_at"] = at
    connection.execute(update(applications).where(applications.c.id == application_id).values(**values))


def _events(connection: Connection, ids: list[str]) -> dict[str, list[Event]]:
    found: dict[str, list[Event]] = {application_id: [] for application_id in ids}
    rows = connection.execute(
        select(application_events)
        .where(application_events.c.application_id.in_(ids))
        .order_by(application_events.c.application_id, application_events.c.seq)
    )
    for row in rows:
        found[row.application_id].append(
            Event(row.seq, row.state, row.at, row.by_member, row.note, row.exchange_id, row.audit_index)
        )
    return found


def _ratings(connection: Connection, ids: list[str]) -> dict[str, Rating]:
    rows = connection.execute(select(application_ratings).where(application_ratings.c.application_id.in_(ids)))
    return {row.application_id: Rating(row.level, row.reason, row.at, row.by_member, row.audit_index) for row in rows}


def find_application(connection: Connection, application_id: str) -> StoredApplication | None:
    row = connection.execute(select(applications).where(applications.c.id == application_id)).first()
    if row is None:
        return None
    events = tuple(_events(connection, [application_id])[application_id])
    return _application(row, events, _ratings(connection, [application_id]).get(application_id))


def list_applications(
    connection: Connection, *, cities: frozenset[str] | None, city: str | None, status: str | None
) -> list[StoredApplication]:
    """Newest first; `cities` (None: every one) are those the caller may see, as receiving or handling city."""
    query = select(applications).order_by(applications.c.received_at.desc(), applications.c.id)
    if cities is not None:
        query = query.where(or_(applications.c.receiving_city.in_(cities), applications.c.handling_city.in_(cities)))
    if city is not None:
        query = query.where(or_(applications.c.receiving_city == city, applications.c.handling_city == city))
    if status is not None:
        query = query.where(applications.c.state == status)
    rows = list(connection.execute(query))
    ids = [row.id for row in rows]
    events: dict[str, list[Event]] = {}
    ratings: dict[str, Rating] = {}
    for start in range(0, len(ids), 500):  # IN lists stay within every database's parameter limit
        chunk = ids[start : start + 500]
        events.update(_events(connection, chunk))
        ratings.update(_ratings(connection, chunk))
    return [_application(row, tuple(events.get(row.id, ())), ratings.get(row.id)) for row in rows]


def unforwarded(connection: Connection, limit: int = 50) -> list[str]:
    """Applications still in the outbox: stored, not yet taken by the handling city."""
    rows = connection.execute(
        select(applications.c.id)
        .where(applications.c.forwarded_at.is_(None))
        .order_by(applications.c.received_at)
        .limit(limit)
    )
    return [row.id for row in rows]
