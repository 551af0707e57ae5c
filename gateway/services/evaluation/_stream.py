"""The held-open event stream of a session: server-sent events (GET .../events without `wait`) or a
WebSocket at the same path, each event pushed as it happens and signed on its own.

    GET .../events?wait=N           long-poll (gateway.services.evaluation._sessions.follow_events):
                                    one complete answer, signed whole (Content-Digest)
    GET .../events                  text/event-stream held open: `retry`, then `id:`/`event:`/`data:`
                                    per event, `: keep-alive` every KEEPALIVE_SECONDS
    GET .../events + Upgrade        WebSocket: one JSON text message per event

Either way the exchange goes through the pipeline like any other (authentication, the request's
audit entry first); the answer's head is signed without content-digest (gateway.stages.sign), each
event carries its own signature (_event_signatures), and when the stream closes its response entry
records how many events it carried, the last id and the Content-Digest of every byte sent.
Resuming: Last-Event-ID (header) or `last_event_id` (query), the last id the client saw.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

import anyio
import httpx
from fastapi import Request, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse

from gateway import errors
from gateway.exchange import Exchange, Message
from gateway.logs import log
from gateway.operations import whole_number
from gateway.services.evaluation._event_signatures import signed_event
from gateway.services.evaluation._live import EventHub
from gateway.services.evaluation._sessions import (
    RECONNECT_MILLISECONDS,
    EvaluationOperation,
    Handler,
    Session,
    _load,
    _may_read,
)
from gateway.stages.audit import audit_stream_closed

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.services import ServiceFace

__all__ = ["EventStreamOperation", "follow_over_websocket", "stream_events"]

KEEPALIVE_SECONDS: Final = 15.0
# A held-open stream ends after this long (the client reconnects with its last id, as EventSource
# does by itself): the caller's credentials are checked again, and a stopping server is not held up.
MAX_STREAM_SECONDS: Final = 300.0
SSE: Final = "sse"
WEBSOCKET: Final = "websocket"


def _resume_point(exchange: Exchange) -> int:
    raw = exchange.request.headers.get("last-event-id")
    if raw is None:
        raw = parse_qs(exchange.request.query).get("last_event_id", ["0"])[0]
    return whole_number(raw.strip() or "0", "Last-Event-ID", low=0, high=2**62)


def _frame(event: dict[str, Any], framing: str) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if framing == WEBSOCKET:
        return data.encode("utf-8")
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {data}\n\n".encode()


def _ends_the_session(event: dict[str, Any]) -> bool:
    return event["kind"] == "state_changed" and event["data"].get("to") == "archived"


async def _events(
    runtime: Runtime, exchange: Exchange, hub: EventHub, session_id: str, after: int, framing: str, *, over: bool
) -> AsyncIterator[bytes]:
    """What the stream sends; its response entry is written however it ends (the session archived,
    MAX_STREAM_SECONDS, the client gone, the server stopping)."""
    subscription = hub.subscribe(session_id, after)
    sent, last, digest, cancelled = 0, None, hashlib.sha256(), False
    deadline = runtime.clock.monotonic() + MAX_STREAM_SECONDS
    try:
        if framing == SSE:
            opening = f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
            yield opening
            digest.update(opening)  # counted once the consumer has taken it on (the send returned)
        ended = over
        while not ended and not subscription.closed:
            left = deadline - runtime.clock.monotonic()
            if left <= 0:
                break
            batch = await subscription.next(min(KEEPALIVE_SECONDS, left))
            if not batch:
                if framing == SSE and not subscription.closed:
                    yield b": keep-alive\n\n"
                    digest.update(b": keep-alive\n\n")
                continue
            for event in batch:
                chunk = _frame(signed_event(runtime, session_id, event), framing)
                yield chunk
                digest.update(chunk)
                sent, last = sent + 1, event["id"]
                ended = ended or _ends_the_session(event)
    except (asyncio.CancelledError, GeneratorExit):
        cancelled = True
        raise
    finally:
        subscription.close()
        sent_digest = f"sha-256=:{base64.b64encode(digest.digest()).decode('ascii')}:"
        with anyio.CancelScope(shield=True):  # a client gone cancels the stream; the entry is still due
            try:
                await audit_stream_closed(
                    exchange, runtime, items_sent=sent, last_item=last, sent_digest=sent_digest, cancelled=cancelled
                )
            except Exception:
                log.exception("the closing entry of an evaluation event stream could not be written")


def stream_events(session_id: str, framing: str) -> Handler:
    """The session's events after the resume point, held open (see the module's docstring)."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        after = _resume_point(exchange)

        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        session = await runtime.in_thread(read)
        await _may_read(runtime, exchange, session)
        hub = runtime.services.get("evaluation")
        if not isinstance(hub, EventHub):
            raise errors.ServiceUnavailable("this gateway process does not serve live evaluation events")
        over = session.position.state == "archived" and not await hub.read(session_id, after)
        if over and framing == SSE:
            return 204, None  # EventSource stops asking
        return 200, _events(runtime, exchange, hub, session_id, after, framing, over=over)

    return handle


@dataclass
class EventStreamOperation(EvaluationOperation):
    """evaluation.events held open: its reply is a stream (Message.stream), its head signed alone."""

    framing: str = SSE

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        status, stream = exchange.result
        if stream is None:
            exchange.reply = Message(status=status, headers=httpx.Headers(), body=b"")
            return
        if self.framing == WEBSOCKET:
            # The handshake's answer: 101 Switching Protocols, its head signed (@status 101).
            exchange.reply = Message(status=101, headers=httpx.Headers(), body=b"", stream=stream)
            return
        headers = httpx.Headers(
            {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no"}
        )
        exchange.reply = Message(status=status, headers=headers, body=b"", stream=stream)


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


_HANDSHAKE_HEADERS: Final = frozenset({"x-tongban-exchange-id", "signature-input", "signature"})


async def follow_over_websocket(face: ServiceFace, websocket: WebSocket, session_id: str) -> None:
    """The WebSocket at .../events: the handshake (a GET) runs through the pipeline as the GET
    would, with its @target-uri in http(s) form; refused, it gets the problem+json a GET would get
    (signed by the faces' middleware); accepted, one JSON text message per signed event."""
    scope = dict(websocket.scope)
    scope.update(type="http", method="GET", scheme="https" if scope.get("scheme") == "wss" else "http")
    request = Request(scope, receive=_no_body)
    operation = EventStreamOperation(
        "evaluation.events", stream_events(session_id, WEBSOCKET), session_id, framing=WEBSOCKET
    )
    try:
        response = await face.run(request, operation, None)
    except errors.TongbanError as error:
        exchange_id = scope.get("state", {}).get("exchange_id")
        problem = JSONResponse(
            error.problem(exchange_id), status_code=error.status, media_type="application/problem+json"
        )
        await websocket.send_denial_response(problem)
        return
    assert isinstance(response, StreamingResponse)
    stream = response.body_iterator
    head = [(name, value) for name, value in response.raw_headers if name.decode("latin-1") in _HANDSHAKE_HEADERS]
    await websocket.accept(headers=head)

    async def send_events() -> None:
        async for chunk in stream:
            await websocket.send_text(chunk.decode("utf-8") if isinstance(chunk, bytes) else str(chunk))
        await websocket.close(1000)

    async def until_closed() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(send_events()), asyncio.create_task(until_closed())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
