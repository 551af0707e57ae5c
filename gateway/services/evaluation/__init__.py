"""Remote cross-region bid evaluation (远程异地评标): sessions with a main venue and secondary venues in
other cities, a committee drawn reproducibly from the cities' expert pools (through their adapters)
with avoidance rules and a reserve, check-in attested by each venue, declarations, and a live event
stream every venue and supervisor can resume without gaps.

The draw itself is `draw` / `check_record` (pure functions, re-run by `tongban evaluation redraw`).
The service's background task acts on suspension timers that ran out (_suspension.py, _expiry.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.services import DomainService
from gateway.services.evaluation._draw import (
    ALGORITHM,
    ALGORITHMS,
    DrawImpossible,
    check_record,
    draw,
    snapshot_digest,
)
from gateway.services.evaluation._rights import ORGANISE_RIGHT, SUPERVISE_RIGHT, VENUE_RIGHT
from gateway.services.evaluation._states import (
    FLOW,
    STATES,
    TRANSITIONS,
    IllegalTransition,
    SessionNotReady,
    StatePosition,
    legal_targets,
    move,
)

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "DrawImpossible",
    "FLOW",
    "IllegalTransition",
    "ORGANISE_RIGHT",
    "SERVICE",
    "STATES",
    "SUPERVISE_RIGHT",
    "SessionNotReady",
    "StatePosition",
    "TRANSITIONS",
    "VENUE_RIGHT",
    "check_record",
    "draw",
    "legal_targets",
    "move",
    "snapshot_digest",
]

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import APIRouter

    from gateway.demo import DemoContext
    from gateway.runtime import Runtime
    from gateway.services import ServiceFace


def evaluation_routes(face: ServiceFace) -> APIRouter:
    """The routes, imported when the gateway builds its app: `tongban evaluation` imports this package
    and must not load the web and database code."""
    from gateway.services.evaluation._routes import evaluation_routes as routes

    return routes(face)


def _start_live(runtime: Runtime) -> Any:
    """The process's fan-out of live events (imported late, as the routes are)."""
    from gateway.services.evaluation._live import start_hub

    return start_hub(runtime)


async def _stop_live(runtime: Runtime) -> None:
    from gateway.services.evaluation._live import stop_hub

    await stop_hub(runtime)


async def evaluation_background(runtime: Runtime) -> None:
    """Suspension timers that ran out, acted on by the gateway, and (on PostgreSQL) the process's
    LISTEN for other processes' events (imported when the server starts, as the routes are)."""
    import asyncio

    from gateway.services.evaluation._expiry import run_background
    from gateway.services.evaluation._live import listen_for_events

    await asyncio.gather(run_background(runtime), listen_for_events(runtime))


def evaluation_demo(context: DemoContext) -> list[tuple[str, Callable[[], str]]]:
    from gateway.services.evaluation._demo import evaluation_flows

    return evaluation_flows(context)


SERVICE = DomainService(
    name="evaluation",
    rights={
        ORGANISE_RIGHT: "schedule remote evaluation sessions, draw their committees, move them on, replace experts",
        VENUE_RIGHT: "check experts in and take their declarations at the caller's own city's venue",
        SUPERVISE_RIGHT: "supervise evaluation sessions: see the experts' identities and the whole draw record",
    },
    routes=evaluation_routes,
    setup=_start_live,
    background=evaluation_background,
    shutdown=_stop_live,
    demo_flows=evaluation_demo,
    endpoints={
        "evaluations": "/v1/evaluations",
        "evaluation": "/v1/evaluations/{session_id}",
        "evaluation_transitions": "/v1/evaluations/{session_id}/transitions",
        "evaluation_draw": "/v1/evaluations/{session_id}/draw",
        "evaluation_checkins": "/v1/evaluations/{session_id}/checkins",
        "evaluation_declarations": "/v1/evaluations/{session_id}/declarations",
        "evaluation_replacements": "/v1/evaluations/{session_id}/replacements",
        "evaluation_scores": "/v1/evaluations/{session_id}/scores",
        "evaluation_report": "/v1/evaluations/{session_id}/report",
        "evaluation_signatures": "/v1/evaluations/{session_id}/signatures",
        "evaluation_award": "/v1/evaluations/{session_id}/award",
        "evaluation_events": "/v1/evaluations/{session_id}/events",
        "evaluation_record": "/v1/evaluations/{session_id}/record",
        "evaluation_archive": "/v1/evaluations/{session_id}/archive",
    },
)
