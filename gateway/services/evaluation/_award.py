"""The award's publication (中标候选人公示), after which every reader of the session sees the committee
as the notice names it (_disclosure.py).

    POST .../award   {"notice_url", "published_at"?} once the session is signed (or archived after
                     being signed) [evaluation.organise]; once only
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway import errors
from gateway.exchange import Exchange
from gateway.services.evaluation._disclosure import award_published
from gateway.services.evaluation._sessions import Handler, Session, _body, _changed_view, _only, _text
from gateway.services.evaluation._states import FLOW, SessionNotReady

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["publish_award"]


def _signed(session: Session) -> bool:
    state = session.position.paused_from or session.position.state
    return state in FLOW and FLOW.index(state) >= FLOW.index("signed")


def publish_award(session_id: str) -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        payload = _body(exchange)
        _only(payload, {"notice_url", "published_at"})
        notice = _text(payload, "notice_url", high=500)
        if urlsplit(notice).scheme not in ("https", "http") or not urlsplit(notice).netloc:
            raise errors.InvalidContent("`notice_url` must be the http(s) address of the published award notice")
        now = runtime.clock.now()
        published_at = now
        if payload.get("published_at") is not None:
            try:
                published_at = datetime.fromisoformat(_text(payload, "published_at", high=40))
            except ValueError as exc:
                raise errors.InvalidContent("`published_at` must be an ISO 8601 time with its offset") from exc
            if published_at.utcoffset() is None or published_at > now:
                raise errors.InvalidContent("`published_at` must carry its offset and not lie in the future")

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            if not _signed(session) or session.position.state == "aborted":
                raise SessionNotReady(
                    f"the award is published after every member signed the report, not in {session.position.state}"
                )
            if award_published(session.document):
                raise errors.Conflict(f"the award of session {session.id} is published already")
            award = {
                "notice_url": notice,
                "published_at": published_at.isoformat(),
                "recorded_by": exchange.caller.id,  # type: ignore[union-attr]
            }
            session.document["award"] = award
            return [("award_published", award)]

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle
