"""ASGI middleware: an exchange id for every request, and a gateway signature on every answer."""

from __future__ import annotations

import time
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.clock import new_exchange_id
from gateway.logs import current_exchange_id, log
from gateway.metrics import REQUESTS, UNMATCHED, method_label
from gateway.runtime import Runtime
from gateway.stages.sign import sign_reply

__all__ = ["SigningMiddleware"]

SIGNED_MARKER = "tongban="


class SigningMiddleware:
    """Every HTTP answer carries X-Tongban-Exchange-Id and an RFC 9421 signature over
    @status, content-digest and that id. Pipeline replies arrive already signed (their
    signature is what the audit entry records); everything else is signed here. A streamed
    reply arrives with its head signed without content-digest: it passes unbuffered. A
    WebSocket gets its exchange id here too; a refused handshake's answer is signed like any."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        prefix = "http" if scope["type"] == "http" else "websocket.http"
        exchange_id = new_exchange_id(self.runtime.clock, self.runtime.entropy)
        scope.setdefault("state", {})["exchange_id"] = exchange_id
        token = current_exchange_id.set(exchange_id)
        started = time.perf_counter()
        start_message: Message | None = None
        body_parts: list[bytes] = []
        status_holder: dict[str, int] = {}

        streaming = False

        async def send_signed(message: Message) -> None:
            nonlocal start_message, streaming
            if message["type"] == f"{prefix}.response.start":
                status_holder["status"] = message["status"]
                streaming = _signed_head_only(message)
                if streaming:
                    await send(message)
                    return
                start_message = message
                return
            if message["type"] == "websocket.accept":
                status_holder["status"] = 101
            if message["type"] != f"{prefix}.response.body" or streaming:
                await send(message)
                return
            body_parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start_message is not None
            await self._send_signed(start_message, b"".join(body_parts), exchange_id, send, prefix)

        try:
            await self.app(scope, receive, send_signed)
        finally:
            # Labels from closed sets only (see gateway.metrics): the template, never the path.
            template = getattr(scope.get("route"), "path", UNMATCHED)
            method = method_label(scope.get("method", "GET"))  # a WebSocket handshake is a GET
            REQUESTS.labels(template, method, str(status_holder.get("status", 500))).inc()
            log.debug(
                "answered",
                extra={"path": scope.get("path"), "ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            current_exchange_id.reset(token)

    async def _send_signed(self, start: Message, body: bytes, exchange_id: str, send: Send, prefix: str) -> None:
        raw_headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        headers = httpx.Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers])
        already_signed = SIGNED_MARKER in headers.get("signature-input", "")
        if not already_signed:
            sign_reply(headers, start["status"], body, exchange_id, self.runtime, self.runtime.clock.now())
        headers["content-length"] = str(len(body))
        out_headers: Any = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.multi_items()]
        await send({"type": f"{prefix}.response.start", "status": start["status"], "headers": out_headers})
        await send({"type": f"{prefix}.response.body", "body": body, "more_body": False})


def _signed_head_only(start: Message) -> bool:
    """A pipeline reply whose signature leaves out content-digest: a stream (gateway.stages.sign)."""
    for name, value in start.get("headers", []):
        if name.lower() == b"signature-input":
            text = value.decode("latin-1")
            return SIGNED_MARKER in text and '"content-digest"' not in text
    return False
