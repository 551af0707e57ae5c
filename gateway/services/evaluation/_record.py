"""The session's record and its archive bundle, read from the audit log.

The record (GET .../record) is every event with its audit entry and inclusion proof against one
signed checkpoint, and the other entries of the exchanges that made them (request, response). The
entries say no more than the events (which every venue follows): seat ids, never who sits there.

The archive (GET .../archive, `tongban evaluation archive`) is what the main venue keeps: the same
proven events, the documents, the hash manifest the `archived` entry binds, the members'
certificates and the gateway's keys; `tongban audit check` verifies it offline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from gateway import errors
from gateway.audit import ARCHIVE_FORMAT, manifest_of, prove_entries
from gateway.registry import find_member
from gateway.services.evaluation._manifest import IDENTIFYING_DOCUMENTS, session_documents
from gateway.services.evaluation._rights import SUPERVISE_RIGHT, VENUE_RIGHT
from gateway.services.evaluation._sessions import Handler, Session, _holds, _load, _may_read
from gateway.services.evaluation._states import SessionNotReady
from gateway.services.evaluation.tables import evaluation_events

if TYPE_CHECKING:
    from gateway.audit import TransparencyLog
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["ARCHIVABLE_IN", "build_archive", "read_archive", "read_record"]

ARCHIVABLE_IN: Final = frozenset({"signed", "archived", "aborted"})
_WITHHELD: Final = "it names the experts: for the session's supervisors only"


def _log(runtime: Runtime) -> TransparencyLog:
    if runtime.transparency_log is None:
        raise errors.ServiceUnavailable("this gateway keeps no transparency log: there is no record to prove")
    return runtime.transparency_log


def _events(runtime: Runtime, session_id: str) -> list[dict[str, Any]]:
    """Every event of the session, in order, with the index of its audit entry (None if not kept)."""
    with runtime.database.read() as connection:
        rows = connection.execute(
            select(evaluation_events)
            .where(evaluation_events.c.session_id == session_id)
            .order_by(evaluation_events.c.event_id)
        ).all()
    return [
        {
            "id": row.event_id,
            "kind": row.kind,
            "data": json.loads(row.data),
            "at": row.created_at.isoformat(),
            "audit_index": row.audit_index,
        }
        for row in rows
    ]


def _proven_events(
    log: TransparencyLog, events: list[dict[str, Any]], more: Sequence[int] = ()
) -> tuple[str, list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The checkpoint note, the events each with its proven entry (`audit`), and the proven `more`."""
    indexes = [event["audit_index"] for event in events if event["audit_index"] is not None]
    checkpoint, proven = prove_entries(log, [*indexes, *more])
    out = []
    for event in events:
        index = event.pop("audit_index")
        out.append({**event, "audit": None if index is None else proven[index]})
    return checkpoint.note, out, proven


def _record(runtime: Runtime, session_id: str) -> dict[str, Any]:
    log = _log(runtime)
    events = _events(runtime, session_id)
    event_indexes = {event["audit_index"] for event in events} - {None}
    exchange_ids: list[str] = []
    for index in sorted(event_indexes):
        found = log.entry(index)
        if found is not None and found[0].get("exchange_id") not in exchange_ids:
            exchange_ids.append(found[0]["exchange_id"])
    exchanges = {
        exchange_id: [index for index, _entry in log.entries_for(exchange_id) if index not in event_indexes]
        for exchange_id in exchange_ids
    }
    note, proven_events, proven = _proven_events(
        log, events, [index for indexes in exchanges.values() for index in indexes]
    )
    return {
        "session_id": session_id,
        "origin": log.origin,
        "checkpoint": note,
        "events": proven_events,
        "exchanges": [
            {"exchange_id": exchange_id, "entries": [proven[index] for index in indexes]}
            for exchange_id, indexes in exchanges.items()
        ],
    }


def build_archive(runtime: Runtime, session: Session, *, identities: bool) -> dict[str, Any]:
    """The archive bundle of a session (format tongban-evaluation-archive/1); without `identities`,
    the documents that name the experts are withheld (their digests stay in the manifest)."""
    log = _log(runtime)
    documents = session_documents(session.id, session.document)
    manifest = manifest_of(documents)
    withheld = {} if identities else {name: _WITHHELD for name in sorted(IDENTIFYING_DOCUMENTS & set(documents))}
    note, proven_events, _proven = _proven_events(log, _events(runtime, session.id))
    clients = {event["audit"]["entry"].get("client") for event in proven_events if event["audit"]}
    named = sorted(client for client in clients if isinstance(client, str))
    certificates = {}
    with runtime.database.read() as connection:
        for name in named:
            member = find_member(connection, name)
            if member is not None:
                certificates[name] = member.certificate.pem
    return {
        "format": ARCHIVE_FORMAT,
        "session_id": session.id,
        "state": session.position.state,
        "origin": log.origin,
        "checkpoint": note,
        "events": proven_events,
        "documents": {name: document for name, document in documents.items() if name not in withheld},
        "withheld": withheld,
        "manifest": manifest,
        "certificates": certificates,
        "gateway_keys": runtime.keyring.jwks(),
    }


def read_record(session_id: str) -> Handler:
    """Every event of the session with its audit entry and inclusion proof [organiser, venues, supervisors]."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        await _may_read(runtime, exchange, await runtime.in_thread(read))
        return 200, await runtime.in_thread(_record, runtime, session_id)

    return handle


def read_archive(session_id: str) -> Handler:
    """The archive bundle, once the session has ended [organiser, supervisors, the main venue]."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None

        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        session = await runtime.in_thread(read)
        identities = await _holds(runtime, exchange, SUPERVISE_RIGHT)
        main_venue = exchange.caller.city == session.document["main_venue"]
        if not (
            identities
            or exchange.caller.id == session.organiser
            or (main_venue and await _holds(runtime, exchange, VENUE_RIGHT))
        ):
            raise errors.AccessDenied("only the session's organiser, its main venue and supervisors may archive it")
        if session.position.state not in ARCHIVABLE_IN:
            raise SessionNotReady(
                f"a session is archived once it is signed, archived or aborted, not {session.position.state}"
            )
        return 200, await runtime.in_thread(lambda: build_archive(runtime, session, identities=identities))

    return handle
