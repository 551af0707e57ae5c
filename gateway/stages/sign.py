"""Stages 6 and 11: the gateway signs what it forwards and what it answers (RFC 9421)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from trust import RequestView, ResponseView, content_digest, sign_envelope, sign_message

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.exchange import Exchange, Message
    from gateway.runtime import Runtime

__all__ = [
    "FORWARDED_REQUEST_COMPONENTS",
    "RESPONSE_COMPONENTS",
    "STREAM_HEAD_COMPONENTS",
    "sign_reply",
    "sign_request",
    "sign_response",
    "sign_soap_envelope",
]

RESPONSE_COMPONENTS = ("@status", "content-digest", "x-tongban-exchange-id")
# A streamed answer's body does not exist yet when its head leaves: RFC 9421 signs only what is in
# the message when it is signed, so the head is signed without Content-Digest (RFC 9530 digests a
# whole body) and each event the stream carries is signed on its own.
STREAM_HEAD_COMPONENTS = ("@status", "x-tongban-exchange-id")
FORWARDED_REQUEST_COMPONENTS = (
    "@method",
    "@target-uri",
    "content-digest",
    "x-tongban-client",
    "x-tongban-exchange-id",
)


def sign_reply(
    headers: httpx.Headers,
    status: int,
    body: bytes | None,
    exchange_id: str,
    runtime: Runtime,
    now: datetime,
) -> None:
    """Set X-Tongban-Exchange-Id and Content-Digest, and sign them with the status.

    Every answer the gateway gives goes through here; a streamed one (`body` None) has no digest.
    """
    key = runtime.signing_key()
    headers["x-tongban-exchange-id"] = exchange_id
    components: tuple[str, ...] = STREAM_HEAD_COMPONENTS
    if body is not None:
        headers["content-digest"] = content_digest(body)
        components = RESPONSE_COMPONENTS
    view = ResponseView(status, headers)
    sign_message(view, private_key=key.private_key, keyid=key.kid, components=components, created=now)


async def sign_request(exchange: Exchange, runtime: Runtime) -> None:
    outbound = exchange.outbound
    if outbound is None:
        return
    assert exchange.caller is not None
    key = runtime.signing_key()
    outbound.headers["x-tongban-client"] = exchange.caller.id
    outbound.headers["x-tongban-exchange-id"] = exchange.id
    outbound.headers["content-digest"] = content_digest(outbound.body)
    view = RequestView(outbound.method, outbound.url, outbound.headers)
    sign_message(
        view,
        private_key=key.private_key,
        keyid=key.kid,
        components=FORWARDED_REQUEST_COMPONENTS,
        created=runtime.clock.now(),
    )


def sign_soap_envelope(envelope: Any, runtime: Runtime) -> bytes:
    """WS-Security on an answer envelope, with the gateway's SOAP key and certificate; the bytes to send."""
    key, certificate = runtime.soap_identity()
    sign_envelope(envelope, private_key=key.private_key, certificate=certificate, now=runtime.clock.now())
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


async def sign_response(exchange: Exchange, runtime: Runtime) -> None:
    reply: Message | None = exchange.reply
    assert reply is not None, "translate_response (or deduplicate) sets the reply"
    if exchange.soap is not None and exchange.soap.reply is not None:
        reply.body = await runtime.in_thread(sign_soap_envelope, exchange.soap.reply, runtime)
    body = None if reply.stream is not None else reply.body
    sign_reply(reply.headers, reply.status, body, exchange.id, runtime, runtime.clock.now())
