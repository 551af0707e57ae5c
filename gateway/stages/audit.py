"""Stages 7 and 12: write the audit entry before forwarding and before answering (fail closed).

The request entry goes with the caller's spent token (jti) in one durable write: a replayed token
fails there, before anything is forwarded, and its exchange leaves no request entry. An operation
that is not audited still spends the token at this point."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from gateway import errors
from gateway.audit import BodyToKeep
from gateway.logs import log
from trust import content_digest

if TYPE_CHECKING:
    import httpx

    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = [
    "audit_event",
    "audit_failure",
    "audit_gateway_event",
    "audit_request",
    "audit_response",
    "audit_stream_closed",
]

# The headers that make a kept message evidence: what was signed, by whom, about what.
EVIDENCE_HEADERS = (
    "authorization",
    "content-type",
    "content-digest",
    "signature-input",
    "signature",
    "x-tongban-purpose",
    "idempotency-key",
    "x-tongban-exchange-id",
)


def _entry_head(exchange: Exchange, kind: str, runtime: Runtime) -> dict[str, Any]:
    """What every entry of an exchange says: its kind, the exchange, when, which gateway, who called."""
    return _head(kind, exchange.id, exchange.caller.id if exchange.caller else None, runtime)


def _head(kind: str, exchange_id: str, client: str | None, runtime: Runtime) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": kind,
        "exchange_id": exchange_id,
        "time": runtime.clock.now().isoformat(timespec="microseconds"),
        "gateway": runtime.settings.gateway_id,
        "client": client,
    }


def _base(exchange: Exchange, kind: str, runtime: Runtime) -> dict[str, Any]:
    operation = exchange.operation
    return {
        **_entry_head(exchange, kind, runtime),
        "provider": operation.provider,
        "operation": operation.name,
        "service": operation.service_label,
    }


async def audit_event(exchange: Exchange, runtime: Runtime, kind: str, **fields: Any) -> int | None:
    """A domain service's own entry within an exchange (an application's state change, an evaluation
    event): durable when this returns, so the service stores the change it records after it. Its
    index, or None when the log keeps no index (a test's stand-in log)."""
    entry = {**_entry_head(exchange, kind, runtime), **fields}
    receipt = await runtime.audit_log.append(entry, exchange_id=exchange.id)
    return None if receipt is None else receipt.index


async def audit_gateway_event(runtime: Runtime, exchange_id: str, kind: str, **fields: Any) -> int | None:
    """An entry for what the gateway does by itself, with no caller (an evaluation's suspension timer
    running out): the same head, client null, and an exchange id the gateway made for the act (one per
    act, new_exchange_id), so its entries are found together as an exchange's are. Durable when this
    returns; its index, or None when the log keeps no index."""
    entry = {**_head(kind, exchange_id, None, runtime), **fields}
    receipt = await runtime.audit_log.append(entry, exchange_id=exchange_id)
    return None if receipt is None else receipt.index


def _timings_us(exchange: Exchange) -> dict[str, int]:
    # Integers: canonical JSON of floats is exact but harder for a reader to reproduce by hand.
    return {stage: round(ms * 1000) for stage, ms in exchange.timings_ms.items()}


def _kept_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in EVIDENCE_HEADERS if name in headers}


def _envelope(**fields: Any) -> bytes:
    body: bytes = fields.pop("body")
    return json.dumps({**fields, "body_b64": base64.b64encode(body).decode("ascii")}, ensure_ascii=False).encode()


async def _append(
    exchange: Exchange, runtime: Runtime, entry: dict[str, Any] | None, body: BodyToKeep | None = None
) -> None:
    """Append the entry, spending the exchange's token with it if not spent yet."""
    token, exchange.token_to_spend = exchange.token_to_spend, None
    try:
        receipt = await runtime.audit_log.append(entry, exchange_id=exchange.id, body=body, token=token)
    except errors.AuditUnavailable:
        exchange.token_to_spend = token  # not written: still to spend
        raise
    if receipt is not None:
        exchange.audit_indexes.append(receipt.index)


async def audit_request(exchange: Exchange, runtime: Runtime) -> None:
    if not exchange.operation.audited:
        if exchange.token_to_spend is not None:
            await _append(exchange, runtime, None)
        return
    request = exchange.request
    entry = _base(exchange, "exchange.request", runtime)
    entry.update(
        {
            "received_at": exchange.received_at.isoformat(timespec="microseconds"),
            "method": request.method,
            "target": request.path + (f"?{request.query}" if request.query else ""),
            "purpose": exchange.purpose,
            "token_id": exchange.token_id,
            "idempotency_key": exchange.idempotency_key,
            "request_digest": content_digest(request.body),
            "caller_signature": exchange.caller_signature,
            "decision": "replay" if exchange.answered else "forward",
            "replayed_from": exchange.replayed_from,
        }
    )
    if exchange.outbound is not None:
        entry["forwarded"] = {
            "method": exchange.outbound.method,
            "url": exchange.outbound.url,
            "digest": exchange.outbound.headers.get("content-digest"),
            "signature_input": exchange.outbound.headers.get("signature-input"),
            "signature": exchange.outbound.headers.get("signature"),
        }
    body = None
    if runtime.settings.audit_keep_bodies:
        content = _envelope(
            method=request.method,
            target_uri=request.url,
            headers=_kept_headers(request.headers),
            body=request.body,
        )
        body = BodyToKeep("request", content)
    await _append(exchange, runtime, entry, body)


