"""Stage 9: check the partner's answer before any of it reaches the caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["verify_response"]


async def verify_response(exchange: Exchange, runtime: Runtime) -> None:
    await exchange.operation.verify_response(exchange, runtime)
