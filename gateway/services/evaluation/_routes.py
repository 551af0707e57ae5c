"""The evaluation service's REST routes. The events endpoint answers server-sent events from the
session's stored log, each answer complete and signed (the gateway signs every body whole)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.services import ServiceFace
from gateway.services.evaluation._sessions import (
    ORGANISE_RIGHT,
    VENUE_RIGHT,
    EvaluationOperation,
    check_in,
    create_session,
    declare,
    draw_committee,
    follow_events,
    read_session,
    replace_seat,
    transition,
)

__all__ = ["evaluation_routes"]


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

    @router.post("/v1/evaluations/{session_id}/transitions", summary='Move the session: {"to": state} (409 if illegal)')
    async def move(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(
            "evaluation.transition", transition(session_id), session_id, required_right=ORGANISE_RIGHT
        )
        return await face.run(request, operation, None)

    @router.post("/v1/evaluations/{session_id}/draw", summary="Draw the committee and reserves (reproducible)")
    async def draw(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(
            "evaluation.draw", draw_committee(session_id), session_id, required_right=ORGANISE_RIGHT
        )
        return await face.run(request, operation, None)

    @router.post("/v1/evaluations/{session_id}/checkins", summary="Check a seat in at its venue (the venue's member)")
    async def checkin(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(
            "evaluation.checkin", check_in(session_id), session_id, required_right=VENUE_RIGHT
        )
        return await face.run(request, operation, None)

    @router.post("/v1/evaluations/{session_id}/declarations", summary="A member's conflict-of-interest declaration")
    async def declaration(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(
            "evaluation.declare", declare(session_id), session_id, required_right=VENUE_RIGHT
        )
        return await face.run(request, operation, None)

    @router.post("/v1/evaluations/{session_id}/replacements", summary="Replace a seat's expert from the reserve")
    async def replacement(request: Request, session_id: str) -> Response:
        operation = EvaluationOperation(
            "evaluation.replace", replace_seat(session_id), session_id, required_right=ORGANISE_RIGHT
        )
        return await face.run(request, operation, None)

    @router.get(
        "/v1/evaluations/{session_id}/events",
        summary="The session's events as SSE (text/event-stream) after Last-Event-ID; waits up to ?wait= s for one",
    )
    async def events(request: Request, session_id: str, wait: str = "20") -> Response:
        # `wait` is read (and checked) by the operation, from the query.
        return await face.run(
            request, EvaluationOperation("evaluation.events", follow_events(session_id), session_id), None
        )

    return router
