"""Stage 2: may this member call this service?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import errors
from gateway.registry import has_right

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["authorise"]


def _check(runtime: Runtime, client_id: str, right: str) -> None:
    with runtime.database.read() as connection:
        if not has_right(connection, client_id, right):
            raise errors.AccessDenied(f"{client_id} has no access right to {right}")


async def authorise(exchange: Exchange, runtime: Runtime) -> None:
    assert exchange.caller is not None, "authenticate runs first"
    if exchange.operation.not_found:
        raise errors.UnknownService(exchange.operation.not_found)
    right = exchange.operation.required_right
    if right is None:
        return
    await runtime.in_thread(_check, runtime, exchange.caller.id, right)
