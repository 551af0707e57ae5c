"""The service-handling desk both cities' sandboxes share: it keeps the applications a gateway sent,
moves them through their states on its own (every `step_seconds`; 0: only when told) and reports
each change back to the gateway as a registered member would, signed (JWT client assertion and
RFC 9421) with the handling system's own key.

The wire formats stay in each city's sandbox; the desk speaks only the canonical model, and the
gateway's own `POST /v1/applications/{id}/events` (which is the gateway's format, not a city's).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from gateway.canonical import ApplicationState, ApplicationStatus, ApplicationSubmission

__all__ = ["AUTOMATIC_PATH", "HandlingDesk", "Reporter"]

_log = logging.getLogger(__name__)

# What the desk does on its own, one step each `step_seconds`: 受理, 办理, 办结 with a result, 送达.
AUTOMATIC_PATH: Final[tuple[ApplicationState, ...]] = ("accepted", "processing", "concluded", "delivered")
_NEXT: Final[dict[str, ApplicationState]] = {
    "received": "accepted",
    "accepted": "processing",
    "processing": "concluded",
    "concluded": "delivered",
}
_REPORT_ATTEMPTS: Final = 8


@dataclass(frozen=True)
class Reporter:
    """Who the desk reports as: the handling system's member id and a way to sign a request
    (gateway.client.MemberCredentials.signed_headers, or any function with its signature)."""

    member_id: str
    signed_headers: Callable[..., httpx.Headers]


@dataclass
class _Case:
    status: ApplicationStatus
    submission: ApplicationSubmission
    reports: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    stepper: asyncio.Task[None] | None = None
    sender: asyncio.Task[None] | None = None


class HandlingDesk:
    """The applications one city's handling system holds, in memory."""

    def __init__(
        self,
        city: str,
        *,
        reporter: Reporter | None = None,
        step_seconds: float = 0.0,
        now: Callable[[], datetime] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.city = city
        self.reporter = reporter
        self.step_seconds = step_seconds
        self._now = now or (lambda: datetime.now(UTC))
        self._transport = transport
        self._cases: dict[str, _Case] = {}
        self._audiences: dict[str, str] = {}

    def status(self, application_id: str) -> ApplicationStatus | None:
        case = self._cases.get(application_id)
        return None if case is None else case.status

    def receive(self, submission: ApplicationSubmission) -> ApplicationStatus:
        """Take an application in (收件); the same application again answers what is held (idempotent)."""
        held = self._cases.get(submission.application_id)
        if held is not None:
            return held.status
        status = ApplicationStatus(
            application_id=submission.application_id,
            item_code=submission.item_code,
            state="received",
            updated_at=self._now(),
            note=f"{submission.applicant.name}的申请已收件",
        )
        case = _Case(status, submission)
        self._cases[submission.application_id] = case
        if self.step_seconds > 0:
            case.stepper = asyncio.get_running_loop().create_task(self._step_on(case))
        return status

    def move(self, application_id: str, state: ApplicationState, note: str | None = None) -> ApplicationStatus | None:
        """Change an application's state (the clerk's decision) and report it; None if unknown."""
        case = self._cases.get(application_id)
        if case is None:
            return None
        self._change(case, state, note)
        if self.step_seconds > 0 and state in _NEXT and (case.stepper is None or case.stepper.done()):
            case.stepper = asyncio.get_running_loop().create_task(self._step_on(case))  # e.g. on after 补正
        return case.status

    def _change(self, case: _Case, state: ApplicationState, note: str | None) -> None:
        case.status = case.status.model_copy(update={"state": state, "updated_at": self._now(), "note": note})
        report: dict[str, Any] = {"state": state, "note": note}
        if state == "concluded":
            report["result"] = {
                "decision": "approved",
                "document_number": f"{self.city}-{case.submission.item_code}-{case.submission.application_id[-8:]}",
                "title": f"{case.submission.item_name}办结通知书",
            }
        if self.reporter is not None and case.submission.report_to:
            case.reports.put_nowait(report)
            if case.sender is None or case.sender.done():
                case.sender = asyncio.get_running_loop().create_task(self._send_reports(case))

    async def _step_on(self, case: _Case) -> None:
        while case.status.state in _NEXT:
            await asyncio.sleep(self.step_seconds)
            if case.status.state not in _NEXT:  # told otherwise meanwhile (补正, 退回, ...)
                return
            following = _NEXT[case.status.state]
            self._change(case, following, "自动办理" if following != "concluded" else "准予许可")

    async def _send_reports(self, case: _Case) -> None:
        """Each report in order; a report the gateway cannot take now is tried again, with back-off."""
        assert self.reporter is not None and case.submission.report_to
        async with httpx.AsyncClient(transport=self._transport, trust_env=False, timeout=10) as http:
            while not case.reports.empty():
                report = case.reports.get_nowait()
                for attempt in range(_REPORT_ATTEMPTS):
                    try:
                        if await self._post(http, case.submission.report_to, report):
                            break
                    except httpx.HTTPError as exc:
                        _log.warning("reporting %s to the gateway failed: %s", case.status.application_id, exc)
                    await asyncio.sleep(min(0.2 * 2**attempt, 5))

    async def _post(self, http: httpx.AsyncClient, url: str, report: dict[str, Any]) -> bool:
        """True when the gateway took the report, or refused it for good (4xx: trying again cannot help)."""
        assert self.reporter is not None
        base = url.split("/v1/", 1)[0]
        if base not in self._audiences:
            info = (await http.get(f"{base}/.well-known/tongban")).json()
            self._audiences[base] = str(info["gateway_id"])
        body = json.dumps(report, ensure_ascii=False).encode("utf-8")
        headers = self.reporter.signed_headers(
            "POST",
            url,
            body,
            audience=self._audiences[base],
            headers={"content-type": "application/json"},
            now=self._now(),
        )
        answer = await http.post(url, content=body, headers=headers)
        if answer.status_code >= 500:
            return False
        if answer.status_code >= 400:
            _log.warning("the gateway refused a report: HTTP %s %s", answer.status_code, answer.text[:300])
        return True

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The sandbox app's lifespan: the desk's tasks stop with the server."""
        try:
            yield
        finally:
            for case in self._cases.values():
                for task in (case.stepper, case.sender):
                    if task is not None:
                        task.cancel()
