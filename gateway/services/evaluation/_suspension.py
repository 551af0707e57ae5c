"""The suspension timer: a session suspended with `resume_within_minutes` (default 60, 1 to 1440) must be
resumed (back to where it was) or its committee re-formed (to scheduled) by `resume_by`; if neither
happens, the gateway moves it itself (gateway/services/evaluation/_expiry.py):

    suspended before evaluation started   re-formed: to scheduled, the committee dissolved as a re-form
                                          by the organiser dissolves it; the next draw starts over
    suspended from evaluating on          aborted: marks have been given, and a new committee must not
                                          inherit them; whether to evaluate again is the organiser's call

The deadline lives in the session's document ({"since", "resume_by"}, both ISO 8601 UTC), shown in the
session's view while it is suspended and gone when the session leaves suspended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from gateway import errors
from gateway.services.evaluation._states import FLOW

__all__ = [
    "DEFAULT_RESUME_MINUTES",
    "EXPIRED_REASON",
    "MAX_RESUME_MINUTES",
    "mark_suspension",
    "resume_window",
    "timer_target",
]

DEFAULT_RESUME_MINUTES: Final = 60
MAX_RESUME_MINUTES: Final = 1440
EXPIRED_REASON: Final = "suspension timer expired"


def resume_window(payload: dict[str, Any], to: str) -> int | None:
    """The minutes a suspension allows (None for any other move); InvalidContent if out of bounds."""
    given = payload.get("resume_within_minutes")
    if to != "suspended":
        if given is not None:
            raise errors.InvalidContent("`resume_within_minutes` goes with a move to suspended only")
        return None
    minutes = DEFAULT_RESUME_MINUTES if given is None else given
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_RESUME_MINUTES:
        raise errors.InvalidContent(f"`resume_within_minutes` must be a whole number from 1 to {MAX_RESUME_MINUTES}")
    return minutes


def mark_suspension(document: dict[str, Any], to: str, now: datetime, minutes: int | None) -> dict[str, Any]:
    """Start the timer on a move to suspended, drop it on any other move; what the event adds."""
    if to != "suspended" or minutes is None:
        document.pop("suspension", None)
        return {}
    resume_by = (now + timedelta(minutes=minutes)).isoformat()
    document["suspension"] = {"since": now.isoformat(), "resume_by": resume_by}
    return {"resume_by": resume_by}


def timer_target(paused_from: str | None) -> str:
    """Where an expired suspension goes: scheduled (re-formed) before marks exist, else aborted."""
    if paused_from in FLOW and FLOW.index(paused_from) >= FLOW.index("evaluating"):
        return "aborted"
    return "scheduled"
