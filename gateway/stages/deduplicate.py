"""Stage 4: a request repeated with the same Idempotency-Key gets the stored answer, not a second call."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway import errors
from gateway.exchange import Message
from gateway.storage import idempotency_records

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["deduplicate", "forget", "remember"]


def _fingerprint(exchange: Exchange) -> str:
    request = exchange.request
    digest = hashlib.sha256()
    for part in (request.method, exchange.operation.service_label, request.path, request.query):
        digest.update(part.encode("utf-8") + b"\x00")
    digest.update(hashlib.sha256(request.body).digest())
    return digest.hexdigest()


def _claim(runtime: Runtime, exchange: Exchange, fingerprint: str) -> Message | None:
    assert exchange.caller is not None and exchange.idempotency_key is not None
    now = runtime.clock.now()
    key = (exchange.caller.id, exchange.idempotency_key)
    where = (idempotency_records.c.client_id == key[0], idempotency_records.c.idempotency_key == key[1])
    with runtime.database.write() as connection:
        connection.execute(delete(idempotency_records).where(*where, idempotency_records.c.expires_at < now))
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(idempotency_records).values(
                        client_id=key[0],
                        idempotency_key=key[1],
                        fingerprint=fingerprint,
                        state="pending",
                        exchange_id=exchange.id,
                        created_at=now,
                        expires_at=now + timedelta(seconds=runtime.settings.idempotency_ttl_seconds),
                    )
                )
            return None
        except IntegrityError:
            row = connection.execute(select(idempotency_records).where(*where)).one()
    if row.fingerprint != fingerprint:
        raise errors.IdempotencyKeyReused(
            f"Idempotency-Key {key[1]!r} was used for a different request (exchange {row.exchange_id})"
        )
    if row.state != "done":
        raise errors.IdempotencyInProgress(f"exchange {row.exchange_id} with this key is still running", retry_after=1)
    exchange.replayed_from = row.exchange_id
    return Message(status=row.status_code, headers=httpx.Headers(json.loads(row.headers_json)), body=bytes(row.body))


async def deduplicate(exchange: Exchange, runtime: Runtime) -> None:
    if exchange.idempotency_key is None or exchange.caller is None:
        return
    stored = await runtime.in_thread(_claim, runtime, exchange, _fingerprint(exchange))
    if stored is not None:
        stored.headers["idempotent-replayed"] = "true"
        stored.headers["x-tongban-original-exchange-id"] = exchange.replayed_from or ""
        exchange.reply = stored


def _store(runtime: Runtime, exchange: Exchange) -> None:
    assert exchange.caller is not None and exchange.reply is not None
    reply = exchange.reply
    kept = {
        name: value
        for name, value in reply.headers.items()
        if name not in ("signature", "signature-input", "x-tongban-exchange-id", "content-length")
    }
    with runtime.database.write() as connection:
        connection.execute(
            update(idempotency_records)
            .where(
                idempotency_records.c.client_id == exchange.caller.id,
                idempotency_records.c.idempotency_key == exchange.idempotency_key,
                idempotency_records.c.exchange_id == exchange.id,
            )
            .values(state="done", status_code=reply.status, headers_json=json.dumps(kept), body=reply.body)
        )


async def remember(exchange: Exchange, runtime: Runtime) -> None:
    """Last stage: keep the answer for later duplicates (only once it is audited)."""
    if exchange.idempotency_key is None or exchange.replayed_from is not None or exchange.reply is None:
        return
    await runtime.in_thread(_store, runtime, exchange)


def _release(runtime: Runtime, exchange: Exchange) -> None:
    assert exchange.caller is not None
    with runtime.database.write() as connection:
        connection.execute(
            delete(idempotency_records).where(
                idempotency_records.c.client_id == exchange.caller.id,
                idempotency_records.c.idempotency_key == exchange.idempotency_key,
                idempotency_records.c.exchange_id == exchange.id,
                idempotency_records.c.state == "pending",
            )
        )


async def forget(exchange: Exchange, runtime: Runtime) -> None:
    """After a failure, free the key so the caller can retry with it."""
    if exchange.idempotency_key is None or exchange.caller is None or exchange.replayed_from is not None:
        return
    await runtime.in_thread(_release, runtime, exchange)
