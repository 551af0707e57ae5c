"""Evaluation sessions: creation, the state machine's transitions, the expert draw, check-in at the
venues, declarations and replacement from the reserve. Each change is one write that moves the
session's version on (so two changes never interleave), appends its events to the session's log,
and is audited with the session's id.

Who may do what (rights, gateway/services/evaluation/__init__.py):

    evaluation.organise   create sessions, draw the committee, move the state, replace experts
    evaluation.venue      check experts in and take their declarations, at the caller's own city's venue
    evaluation.supervise  see who the experts are (everyone else sees seat ids: E1, E2, ... T1)

A session is read (and its events followed) by its organiser, a supervisor, or a venue member of
one of its venues.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

import httpx
from sqlalchemy import Connection, delete, func, insert, select, update

import catalogs
import trust
from gateway import errors
from gateway.exchange import Exchange, Message
from gateway.operations import AnsweredByTheGateway, json_reply, whole_number
from gateway.services.evaluation._disclosure import award_published, public_identity
from gateway.services.evaluation._draw import ALGORITHM, draw, seed_commitment, snapshot_digest
from gateway.services.evaluation._event_signatures import signed_event
from gateway.services.evaluation._live import event_written, notify_event
from gateway.services.evaluation._manifest import archive_binding
from gateway.services.evaluation._rights import ORGANISE_RIGHT, SUPERVISE_RIGHT, VENUE_RIGHT
from gateway.services.evaluation._states import FLOW, SessionNotReady, StatePosition, move
from gateway.services.evaluation._suspension import mark_suspension, resume_window
from gateway.services.evaluation.tables import evaluation_events, evaluation_sessions, evaluation_sittings
from gateway.stages.audit import audit_event

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.storage import Database

__all__ = [
    "ORGANISE_RIGHT",
    "SUPERVISE_RIGHT",
    "VENUE_RIGHT",
    "EvaluationOperation",
    "Handler",
    "check_in",
    "create_session",
    "declare",
    "deviations",
    "draw_committee",
    "follow_events",
    "read_events",
    "read_session",
    "replace_seat",
    "submit_scores",
    "session_state",
    "transition",
]


MAX_BODY_BYTES: Final = 64 * 1024
MAX_COMMITTEE: Final = 25
DEFAULT_RECENT_DAYS: Final = 90
# States in which a seat's expert may still be replaced from the reserve (before bid documents unlock).
POLL_SECONDS: Final = 0.2  # how soon an event written by any gateway process reaches a waiting venue
DEFAULT_WAIT_SECONDS: Final = 20
MAX_WAIT_SECONDS: Final = 25
RECONNECT_MILLISECONDS: Final = 500  # the SSE `retry`: how soon EventSource asks again
# 技术分, 商务分, 价格分: the usual split under the comprehensive evaluation method (综合评估法).
DEFAULT_CRITERIA: Final = (
    {"code": "technical", "max": 60},
    {"code": "commercial", "max": 30},
    {"code": "price", "max": 10},
)
DEVIATION_SHARE: Final = 0.2  # a score further than 20 % of the criterion's full marks from the others' mean
REPLACEABLE_IN: Final = frozenset({"committee_drawn", "checking_in", "committee_complete", "declarations"})


class ConcurrentChange(errors.Conflict):
    code = "evaluation.concurrent_change"
    title = "The evaluation session changed meanwhile"


# ---- reading a request body -----------------------------------------------------------------------


def _body(exchange: Exchange) -> dict[str, Any]:
    try:
        payload = trust.parse_json(exchange.request.body or b"null")
    except trust.JsonRejected as exc:
        raise errors.InvalidContent(f"the body must be a JSON object: {exc.reason}") from exc
    if not isinstance(payload, dict):
        raise errors.InvalidContent("the body must be a JSON object")
    return payload


def _only(payload: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(payload) - allowed
    if unknown:
        raise errors.InvalidContent(f"unknown fields: {', '.join(sorted(unknown))}")


def _text(payload: dict[str, Any], name: str, *, high: int = 200) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > high:
        raise errors.InvalidContent(f"`{name}` must be a string of 1 to {high} characters")
    return value


def _city(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) != 6 or not value.isascii() or not value.isdigit():
        raise errors.InvalidContent(f"`{name}` must be a six-digit GB/T 2260 code (a city's trading centre)")
    return value


def _identified(value: Any, where: str, id_field: str, validate: Callable[[str], None]) -> dict[str, str]:
    """{"name", <id_field>} with the code checked by `validate` (catalogs' GB 32100 or GB 11643 check)."""
    if not isinstance(value, dict):
        raise errors.InvalidContent(f"`{where}` must be an object with `name` and `{id_field}`")
    _only(value, {"name", id_field})
    code = value.get(id_field)
    try:
        validate(code)  # type: ignore[arg-type]
    except catalogs.CatalogError as exc:
        raise errors.InvalidContent(f"`{where}.{id_field}`: {exc}") from exc
    return {"name": _text(value, "name", high=200), id_field: str(code)}


def _organisation(value: Any, where: str) -> dict[str, str]:
    return _identified(value, where, "credit_code", catalogs.validate_uscc)


def _representative(value: Any, index: int) -> dict[str, str]:
    return _identified(value, f"tenderer_representatives[{index}]", "id_number", catalogs.validate_resident_id)


def _whole(payload: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.InvalidContent(f"`{name}` must be a whole number from {low} to {high}")
    return value


def _session_document(payload: dict[str, Any]) -> dict[str, Any]:
    """The session's parameters from a creation request, checked (InvalidContent says what is wrong)."""
    _only(
        payload,
        {
            "project_code", "title", "tenderer", "bidders", "main_venue", "secondary_venues", "committee_size",
            "tenderer_representatives", "specialties", "evaluation_at", "avoid_recent_days", "criteria",
            "supervising_department",
        },
    )  # fmt: skip
    size = _whole(payload, "committee_size", None, 5, MAX_COMMITTEE)
    if size % 2 == 0:
        raise errors.InvalidContent("`committee_size` must be odd (at least 5), so that a vote cannot tie")
    representatives_in = payload.get("tenderer_representatives", [])
    if not isinstance(representatives_in, list):
        raise errors.InvalidContent("`tenderer_representatives` must be an array")
    representatives = [_representative(value, index) for index, value in enumerate(representatives_in)]
    if 3 * len(representatives) > size:
        raise errors.InvalidContent(
            f"at most a third of the committee may represent the tenderer: {size // 3} of {size}, "
            f"not {len(representatives)}"
        )
    bidders_in = payload.get("bidders")
    if not isinstance(bidders_in, list) or not bidders_in or len(bidders_in) > 200:
        raise errors.InvalidContent("`bidders` must be an array of 1 to 200 organisations")
    bidders = [_organisation(value, f"bidders[{index}]") for index, value in enumerate(bidders_in)]
    main = _city(payload.get("main_venue"), "main_venue")
    secondary_in = payload.get("secondary_venues", [])
    if not isinstance(secondary_in, list) or len(secondary_in) > 20:
        raise errors.InvalidContent("`secondary_venues` must be an array of at most 20 venues")
    secondary = [_city(value, f"secondary_venues[{index}]") for index, value in enumerate(secondary_in)]
    if len({main, *secondary}) != 1 + len(secondary):
        raise errors.InvalidContent("each venue may be named once, the main venue not among the secondary ones")
    specialties_in = payload.get("specialties")
    known = catalogs.code_table("evaluation_specialty").canonical_codes
    if (
        not isinstance(specialties_in, list)
        or not 1 <= len(specialties_in) <= size
        or len(set(map(str, specialties_in))) != len(specialties_in)
        or any(value not in known for value in specialties_in)
    ):
        raise errors.InvalidContent(
            f"`specialties` must be 1 to {size} different codes of catalogs: evaluation_specialty ({', '.join(known)})"
        )
    evaluation_at = _text(payload, "evaluation_at", high=40)
    try:
        when = datetime.fromisoformat(evaluation_at)
    except ValueError as exc:
        raise errors.InvalidContent("`evaluation_at` must be an ISO 8601 time with its offset") from exc
    if when.utcoffset() is None:
        raise errors.InvalidContent("`evaluation_at` must carry its offset (e.g. +08:00)")
    return {
        "project_code": _text(payload, "project_code", high=64),
        "title": _text(payload, "title", high=300) if payload.get("title") is not None else None,
        "tenderer": _organisation(payload.get("tenderer"), "tenderer"),
        "bidders": bidders,
        "main_venue": main,
        "secondary_venues": secondary,
        "committee_size": size,
        "tenderer_representatives": representatives,
        "specialties": list(specialties_in),
        "evaluation_at": when.isoformat(),
        "avoid_recent_days": _whole(payload, "avoid_recent_days", DEFAULT_RECENT_DAYS, 0, 3650),
        "criteria": _criteria(payload.get("criteria", list(DEFAULT_CRITERIA))),
        # Its staff do not sit on the committee it supervises (监督部门工作人员回避).
        "supervising_department": (
            _organisation(payload["supervising_department"], "supervising_department")
            if payload.get("supervising_department") is not None
            else None
        ),
    }


def _criteria(value: Any) -> list[dict[str, Any]]:
    """The scoring criteria (评分因素): codes with their full marks, adding up to 100."""
    if not isinstance(value, list) or not 1 <= len(value) <= 30:
        raise errors.InvalidContent('`criteria` must be an array of 1 to 30 {"code", "max"}')
    criteria: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"code", "max"}:
            raise errors.InvalidContent(f'`criteria[{index}]` must be {{"code", "max"}}')
        criteria.append({"code": _text(item, "code", high=40), "max": _whole(item, "max", None, 1, 100)})
    if len({item["code"] for item in criteria}) != len(criteria) or sum(item["max"] for item in criteria) != 100:
        raise errors.InvalidContent("the criteria's codes must differ and their full marks add up to 100")
    return criteria


# ---- storage ------------------------------------------------------------------------------------


@dataclass
class Session:
    id: str
    position: StatePosition
    version: int
    organiser: str
    seed_hex: str
    document: dict[str, Any]
    created_at: datetime

    @property
    def venues(self) -> list[str]:
        return [self.document["main_venue"], *self.document["secondary_venues"]]


def _load(connection: Connection, session_id: str) -> Session:
    row = connection.execute(select(evaluation_sessions).where(evaluation_sessions.c.id == session_id)).first()
    if row is None:
        raise errors.NotFound(f"no evaluation session {session_id}")
    return Session(
        id=row.id,
        position=StatePosition(row.state, row.paused_from),
        version=row.version,
        organiser=row.organiser,
        seed_hex=row.seed_hex,
        document=json.loads(row.document),
        created_at=row.created_at,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _last_event_id(connection: Connection, session_id: str) -> int:
    return (
        connection.execute(
            select(func.max(evaluation_events.c.event_id)).where(evaluation_events.c.session_id == session_id)
        ).scalar_one_or_none()
        or 0
    )


def _append_events(
    connection: Connection,
    session_id: str,
    events: list[tuple[str, dict[str, Any]]],
    now: datetime,
    audit_indexes: list[int | None] | None = None,
) -> list[int]:
    last = _last_event_id(connection, session_id)
    ids = []
    for offset, (kind, data) in enumerate(events, start=1):
        event_id = last + offset
        audit_index = audit_indexes[offset - 1] if audit_indexes else None
        connection.execute(
            insert(evaluation_events).values(
                session_id=session_id,
                event_id=event_id,
                kind=kind,
                data=_dumps(data),
                created_at=now,
                audit_index=audit_index,
            )
        )
        ids.append(event_id)
    if ids:
        notify_event(connection, session_id, ids[-1])  # delivered on commit, to every process listening
    return ids


def _save(connection: Connection, session: Session, now: datetime) -> None:
    """Write the session if nobody changed it since it was read (its version), or ConcurrentChange."""
    written = connection.execute(
        update(evaluation_sessions)
        .where(evaluation_sessions.c.id == session.id, evaluation_sessions.c.version == session.version)
        .values(
            state=session.position.state,
            paused_from=session.position.paused_from,
            version=session.version + 1,
            seed_hex=session.seed_hex,  # a new one when the committee is re-formed
            document=_dumps(session.document),
            updated_at=now,
        )
    )
    if written.rowcount != 1:
        raise ConcurrentChange(f"session {session.id} changed while this request ran; read it again and retry")
    session.version += 1


Change = Callable[[Session], list[tuple[str, dict[str, Any]]]]


async def _change(runtime: Runtime, exchange: Exchange, session_id: str, change: Change) -> Session:
    """Apply `change` (which edits the session and says its events): the events' audit entries are
    durable before the change is stored, as everywhere in the gateway. Should the write then find
    the session changed meanwhile (its version), nothing is stored and the exchange's failure
    entry follows these entries in the log. The events' time is when they are stored (under the
    write lock), so that a follower's delay from it is the fan-out's alone."""

    def prepare() -> tuple[Session, list[tuple[str, dict[str, Any]]], int]:
        with runtime.database.read() as connection:
            session = _load(connection, session_id)
            last = _last_event_id(connection, session_id)
        return session, change(session), last

    session, events, last = await runtime.in_thread(prepare)
    audit_indexes = [
        await _audit(runtime, exchange, session_id, last + offset, kind, data)
        for offset, (kind, data) in enumerate(events, start=1)
    ]

    def write() -> list[dict[str, Any]]:
        with runtime.database.write() as connection:
            stored_at = runtime.clock.now()
            _save(connection, session, stored_at)  # the version guard: ConcurrentChange if another got there first
            _keep_sittings(connection, session)
            ids = _append_events(connection, session_id, events, stored_at, audit_indexes)
            if ids[:1] not in ([], [last + 1]):
                raise ConcurrentChange(f"session {session_id} gained events while this request ran; retry")
        return [
            event_view(event_id, kind, data, stored_at, index)
            for event_id, (kind, data), index in zip(ids, events, audit_indexes, strict=True)
        ]

    event_written(runtime, session_id, await runtime.in_thread(write))
    return session


def _keep_sittings(connection: Connection, session: Session) -> None:
    """Who sits on this session's committee now, for the "evaluated for the same tenderer lately"
    rule of later draws: written with every change, so a replaced member or a dissolved committee
    (which never sat) leaves nothing behind."""
    connection.execute(delete(evaluation_sittings).where(evaluation_sittings.c.session_id == session.id))
    draw_record = session.document.get("draw")
    if draw_record is None:
        return
    sat_on = date.fromisoformat(draw_record["snapshot"]["session"]["drawn_on"])
    for seat in session.document["seats"]:
        if seat["kind"] == "expert":
            connection.execute(
                insert(evaluation_sittings).values(
                    session_id=session.id,
                    expert_city=seat["identity"]["city"],
                    expert_id=seat["identity"]["expert_id"],
                    tenderer=session.document["tenderer"]["credit_code"],
                    sat_on=sat_on,
                )
            )


async def _changed_view(runtime: Runtime, exchange: Exchange, session_id: str, change: Change) -> dict[str, Any]:
    """Apply the change; the session as the caller may see it afterwards."""
    session = await _change(runtime, exchange, session_id, change)
    return session_view(session, await _holds(runtime, exchange, SUPERVISE_RIGHT))


def _advance(session: Session, when: str, to: str, reason: str) -> list[tuple[str, dict[str, Any]]]:
    """A step the session takes by itself (the first check-in opens checking_in, ...): only from `when`."""
    if session.position.state != when:
        return []
    session.position = move(session.position, to)
    return [("state_changed", {"from": when, "to": to, "reason": reason})]


async def _audit(
    runtime: Runtime, exchange: Exchange, session_id: str, event_id: int, kind: str, data: dict[str, Any]
) -> int | None:
    """The event's audit entry, durable on return; its index (kept with the event for the record)."""
    index = await audit_event(
        exchange, runtime, f"evaluation.{kind}", session_id=session_id, event_id=event_id, data=data
    )
    if index is not None:
        exchange.audit_indexes.append(index)
    return index


# ---- views: identities for supervisors only ------------------------------------------------------


def _seat_view(seat: dict[str, Any], identities: bool, published: bool = False) -> dict[str, Any]:
    view = {key: value for key, value in seat.items() if key != "identity"}
    if identities:
        view["identity"] = seat.get("identity")
    elif published:  # the award notice names the committee: as it does, no more
        view["identity"] = public_identity(seat.get("identity"))
    elif "replaced" in seat:  # who gave way is as confidential as who sits
        view["replaced"] = [
            {key: value for key, value in item.items() if key != "identity"} for item in seat["replaced"]
        ]
    return view


def session_view(session: Session, identities: bool) -> dict[str, Any]:
    document = session.document
    view: dict[str, Any] = {
        "id": session.id,
        "state": session.position.state,
        "paused_from": session.position.paused_from,
        "version": session.version,
        "organiser": session.organiser,
        "created_at": session.created_at.isoformat(),
        **{
            key: value
            for key, value in document.items()
            if key not in ("seats", "reserves", "draw", "scores", "signatures", "earlier_scores")
        },
        "seats": [_seat_view(seat, identities, award_published(document)) for seat in document.get("seats", [])],
        "reserves_left": sum(1 for item in document.get("reserves", []) if item.get("used_for") is None),
        "identities_shown": identities,
    }
    draw_record = document.get("draw")
    if draw_record is not None:
        view["draw"] = draw_record if identities else _public_draw(draw_record)
    scores = document.get("scores")
    if scores is not None:
        # Marks stay with the supervisors until they are locked; everyone sees who has scored whom.
        disclosed = identities or _locked(session.position)
        view["scoring"] = {"submitted": {seat: sorted(by_bidder) for seat, by_bidder in sorted(scores.items())}}
        if disclosed:
            view["scoring"].update(marks=scores, deviations=deviations(document))
    if identities and document.get("earlier_scores"):
        view["earlier_scores"] = document["earlier_scores"]  # a dissolved committee's marks
    signatures = document.get("signatures")
    if signatures is not None:
        # Which seats signed, for everyone; the certificates' subjects (who signed) for supervisors only.
        view["signatures"] = {"signed": sorted(signatures)}
        if identities:
            view["signatures"]["by_seat"] = signatures
    return view


def _locked(position: StatePosition) -> bool:
    """The scores are locked (or further on), paused there or not; an aborted session never locked them."""
    state = position.paused_from or position.state
    return state in FLOW and FLOW.index(state) >= FLOW.index("scores_locked")


def _public_draw(record: dict[str, Any]) -> dict[str, Any]:
    """What a non-supervisor may see of the draw: that it was committed to and how; no one's identity."""
    return {
        "algorithm": record["algorithm"],
        "seed_commitment": record["seed_commitment"],
        "snapshot_digest": record["snapshot_digest"],
        "drawn_at": record["drawn_at"],
        "seats": [
            {"seat": item["seat"], "venue": item["venue"], "specialty": item["specialty"]}
            for item in record["committee"]
        ],
        "reserves": len(record["reserves"]),
        "exclusions": len(record["exclusions"]),
    }


async def _holds(runtime: Runtime, exchange: Exchange, right: str) -> bool:
    assert exchange.caller is not None
    return await runtime.registry.has_right(exchange.caller.id, right, runtime.in_thread)


async def _may_read(runtime: Runtime, exchange: Exchange, session: Session) -> bool:
    """Whether the caller may read the session: True (with identities) for a supervisor."""
    assert exchange.caller is not None
    if await _holds(runtime, exchange, SUPERVISE_RIGHT):
        return True
    if exchange.caller.id == session.organiser:
        return False
    if exchange.caller.city in session.venues and await _holds(runtime, exchange, VENUE_RIGHT):
        return False
    raise errors.AccessDenied("only the session's organiser, its venues and supervisors may read it")


def _seat(session: Session, seat_id: Any) -> dict[str, Any]:
    for seat in session.document.get("seats", []):
        if seat["seat"] == seat_id:
            return seat
    raise errors.NotFound(f"session {session.id} has no seat {seat_id!r}")


# ---- the operations' work -----------------------------------------------------------------------


Handler = Callable[["Runtime", Exchange], Awaitable[tuple[int, Any]]]


def _new_session_id(runtime: Runtime) -> str:
    return "EV" + runtime.clock.now().strftime("%Y%m%d") + runtime.entropy.token_bytes(6).hex().upper()


def create_session() -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        document = _session_document(_body(exchange))
        if runtime.partners is None:
            raise errors.ServiceUnavailable("no partner systems are configured: there are no expert pools")
        for venue in (document["main_venue"], *document["secondary_venues"]):
            if venue not in runtime.partners.cities:
                raise errors.InvalidContent(f"the gateway reaches no trading centre in city {venue}")
        seed_hex = runtime.entropy.token_bytes(32).hex()
        document["seed_commitment"] = seed_commitment(seed_hex)
        representatives = document.pop("tenderer_representatives")
        document["tenderer_representatives"] = len(representatives)
        document["seats"] = [
            {
                "seat": f"T{index + 1}",
                "kind": "tenderer_representative",
                "venue": document["main_venue"],
                "specialty": None,
                "identity": representative,
                "checked_in": None,
                "declaration": None,
            }
            for index, representative in enumerate(representatives)
        ]
        session_id = _new_session_id(runtime)
        created = {"state": "scheduled", "seed_commitment": document["seed_commitment"]}
        audit_index = await _audit(runtime, exchange, session_id, 1, "created", created)  # durable before stored

        def write() -> Session:
            with runtime.database.write() as connection:
                now = runtime.clock.now()  # when stored (see _change)
                connection.execute(
                    insert(evaluation_sessions).values(
                        id=session_id,
                        state="scheduled",
                        paused_from=None,
                        version=1,
                        organiser=exchange.caller.id,  # type: ignore[union-attr]
                        seed_hex=seed_hex,
                        document=_dumps(document),
                        created_at=now,
                        updated_at=now,
                    )
                )
                _append_events(connection, session_id, [("created", created)], now, [audit_index])
                return _load(connection, session_id)

        session = await runtime.in_thread(write)
        event_written(runtime, session_id)
        return 201, session_view(session, await _holds(runtime, exchange, SUPERVISE_RIGHT))

    return handle


def read_session(session_id: str) -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        session = await runtime.in_thread(read)
        return 200, session_view(session, await _may_read(runtime, exchange, session))

    return handle


def _guard(session: Session, to: str) -> None:
    """What a step needs beyond the state table: the committee drawn, every member in, every
    declaration clean."""
    seats = session.document.get("seats", [])
    if to == "committee_drawn":
        raise SessionNotReady(f"the committee is drawn with POST /v1/evaluations/{session.id}/draw")
    if to == "report_drafted":
        raise SessionNotReady(f"the report is drafted with POST /v1/evaluations/{session.id}/report")
    if to == "signed":
        unsigned = [seat["seat"] for seat in seats if seat["seat"] not in session.document.get("signatures", {})]
        if unsigned:
            raise SessionNotReady(f"not every member has signed the report: {', '.join(unsigned)}")
    if to == "committee_complete":
        missing = [seat["seat"] for seat in seats if seat["checked_in"] is None]
        if missing:
            raise SessionNotReady(f"not every member has checked in: {', '.join(missing)}")
    if to == "scores_locked":
        missing = [
            f"{seat['seat']}/{bidder['credit_code']}"
            for seat in seats
            for bidder in session.document["bidders"]
            if bidder["credit_code"] not in session.document.get("scores", {}).get(seat["seat"], {})
        ]
        if missing:
            raise SessionNotReady(f"scores are still missing: {', '.join(missing[:10])}")
    if to == "evaluating":
        missing = [seat["seat"] for seat in seats if seat["declaration"] is None]
        if missing:
            raise SessionNotReady(f"declarations are still missing from {', '.join(missing)}")
        conflicted = [seat["seat"] for seat in seats if seat["declaration"]["conflict"]]
        if conflicted:
            raise SessionNotReady(f"replace the members who declared a conflict first: {', '.join(conflicted)}")


def transition(session_id: str) -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        payload = _body(exchange)
        _only(payload, {"to", "reason", "resume_within_minutes"})
        to = _text(payload, "to", high=32)
        reason = _text(payload, "reason", high=500) if payload.get("reason") is not None else None
        resume_within = resume_window(payload, to)

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            before = session.position
            after = move(before, to)
            if after.state == before.paused_from or after.state in ("suspended", "delayed", "aborted", "archived"):
                pass  # resuming, pausing or ending needs nothing more
            else:
                _guard(session, to)
            changed: dict[str, Any] = {"from": before.state, "to": after.state, "reason": reason}
            if before.state == "suspended" and to == "scheduled":
                changed["seed_commitment"] = _dissolve_committee(session, runtime.entropy.token_bytes(32).hex())
            session.position = after
            changed.update(mark_suspension(session.document, after.state, runtime.clock.now(), resume_within))
            if after.state == "archived":  # the documents as archived: their manifest's digest, audited
                changed.update(archive_binding(session.id, session.document))
            return [("state_changed", changed)]

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def _dissolve_committee(session: Session, new_seed_hex: str) -> str:
    """Re-forming the committee: the drawn seats go (the tenderer's representatives stay), the next
    draw starts from scheduled; the old draw record stays in the event log and the audit log. The
    old seed was revealed with the old draw, so anyone could foresee a new draw from it: the next
    draw takes a new seed, committed to now (the commitment, returned, goes into the audited event)."""
    document = session.document
    session.seed_hex = new_seed_hex
    document["seed_commitment"] = seed_commitment(new_seed_hex)
    document["seats"] = [seat for seat in document["seats"] if seat["kind"] != "expert"]
    for seat in document["seats"]:
        seat["checked_in"] = seat["declaration"] = None
    document.pop("reserves", None)
    for dropped in ("report", "signatures"):  # signed by the old committee: the new one drafts and signs anew
        document.pop(dropped, None)
    marks = document.pop("scores", None)
    if marks:  # the new committee evaluates anew; the old one's marks stay on record (by seat id) for supervisors
        document.setdefault("earlier_scores", []).append(marks)
    earlier = document.pop("draw", None)
    if earlier is not None:
        document.setdefault("earlier_draws", []).append(earlier["snapshot_digest"])
    return str(document["seed_commitment"])


@dataclass
class _Pools:
    """The venues' expert pools as the snapshot holds them (what the draw needs, nothing more), the
    experts' identities apart (never published with the snapshot), and the venues without a pool."""

    snapshot: dict[str, list[dict[str, Any]]]
    identities: dict[tuple[str, str], dict[str, Any]]
    not_offered: list[str]


async def _pools(runtime: Runtime, venues: list[str]) -> _Pools:
    """Each venue's city's expert pool, through its adapter."""
    assert runtime.partners is not None
    pools = _Pools({}, {}, [])
    for venue in venues:
        find_experts = getattr(runtime.partners.client_for(venue), "find_experts", None)
        if find_experts is None:
            pools.not_offered.append(venue)
            continue
        experts = await find_experts()
        pools.snapshot[venue] = sorted(
            (
                {
                    "expert_id": expert.expert_id,
                    "city": expert.city,
                    "specialties": list(expert.specialties),
                    "available": expert.available,
                    "employer_credit_code": expert.employer.id_number,
                    "relations": [
                        {"credit_code": item.credit_code, "relation": item.relation} for item in expert.relations
                    ],
                    "sanctions": [
                        {"starts_on": item.starts_on.isoformat(), "ends_on": item.ends_on.isoformat()}
                        for item in expert.sanctions
                    ],
                }
                for expert in experts
            ),
            key=lambda item: item["expert_id"],
        )
        for expert in experts:
            pools.identities[(expert.city, expert.expert_id)] = {
                "expert_id": expert.expert_id,
                "city": expert.city,
                "name": expert.name,
                "id_number": expert.id_number,
                "title": expert.title,
                "employer": expert.employer.name,
            }
    return pools


def _recent_sittings(connection: Connection, tenderer: str, since: date) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(evaluation_sittings)
        .where(evaluation_sittings.c.tenderer == tenderer, evaluation_sittings.c.sat_on > since)
        .order_by(evaluation_sittings.c.expert_city, evaluation_sittings.c.expert_id, evaluation_sittings.c.sat_on)
    ).all()
    return [
        {"city": row.expert_city, "expert_id": row.expert_id, "tenderer": row.tenderer, "on": row.sat_on.isoformat()}
        for row in rows
    ]


def draw_committee(session_id: str) -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        def read() -> tuple[Session, list[dict[str, Any]]]:
            with runtime.database.read() as connection:
                session = _load(connection, session_id)
                days = session.document["avoid_recent_days"]
                since = runtime.clock.now().date() - timedelta(days=days)
                return session, _recent_sittings(connection, session.document["tenderer"]["credit_code"], since)

        session, recent = await runtime.in_thread(read)
        move(session.position, "committee_drawn")  # refuse before asking any pool
        if runtime.partners is None:
            raise errors.ServiceUnavailable("no partner systems are configured: there are no expert pools")
        pools = await _pools(runtime, session.venues)
        if not pools.snapshot:
            raise errors.ServiceUnavailable("none of the session's venues offers an expert pool through its adapter")
        document = session.document
        drawn_on = runtime.clock.now().date()
        experts_to_draw = document["committee_size"] - document["tenderer_representatives"]
        snapshot = {
            "session": {
                "id": session.id,
                "specialties": document["specialties"],
                "venues": session.venues,
                "seats": experts_to_draw,
                "reserves": max(len(document["specialties"]), experts_to_draw // 2),
                "bidders": [bidder["credit_code"] for bidder in document["bidders"]],
                "tenderer": document["tenderer"]["credit_code"],
                "drawn_on": drawn_on.isoformat(),
                "recent_days": document["avoid_recent_days"],
                "supervising_department": (document.get("supervising_department") or {}).get("credit_code"),
            },
            "pools": pools.snapshot,
            "pools_not_offered": pools.not_offered,
            "recent": recent,
        }
        # Ranking every pool's experts and hashing the snapshot take a while: off the event loop,
        # which meanwhile pushes other sessions' events to their venues.
        result = await runtime.in_thread(draw, snapshot, session.seed_hex)
        digest = await runtime.in_thread(snapshot_digest, snapshot)
        record = {
            "session_id": session.id,
            "algorithm": ALGORITHM,
            "drawn_at": runtime.clock.now().isoformat(),
            "seed_commitment": document["seed_commitment"],
            "seed": session.seed_hex,
            "snapshot_digest": digest,
            "snapshot": snapshot,
            **result,
        }

        def identity(item: dict[str, Any]) -> dict[str, Any]:
            return pools.identities[(item["city"], item["expert_id"])]

        def change(current: Session) -> list[tuple[str, dict[str, Any]]]:
            if current.version != session.version:
                raise ConcurrentChange(f"session {session.id} changed while its committee was drawn; draw again")
            before = current.position
            current.position = move(before, "committee_drawn")
            current.document["seats"] += [
                {
                    "seat": item["seat"],
                    "kind": "expert",
                    "venue": item["venue"],
                    "specialty": item["specialty"],
                    "identity": identity(item),
                    "checked_in": None,
                    "declaration": None,
                    "replaced": [],
                }
                for item in result["committee"]
            ]
            current.document["reserves"] = [
                {**item, "identity": identity(item), "used_for": None} for item in result["reserves"]
            ]
            current.document["draw"] = record
            return [
                ("committee_drawn", {**_public_draw(record), "seed": record["seed"]}),  # revealed now
                ("state_changed", {"from": before.state, "to": "committee_drawn", "reason": "drawn"}),
            ]

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def check_in(session_id: str) -> Handler:
    """A venue checks one of its seats in: the caller, authenticated by its signature on the request,
    is the venue's registered member (its city is the venue)."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        payload = _body(exchange)
        _only(payload, {"seat", "venue"})
        seat_id, venue = _text(payload, "seat", high=8), _city(payload.get("venue"), "venue")
        if exchange.caller.city != venue:
            raise errors.AccessDenied(f"only the venue {venue}'s own member may attest a check-in there")
        attestation = {
            "member": exchange.caller.id,
            "signature": (exchange.caller_signature or {}).get("signature"),
            "at": runtime.clock.now().isoformat(),
        }

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            state = session.position.state
            if state not in ("committee_drawn", "checking_in"):
                raise SessionNotReady(f"check-in is open in committee_drawn and checking_in, not {state}")
            seat = _seat(session, seat_id)
            if seat["venue"] != venue:
                raise errors.InvalidContent(f"seat {seat_id} is assigned to the venue {seat['venue']}, not {venue}")
            if seat["checked_in"] is not None:
                raise errors.Conflict(f"seat {seat_id} has checked in already")
            seat["checked_in"] = attestation
            events = [("checked_in", {"seat": seat_id, "venue": venue, "attested_by": exchange.caller.id})]  # type: ignore[union-attr]
            return events + _advance(session, "committee_drawn", "checking_in", "first check-in")

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def declare(session_id: str) -> Handler:
    """A member's conflict-of-interest declaration, taken at the member's venue. A declared conflict
    stands until the organiser replaces the member from the reserve."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        payload = _body(exchange)
        _only(payload, {"seat", "conflict", "statement"})
        seat_id = _text(payload, "seat", high=8)
        conflict = payload.get("conflict")
        if not isinstance(conflict, bool):
            raise errors.InvalidContent("`conflict` must be true or false")
        statement = _text(payload, "statement", high=2000) if payload.get("statement") is not None else None
        if conflict and statement is None:
            raise errors.InvalidContent("a declared conflict needs its `statement`")

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            state = session.position.state
            if state not in ("committee_complete", "declarations"):
                raise SessionNotReady(f"declarations are taken in committee_complete and declarations, not {state}")
            seat = _seat(session, seat_id)
            if exchange.caller.city != seat["venue"]:  # type: ignore[union-attr]
                raise errors.AccessDenied(f"seat {seat_id} declares at its own venue, {seat['venue']}")
            if seat["declaration"] is not None:
                raise errors.Conflict(f"seat {seat_id} has declared already")
            seat["declaration"] = {
                "conflict": conflict,
                "statement": statement,
                "taken_by": exchange.caller.id,  # type: ignore[union-attr]
                "at": runtime.clock.now().isoformat(),
            }
            events = [("declared", {"seat": seat_id, "conflict": conflict})]
            return events + _advance(session, "committee_complete", "declarations", "first declaration")

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def _score_sheet(payload: dict[str, Any], criteria: list[dict[str, Any]]) -> dict[str, float]:
    """One member's marks for one bidder, each within its criterion's full marks, to two decimals."""
    sheet = payload.get("scores")
    codes = [item["code"] for item in criteria]
    if not isinstance(sheet, dict) or set(sheet) != set(codes):
        raise errors.InvalidContent(f"`scores` must give a mark for each criterion: {', '.join(codes)}")
    marks = {}
    for item in criteria:
        mark = sheet[item["code"]]
        if isinstance(mark, bool) or not isinstance(mark, int | float) or not 0 <= mark <= item["max"]:
            raise errors.InvalidContent(f"the mark for {item['code']} must be a number from 0 to {item['max']}")
        if round(mark, 2) != mark:
            raise errors.InvalidContent(f"the mark for {item['code']} has more than two decimals")
        marks[item["code"]] = float(mark)
    return marks


def deviations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Marks further than DEVIATION_SHARE of the criterion's full marks from the mean of the other
    members' marks for the same bidder and criterion (with at least two others to compare with)."""
    scores = document.get("scores", {})
    found = []
    for bidder in document["bidders"]:
        code = bidder["credit_code"]
        sheets = {seat: by_bidder[code] for seat, by_bidder in scores.items() if code in by_bidder}
        for item in document["criteria"]:
            for seat, sheet in sorted(sheets.items()):
                others = [other[item["code"]] for other_seat, other in sheets.items() if other_seat != seat]
                if len(others) < 2:
                    continue
                mean = sum(others) / len(others)
                if abs(sheet[item["code"]] - mean) > DEVIATION_SHARE * item["max"]:
                    found.append(
                        {"seat": seat, "bidder": code, "criterion": item["code"], "mark": sheet[item["code"]],
                         "others_mean": round(mean, 2)}
                    )  # fmt: skip
    return found


def submit_scores(session_id: str) -> Handler:
    """A member's marks for one bidder, sent from the member's venue while evaluating; sent again,
    they replace the earlier ones until the scores are locked. The events say who scored whom, not
    the marks (other venues follow the same stream)."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        payload = _body(exchange)
        _only(payload, {"seat", "bidder", "scores"})
        seat_id, bidder = _text(payload, "seat", high=8), _text(payload, "bidder", high=18)

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            if session.position.state != "evaluating":
                raise SessionNotReady(f"scores are taken while evaluating, not in {session.position.state}")
            seat = _seat(session, seat_id)
            if exchange.caller.city != seat["venue"]:  # type: ignore[union-attr]
                raise errors.AccessDenied(f"seat {seat_id} scores from its own venue, {seat['venue']}")
            if bidder not in {item["credit_code"] for item in session.document["bidders"]}:
                raise errors.InvalidContent(f"{bidder} is not a bidder of this session")
            marks = _score_sheet(payload, session.document["criteria"])
            session.document.setdefault("scores", {}).setdefault(seat_id, {})[bidder] = marks
            return [("score_submitted", {"seat": seat_id, "bidder": bidder})]

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def replace_seat(session_id: str) -> Handler:
    """The seat's expert (absent, late, or conflicted) gives way to the first unused reserve of the
    seat's specialty, who then checks in and declares like everyone else."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        payload = _body(exchange)
        _only(payload, {"seat", "reason"})
        seat_id = _text(payload, "seat", high=8)
        reason = _text(payload, "reason", high=32)
        if reason not in ("absent", "late", "conflict_of_interest", "unwell"):
            raise errors.InvalidContent("`reason` must be absent, late, conflict_of_interest or unwell")

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            state = session.position.state
            if state not in REPLACEABLE_IN:
                raise SessionNotReady(f"members are replaced before evaluation starts, not in {state}")
            seat = _seat(session, seat_id)
            if seat["kind"] != "expert":
                raise errors.InvalidContent("the tenderer names its own representatives; only drawn seats are replaced")
            reserve = next(
                (
                    item
                    for item in session.document["reserves"]
                    if item["used_for"] is None and seat["specialty"] in item["specialties"]
                ),
                None,
            )
            if reserve is None:
                raise SessionNotReady(
                    f"no reserve of specialty {seat['specialty']} is left: suspend the session, re-form the committee"
                )
            reserve["used_for"] = seat_id
            seat["replaced"].append(
                {"identity": seat["identity"], "reason": reason, "at": runtime.clock.now().isoformat()}
            )
            seat.update(
                identity=reserve["identity"],
                venue=reserve["venue"],
                checked_in=None,
                declaration=None,
                reserve=reserve["reserve"],
            )
            events = [
                (
                    "seat_replaced",
                    {"seat": seat_id, "reason": reason, "reserve": reserve["reserve"], "venue": reserve["venue"]},
                )
            ]
            if FLOW.index(state) > FLOW.index("checking_in"):  # the new member has yet to check in
                before = session.position
                session.position = StatePosition("checking_in")
                events.append(
                    ("state_changed", {"from": before.state, "to": "checking_in", "reason": "member replaced"})
                )
            return events

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


def read_events(database: Database, session_id: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
    """The session's events with ids above `after`, in order."""
    with database.read() as connection:
        rows = connection.execute(
            select(evaluation_events)
            .where(evaluation_events.c.session_id == session_id, evaluation_events.c.event_id > after)
            .order_by(evaluation_events.c.event_id)
            .limit(limit)
        ).all()
    return [event_view(row.event_id, row.kind, json.loads(row.data), row.created_at, row.audit_index) for row in rows]


def event_view(event_id: int, kind: str, data: Any, at: datetime, audit_index: int | None) -> dict[str, Any]:
    """An event as followers receive it, read back or handed over by its writer (the same either way)."""
    return {
        "id": event_id,
        "kind": kind,
        "data": data,
        "at": at.astimezone(UTC).isoformat(),
        "audit_index": audit_index,  # its entry in the audit log (GET .../record proves it)
    }


def session_state(database: Database, session_id: str) -> str | None:
    with database.read() as connection:
        return connection.execute(
            select(evaluation_sessions.c.state).where(evaluation_sessions.c.id == session_id)
        ).scalar_one_or_none()


def _sse(events: list[dict[str, Any]]) -> bytes:
    """Server-sent events (text/event-stream): each with its id, so that the client's Last-Event-ID
    on reconnecting says exactly where it stopped."""
    parts = [f"retry: {RECONNECT_MILLISECONDS}\n\n"]
    for event in events:
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"id: {event['id']}\nevent: {event['kind']}\ndata: {data}\n\n")
    return "".join(parts).encode("utf-8")


def follow_events(session_id: str) -> Handler:
    """The session's events after Last-Event-ID (0: from the start), as server-sent events. If there
    are none yet, waits up to `wait` seconds (query, default 20) for the first, reading the shared
    database, so that an event written by any gateway process arrives. Each answer is complete and
    signed; the client reconnects with the last id it saw (as EventSource does by itself). An ended
    session (archived) with nothing more to send answers 204, which tells EventSource to stop."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        raw = exchange.request.headers.get("last-event-id", "0").strip() or "0"
        after = whole_number(raw, "Last-Event-ID", low=0, high=2**62)
        wait_raw = parse_qs(exchange.request.query).get("wait", [str(DEFAULT_WAIT_SECONDS)])[0]
        wait = whole_number(wait_raw, "wait", low=0, high=MAX_WAIT_SECONDS)

        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        await _may_read(runtime, exchange, await runtime.in_thread(read))
        deadline = runtime.clock.monotonic() + wait
        while True:
            found = await runtime.in_thread(read_events, runtime.database, session_id, after)
            if found:
                return 200, _sse([signed_event(runtime, session_id, event) for event in found])
            if await runtime.in_thread(session_state, runtime.database, session_id) == "archived":
                return 204, b""
            if runtime.clock.monotonic() >= deadline:
                return 200, _sse([])
            await asyncio.sleep(POLL_SECONDS)

    return handle


# ---- the operation the pipeline runs ------------------------------------------------------------


@dataclass
class EvaluationOperation(AnsweredByTheGateway):
    """One evaluation request: audited, labelled with the session it concerns."""

    name: str
    handler: Handler
    session_id: str | None = None
    required_right: str | None = None
    audited: bool = True
    purpose_required: bool = False
    max_body_bytes: int | None = MAX_BODY_BYTES
    not_found: str | None = None
    provider: str | None = None

    @property
    def service_label(self) -> str:
        return f"{self.name}/{self.session_id}" if self.session_id else self.name

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        exchange.result = await self.handler(runtime, exchange)

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        status, data = exchange.result
        if isinstance(data, bytes):  # server-sent events
            headers = httpx.Headers({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store"})
            exchange.reply = Message(status=status, headers=headers, body=data)
        else:
            exchange.reply = json_reply(status, data)
