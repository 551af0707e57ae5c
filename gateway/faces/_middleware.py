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
    signature is what the audit entry records); everything else is signed here."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange_id = new_exchange_id(self.runtime.clock, self.runtime.entropy)
        scope.setdefault("state", {})["exchange_id"] = exchange_id
        token = current_exchange_id.set(exchange_id)
        started = time.perf_counter()
        start_message: Message | None = None
        body_parts: list[bytes] = []
        status_holder: dict[str, int] = {}

        async def send_signed(message: Message) -> None:
            nonlocal start_message
            if message["type"] == "http.response.start":
                start_message = message
                status_holder["status"] = message["status"]
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body_parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start_message is not None
            await self._send_signed(start_message, b"".join(body_parts), exchange_id, send)

        try:
            await self.app(scope, receive, send_signed)
        finally:
            # Labels from closed sets only (see gateway.metrics): the template, never the path.
            template = getattr(scope.get("route"), "path", UNMATCHED)
            method = method_label(scope.get("method", ""))
            REQUESTS.labels(template, method, str(status_holder.get("status", 500))).inc()
            log.debug(
                "answered",
                extra={"path": scope.get("path"), "ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            current_exchange_id.reset(token)

    async def _send_signed(self, start: Message, body: bytes, exchange_id: str, send: Send) -> None:
        raw_headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        headers = httpx.Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers])
        already_signed = SIGNED_MARKER in headers.get("signature-input", "")
        if not already_signed:
            sign_reply(headers, start["status"], body, exchange_id, self.runtime, self.runtime.clock.now())
        headers["content-length"] = str(len(body))
        out_headers: Any = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.multi_items()]
        await send({"type": "http.response.start", "status": start["status"], "headers": out_headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
