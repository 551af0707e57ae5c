"""The evaluation session's state machine, kept as data: which state may follow which, and the
pauses (delayed, suspended) that return to the state they interrupted.

    scheduled -> committee_drawn -> checking_in -> committee_complete -> declarations -> evaluating
      -> scores_locked -> report_drafted -> signing -> signed -> archived
    delayed    from scheduled, committee_drawn or checking_in; back to where it was, or aborted
    suspended  from any state from scheduled to signing; back to where it was, to scheduled (the
               committee is re-formed: drawn again), or aborted; with a timer (_suspension.py)
    aborted    ends the session; only archived follows
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import Final

from gateway import errors

__all__ = [
    "FLOW",
    "IllegalTransition",
    "PAUSES",
    "RESUME",
    "STATES",
    "SessionNotReady",
    "StatePosition",
    "TRANSITIONS",
    "legal_targets",
    "move",
]

FLOW: Final = (
    "scheduled",
    "committee_drawn",
    "checking_in",
    "committee_complete",
    "declarations",
    "evaluating",
    "scores_locked",
    "report_drafted",
    "signing",
    "signed",
    "archived",
)
PAUSES: Final = ("delayed", "suspended")
STATES: Final = (*FLOW, *PAUSES, "aborted")

RESUME: Final = "<resume>"
"""In TRANSITIONS: the state the pause interrupted (kept beside the state while paused)."""

_DELAYABLE: Final = frozenset({"scheduled", "committee_drawn", "checking_in"})
_SUSPENDABLE: Final = frozenset(FLOW[: FLOW.index("signing") + 1])


def _table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {state: set() for state in STATES}
    for here, following in pairwise(FLOW):
        table[here].add(following)
    for state in _DELAYABLE:
        table[state].add("delayed")
    for state in _SUSPENDABLE:
        table[state] |= {"suspended", "aborted"}
    table["delayed"] = {RESUME, "aborted"}
    table["suspended"] = {RESUME, "scheduled", "aborted"}
    table["aborted"] = {"archived"}
    return {state: frozenset(targets) for state, targets in table.items()}


TRANSITIONS: Final = MappingProxyType(_table())


class IllegalTransition(errors.Conflict):
    code = "evaluation.illegal_transition"
    title = "Illegal state transition for this evaluation session"


class SessionNotReady(errors.Conflict):
    code = "evaluation.not_ready"
    title = "The evaluation session is not ready for this step"


@dataclass(frozen=True)
class StatePosition:
    """Where a session stands: its state and, while paused, the state the pause interrupted."""

    state: str
    paused_from: str | None = None


def legal_targets(position: StatePosition) -> frozenset[str]:
    """The states that may follow, with RESUME replaced by the interrupted state."""
    targets = TRANSITIONS[position.state]
    if RESUME in targets:
        assert position.paused_from is not None
        targets = (targets - {RESUME}) | {position.paused_from}
    return targets


def move(position: StatePosition, to: str) -> StatePosition:
    """The position after going to `to`; IllegalTransition if the table does not allow it."""
    if to not in STATES:
        raise errors.InvalidContent(f"`to` must be one of the states: {', '.join(STATES)}")
    allowed = legal_targets(position)
    if to not in allowed:
        may = ", ".join(sorted(allowed)) or "none"
        raise IllegalTransition(f"a session in state {position.state} cannot go to {to}; it may go to: {may}")
    if to in PAUSES:
        return StatePosition(to, position.state)
    return StatePosition(to)
