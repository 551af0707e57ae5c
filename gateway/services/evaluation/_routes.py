"""The evaluation service's REST routes; the event stream (SSE) is opened through the pipeline
(authenticated, authorised, audited) and then served from the session's stored event log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from gateway.services import ServiceFace
from gateway.services.evaluation._sessions import (
    ORGANISE_RIGHT,
    VENUE_RIGHT,
    EvaluationOperation,
    check_in,
    create_session,
    declare,
    draw_committee,
    open_events,
    read_events,
    read_session,
    replace_seat,
    session_state,
    transition,
)

__all__ = ["evaluation_routes"]

POLL_SECONDS: Final = 0.2  # how soon an event written by any process reaches the streams
HEARTBEAT_SECONDS: Final = 15.0  # an SSE comment keeps proxies from closing an idle stream
ENDED: Final = frozenset({"archived"})


def evaluation_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter(tags=["evaluations"])
    runtime = face.runtime

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
        summary="The session's events as SSE (text/event-stream); Last-Event-ID resumes after the last one seen",
    )
    async def events(request: Request, session_id: str) -> Response:
        opened = await face.run(
            request, EvaluationOperation("evaluation.events", open_events(session_id), session_id), None
        )
        if opened.status_code != 200:
            return opened
        after = int(json.loads(bytes(opened.body))["after"])

        async def stream() -> AsyncIterator[bytes]:
            last, quiet = after, 0.0
            while True:
                found = await runtime.in_thread(read_events, runtime.database, session_id, last)
                for event in found:
                    last = event["id"]
                    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                    yield f"id: {event['id']}\nevent: {event['kind']}\ndata: {data}\n\n".encode()
                if found:
                    quiet = 0.0
                    continue
                if await runtime.in_thread(session_state, runtime.database, session_id) in ENDED:
                    return  # the record is closed: nothing more will come
                if await request.is_disconnected():
                    return
                if quiet >= HEARTBEAT_SECONDS:
                    yield b": still here\n\n"
                    quiet = 0.0
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS

        headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
        if "x-tongban-exchange-id" in opened.headers:
            headers["x-tongban-exchange-id"] = opened.headers["x-tongban-exchange-id"]
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return router
