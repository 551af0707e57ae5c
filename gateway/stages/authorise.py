"""Stage 2: may this member call this service?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import errors

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["authorise"]


async def authorise(exchange: Exchange, runtime: Runtime) -> None:
    assert exchange.caller is not None, "authenticate runs first"
    if exchange.operation.not_found:
        raise errors.UnknownService(exchange.operation.not_found)
    right = exchange.operation.required_right
    if right is None:
        return
    if not await runtime.registry.has_right(exchange.caller.id, right, runtime.in_thread):
        raise errors.AccessDenied(f"{exchange.caller.id} has no access right to {right}")
