"""The evaluation service's background task: sessions whose suspension timer ran out (_suspension.py)
are moved by the gateway itself, each move audited like any change, with no caller.

Every gateway process runs the task over the shared database. Two that find the same session both
write the move's audit entries (durable before the change is stored, as everywhere), but only one
stores it: the session's version guard refuses the other, which then records in the log that its move
was superseded (kind evaluation.timer_superseded, under the same exchange id), as an exchange's failure
entry follows the entries of a change that lost to another.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from gateway import errors
from gateway.clock import new_exchange_id
from gateway.services.evaluation._live import event_written
from gateway.services.evaluation._sessions import (
    ConcurrentChange,
    Session,
    _append_events,
    _dissolve_committee,
    _keep_sittings,
    _last_event_id,
    _load,
    _save,
)
from gateway.services.evaluation._states import move
from gateway.services.evaluation._suspension import EXPIRED_REASON, mark_suspension, timer_target
from gateway.services.evaluation.tables import evaluation_sessions
from gateway.stages.audit import audit_gateway_event

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["SWEEP_SECONDS", "expire_suspensions", "run_background"]

_log = logging.getLogger(__name__)
SWEEP_SECONDS: Final = 5.0  # how late after its deadline a suspension may be acted on


def _expired(session: Session, now: datetime) -> bool:
    timer = session.document.get("suspension")
    return (
        session.position.state == "suspended"
        and timer is not None
        and datetime.fromisoformat(timer["resume_by"]) <= now
    )


def _suspended(runtime: Runtime) -> list[str]:
    with runtime.database.read() as connection:
        rows = connection.execute(
            select(evaluation_sessions.c.id).where(evaluation_sessions.c.state == "suspended")
        ).all()
    return [row.id for row in rows]


async def _expire(runtime: Runtime, session_id: str, now: datetime) -> bool:
    """Move one session whose timer ran out; False if it is not due (any more) or another got there first."""

    def prepare() -> tuple[Session, list[tuple[str, dict[str, Any]]], int] | None:
        with runtime.database.read() as connection:
            session = _load(connection, session_id)
            last = _last_event_id(connection, session_id)
        if not _expired(session, now):
            return None  # resumed, re-formed or aborted meanwhile
        before = session.position
        to = timer_target(before.paused_from)
        event: dict[str, Any] = {"from": before.state, "to": to, "reason": EXPIRED_REASON}
        if to == "scheduled":
            event["seed_commitment"] = _dissolve_committee(session, runtime.entropy.token_bytes(32).hex())
        session.position = move(before, to)
        event["resume_by"] = session.document["suspension"]["resume_by"]
        mark_suspension(session.document, to, now, None)
        return session, [("state_changed", event)], last

    prepared = await runtime.in_thread(prepare)
    if prepared is None:
        return False
    session, events, last = prepared
    exchange_id = new_exchange_id(runtime.clock, runtime.entropy)
    audit_indexes = [
        await audit_gateway_event(
            runtime, exchange_id, f"evaluation.{kind}", session_id=session_id, event_id=last + offset, data=data
        )
        for offset, (kind, data) in enumerate(events, start=1)
    ]

    def write() -> None:
        with runtime.database.write() as connection:
            _save(connection, session, now)  # the version guard: ConcurrentChange if another got there first
            _keep_sittings(connection, session)
            if _append_events(connection, session_id, events, now, audit_indexes)[:1] not in ([], [last + 1]):
                raise ConcurrentChange(f"session {session_id} gained events while its timer ran out")

    try:
        await runtime.in_thread(write)
    except ConcurrentChange as exc:
        await audit_gateway_event(
            runtime, exchange_id, "evaluation.timer_superseded", session_id=session_id, detail=exc.detail
        )
        return False
    event_written(runtime, session_id)  # this process's followers learn at once
    return True


async def expire_suspensions(runtime: Runtime) -> list[str]:
    """One pass over the suspended sessions: the ids of those this pass moved."""
    now = runtime.clock.now()
    moved = []
    for session_id in await runtime.in_thread(_suspended, runtime):
        if await _expire(runtime, session_id, now):
            moved.append(session_id)
    return moved


async def run_background(runtime: Runtime) -> None:
    while True:
        try:
            await expire_suspensions(runtime)
        except errors.TongbanError as exc:
            _log.warning("the evaluation suspension timers could not be checked (%s); trying again", exc.code)
        except Exception:  # a passing database hiccup must not end the timers
            _log.exception("the evaluation suspension timers could not be checked; trying again")
        await asyncio.sleep(SWEEP_SECONDS)
