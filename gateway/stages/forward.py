"""Stage 8: send the request to the partner system (or compute a local operation's result)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["forward"]


async def forward(exchange: Exchange, runtime: Runtime) -> None:
    await exchange.operation.forward(exchange, runtime)
