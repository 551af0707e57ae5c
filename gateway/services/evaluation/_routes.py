"""The evaluation service's REST routes. The events endpoint answers server-sent events from the
session's stored log, each answer complete and signed (the gateway signs every body whole)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response

from gateway.services import ServiceFace
from gateway.services.evaluation._award import publish_award
from gateway.services.evaluation._record import read_archive, read_record
from gateway.services.evaluation._report import draft_report, sign_report
from gateway.services.evaluation._sessions import (
    ORGANISE_RIGHT,
    VENUE_RIGHT,
    EvaluationOperation,
    Handler,
    check_in,
    create_session,
    declare,
    draw_committee,
    follow_events,
    read_session,
    replace_seat,
    submit_scores,
    transition,
)
from gateway.services.evaluation._stream import EventStreamOperation, follow_over_websocket, stream_events

__all__ = ["evaluation_routes"]


@dataclass(frozen=True)
class _Step:
    """A POST /v1/evaluations/{session_id}/<path> that changes the session."""

    path: str
    operation: str
    handler: Callable[[str], Handler]
    right: str
    summary: str


STEPS: Final = (
    _Step(
        "transitions",
        "evaluation.transition",
        transition,
        ORGANISE_RIGHT,
        'Move the session: {"to": state}; 409 if illegal',
    ),
    _Step("draw", "evaluation.draw", draw_committee, ORGANISE_RIGHT, "Draw the committee and reserves (reproducible)"),
    _Step("checkins", "evaluation.checkin", check_in, VENUE_RIGHT, "Check a seat in at its venue (the venue's member)"),
    _Step("declarations", "evaluation.declare", declare, VENUE_RIGHT, "A member's conflict-of-interest declaration"),
    _Step(
        "scores", "evaluation.score", submit_scores, VENUE_RIGHT, "A member's marks for one bidder, while evaluating"
    ),
    _Step(
        "replacements", "evaluation.replace", replace_seat, ORGANISE_RIGHT, "Replace a seat's expert from the reserve"
    ),
    _Step("report", "evaluation.report", draft_report, ORGANISE_RIGHT, "Draft the report from the locked scores"),
    _Step(
        "signatures",
        "evaluation.sign",
        sign_report,
        VENUE_RIGHT,
        "A member's cloud signature (云签名) over the report, relayed by the seat's venue",
    ),
    _Step(
        "award",
        "evaluation.award",
        publish_award,
        ORGANISE_RIGHT,
        "Record the award's publication (中标候选人公示): the committee's names become visible to readers",
    ),
)


def _add_step(router: APIRouter, face: ServiceFace, step: _Step) -> None:
    async def endpoint(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(step.operation, step.handler(session_id), session_id, required_right=step.right)
        return await face.run(request, operation, None)

    router.add_api_route(
        f"/v1/evaluations/{{session_id}}/{step.path}",
        endpoint,
        methods=["POST"],
        summary=f"{step.summary} (right: {step.right})",
        name=f"evaluation_{step.path}",
    )


def evaluation_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter(tags=["evaluations"])

    @router.post(
        "/v1/evaluations", summary="Schedule a remote cross-region evaluation session (right: evaluation.organise)"
    )
    async def create(request: Request) -> Response:
        operation = EvaluationOperation("evaluation.create", create_session(), required_right=ORGANISE_RIGHT)
        return await face.run(request, operation, None)

    @router.get("/v1/evaluations/{session_id}", summary="A session: state, venues, seats (identities for supervisors)")
    async def get(request: Request, session_id: str) -> Response:
        return await face.run(
            request, EvaluationOperation("evaluation.read", read_session(session_id), session_id), None
        )

    for step in STEPS:
        _add_step(router, face, step)

    @router.get(
        "/v1/evaluations/{session_id}/events",
        summary="The session's events after Last-Event-ID as SSE: held open, each event signed; with ?wait= "
        "a long-poll, one complete signed answer within `wait` s (WebSocket: the same path)",
    )
    async def events(request: Request, session_id: str, wait: str | None = None) -> Response:
        # `wait` is read (and checked) by the long-poll operation, from the query.
        if wait is None:
            held_open = EventStreamOperation("evaluation.events", stream_events(session_id, "sse"), session_id)
            return await face.run(request, held_open, None)
        return await face.run(
            request, EvaluationOperation("evaluation.events", follow_events(session_id), session_id), None
        )

    @router.websocket("/v1/evaluations/{session_id}/events", name="evaluation_events_websocket")
    async def events_websocket(websocket: WebSocket, session_id: str) -> None:
        await follow_over_websocket(face, websocket, session_id)

    @router.get(
        "/v1/evaluations/{session_id}/record",
        summary="Every event with its audit entry and inclusion proof against one signed checkpoint",
    )
    async def record(request: Request, session_id: str) -> Response:
        return await face.run(
            request, EvaluationOperation("evaluation.record", read_record(session_id), session_id), None
        )

    @router.get(
        "/v1/evaluations/{session_id}/archive",
        summary="The archive bundle (signed, archived or aborted sessions), checked by `tongban audit check`",
    )
    async def archive(request: Request, session_id: str) -> Response:
        return await face.run(
            request, EvaluationOperation("evaluation.archive", read_archive(session_id), session_id), None
        )

    return router