async def audit_response(exchange: Exchange, runtime: Runtime) -> None:
    if not exchange.operation.audited:
        return
    reply = exchange.reply
    assert reply is not None
    if reply.stream is not None:
        return  # its entry is written when the stream closes: audit_stream_closed
    entry = _base(exchange, "exchange.response", runtime)
    entry.update(
        {
            "status": reply.status,
            "outcome": "replayed" if exchange.replayed_from else "answered",
            "response_digest": reply.headers.get("content-digest"),
            "gateway_signature": {
                "signature_input": reply.headers.get("signature-input"),
                "signature": reply.headers.get("signature"),
            },
            "timings_us": _timings_us(exchange),
        }
    )
    if exchange.upstream is not None:
        entry["upstream"] = {
            "status": exchange.upstream.status,
            "digest": content_digest(exchange.upstream.body),
            "signature": exchange.upstream_signature,
        }
    body = None
    if runtime.settings.audit_keep_bodies:
        content = _envelope(status=reply.status, headers=_kept_headers(reply.headers), body=reply.body)
        body = BodyToKeep("response", content)
    await _append(exchange, runtime, entry, body)


async def audit_stream_closed(
    exchange: Exchange,
    runtime: Runtime,
    *,
    items_sent: int,
    last_item: int | None,
    sent_digest: str,
    cancelled: bool = False,
) -> None:
    """The response entry of a streamed answer, when the stream closes: its signed head, how many
    items it carried, the last one's id, and the Content-Digest of every byte it sent (what the
    body's digest would have been, had it been one body). A `cancelled` stream (the client gone,
    the server stopping) writes it in one transaction right here: the event loop may be ending,
    and the log's group-commit task with it."""
    if not exchange.operation.audited:
        return
    reply = exchange.reply
    assert reply is not None
    entry = _base(exchange, "exchange.response", runtime)
    entry.update(
        {
            "status": reply.status,
            "outcome": "streamed",
            "response_digest": sent_digest,
            "items_sent": items_sent,
            "last_item": last_item,
            "gateway_signature": {
                "signature_input": reply.headers.get("signature-input"),
                "signature": reply.headers.get("signature"),
            },
            "timings_us": _timings_us(exchange),
        }
    )
    append_now = getattr(runtime.audit_log, "append_now", None)
    if cancelled and append_now is not None and exchange.token_to_spend is None:
        exchange.audit_indexes.append(append_now(entry, exchange_id=exchange.id).index)
        return
    await _append(exchange, runtime, entry)


async def audit_failure(exchange: Exchange, runtime: Runtime, error: errors.TongbanError, stage: str) -> None:
    """Record a refused or failed exchange of an authenticated caller.

    Once the request entry exists this must succeed (the exchange is not acknowledged otherwise,
    so the caller gets AuditUnavailable); before that it is best effort: nothing was forwarded.
    """
    if exchange.caller is None:
        return
    if isinstance(error, errors.ReplayedToken):
        # Whoever replays a captured request is not its signer: no entry is written in the
        # signer's name (the log line keeps the attempt), and a replay costs no durable write.
        log.warning("replayed client assertion refused", extra={"client": exchange.caller.id, "stage": stage})
        return
    if not exchange.operation.audited:
        if exchange.token_to_spend is not None:  # a refused call spends its token all the same
            await _append(exchange, runtime, None)
        return
    entry = _base(exchange, "exchange.failed", runtime)
    entry.update(
        {
            "method": exchange.request.method,
            "target": exchange.request.path,
            "stage": stage,
            "code": error.code,
            "status": error.status,
            "timings_us": _timings_us(exchange),
        }
    )
    if error.internal:
        # The client and the provider may read this entry; the detail (a partner's address, a
        # library's message) stays in the log, and its digest here ties that log line to the entry.
        entry["internal_sha256"] = hashlib.sha256(error.internal.encode("utf-8")).hexdigest()
    try:
        await _append(exchange, runtime, entry)
    except errors.AuditUnavailable:
        if exchange.audit_indexes:
            raise
        log.warning("could not audit a refused exchange", extra={"code": error.code, "stage": stage})
