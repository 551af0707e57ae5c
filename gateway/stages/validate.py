"""Stage 3: is the request well formed for this operation (purpose, size, content)?"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway import errors

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["validate"]

PURPOSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


async def validate(exchange: Exchange, runtime: Runtime) -> None:
    headers = exchange.request.headers
    purpose = headers.get("x-tongban-purpose")
    if purpose is not None:
        if not PURPOSE.match(purpose):
            raise errors.InvalidContent(
                "X-Tongban-Purpose must be a purpose code (letters, digits, '.', '_', ':', '-')"
            )
        exchange.purpose = purpose
    elif exchange.operation.purpose_required:
        raise errors.PurposeRequired(f"{exchange.operation.service_label} requires X-Tongban-Purpose")
    key = headers.get("idempotency-key")
    if key is not None:
        if not IDEMPOTENCY_KEY.match(key):
            raise errors.InvalidContent("Idempotency-Key must be 1 to 200 visible ASCII characters")
        exchange.idempotency_key = key
    limit = exchange.operation.max_body_bytes or runtime.settings.max_body_bytes
    if len(exchange.request.body) > limit:
        raise errors.PayloadTooLarge(f"the body has {len(exchange.request.body)} bytes; this service takes {limit}")
    await exchange.operation.prepare(exchange, runtime)
