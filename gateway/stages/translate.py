"""Stages 5 and 10: translate the request for the partner, and its answer back for the caller.

The mapping itself belongs to the operation (and, for partner formats, to its adapter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["translate_request", "translate_response"]


async def translate_request(exchange: Exchange, runtime: Runtime) -> None:
    await exchange.operation.translate_request(exchange, runtime)


async def translate_response(exchange: Exchange, runtime: Runtime) -> None:
    await exchange.operation.translate_response(exchange, runtime)
