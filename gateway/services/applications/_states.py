"""The application's state machine as data: which state may follow which, and who may report it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from gateway import errors
from gateway.canonical import ApplicationState

__all__ = [
    "CLOCK_STOPPED",
    "FINISHED",
    "LABELS",
    "RECEIVING_SIDE_STATES",
    "STATES",
    "TERMINAL",
    "TRANSITIONS",
    "check_transition",
]

STATES: Final[tuple[ApplicationState, ...]] = (
    "received",
    "accepted",
    "correction",
    "processing",
    "concluded",
    "delivered",
    "not_accepted",
    "returned",
    "withdrawn",
)

LABELS: Final = MappingProxyType(
    {
        "received": "收件",
        "accepted": "受理",
        "correction": "补正",
        "processing": "办理中",
        "concluded": "办结",
        "delivered": "送达",
        "not_accepted": "不予受理",
        "returned": "退回",
        "withdrawn": "撤回",
    }
)

# 收件 → 受理 → (补正 ↔ 受理) → 办理中 → 办结 → 送达; 不予受理 only from 收件; 退回 and 撤回 until 办结.
TRANSITIONS: Final[MappingProxyType[str, frozenset[str]]] = MappingProxyType(
    {
        "received": frozenset({"accepted", "not_accepted", "returned", "withdrawn"}),
        "accepted": frozenset({"correction", "processing", "returned", "withdrawn"}),
        "correction": frozenset({"accepted", "returned", "withdrawn"}),
        "processing": frozenset({"concluded", "returned", "withdrawn"}),
        "concluded": frozenset({"delivered"}),
        "delivered": frozenset(),
        "not_accepted": frozenset(),
        "returned": frozenset(),
        "withdrawn": frozenset(),
    }
)

TERMINAL: Final = frozenset(state for state, after in TRANSITIONS.items() if not after)
FINISHED: Final = frozenset({"concluded", "delivered"})  # the promised limit is met (or missed) at 办结
CLOCK_STOPPED: Final = frozenset({"correction"})  # waiting for the applicant: the limit does not run
# 撤回 is the applicant's, through the receiving window; every other change is the handling system's.
RECEIVING_SIDE_STATES: Final = frozenset({"withdrawn"})


def check_transition(current: str, wanted: str) -> None:
    """Nothing if `wanted` may follow `current`; IllegalTransition (409) naming both otherwise."""
    if wanted not in TRANSITIONS:
        raise errors.InvalidContent(f"unknown state {wanted!r}; states: {', '.join(STATES)}")
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (a final state)"
        raise errors.IllegalTransition(
            f"an application in {current} ({LABELS[current]}) cannot move to {wanted} ({LABELS[wanted]}); "
            f"allowed: {allowed}"
        )
