"""The applications operations: submit, read, list, report a state change, rate, statistics.

Each runs through the pipeline (authentication, rights, audit, signing). Every state change, every
licence fetched for a material and every rating also gets an audit entry of its own, naming the
application (`application_id`), written before the change is stored; its index is kept with the
event, so the timeline points into the log.

Forwarding uses an outbox: the application is stored as 收件 before it is handed to the handling
city; if that city's system cannot take it now, the answer is still 201 (`forwarded: false`) and the
service's background task hands it over again until it is taken. Nothing is lost on a partner's
failure, and the handling system's reports can never arrive for an application the gateway lacks.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from gateway import errors
from gateway.canonical import ApplicationSubmission, Party, SubmittedMaterial
from gateway.clock import new_exchange_id
from gateway.operations import AnsweredByTheGateway, page_of
from gateway.services.applications import _store
from gateway.services.applications._calendar import CalendarNotCovered, add_working_days
from gateway.services.applications._rules import (
    RATING_LEVELS,
    REASON_REQUIRED,
    SubmissionRequest,
    limit_of,
    parse_submission,
    view,
)
from gateway.services.applications._states import (
    FINISHED,
    LABELS,
    RECEIVING_SIDE_STATES,
    STATES,
    TERMINAL,
    check_transition,
)
from gateway.services.applications._store import Event, Rating, StoredApplication, local_day
from gateway.services.recognition import CONSENT_HEADER, recognition_of, verify_consent
from gateway.stages.audit import audit_event
from trust import JsonRejected, content_digest, parse_json

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime
    from gateway.services.applications._service import Applications

__all__ = [
    "DEFAULT_PURPOSE",
    "GetApplication",
    "ListApplications",
    "RATE_RIGHT",
    "REPORT_RIGHT",
    "RateApplication",
    "ReportEvent",
    "SUBMIT_RIGHT",
    "SUPERVISE_RIGHT",
    "SubmitApplication",
    "ApplicationStats",
    "forward_application",
]

SUBMIT_RIGHT: Final = "applications.submit"
REPORT_RIGHT: Final = "applications.report"
SUPERVISE_RIGHT: Final = "applications.supervise"
RATE_RIGHT: Final = SUBMIT_RIGHT  # the applicant rates through the receiving window
DEFAULT_PURPOSE: Final = "application.materials"  # what a consent must allow when no X-Tongban-Purpose is sent


def applications_of(runtime: Runtime) -> Applications:
    from gateway.services.applications._service import applications_state

    return applications_state(runtime)


def _body(exchange: Exchange) -> Any:
    try:
        return parse_json(exchange.request.body)
    except JsonRejected as exc:
        raise errors.InvalidContent("the body must be JSON") from exc


async def _audit(exchange: Exchange, runtime: Runtime, kind: str, application_id: str, **details: Any) -> int | None:
    """An audit entry of the application's own, durable before the change it records is stored."""
    return await audit_event(exchange, runtime, kind, application_id=application_id, **details)


async def _may_see(runtime: Runtime, exchange: Exchange, application: StoredApplication | None) -> StoredApplication:
    """The application if the caller's city receives or handles it, or the caller supervises; else
    404, the same answer as for an application that does not exist."""
    assert exchange.caller is not None
    if application is not None:
        if exchange.caller.city in (application.receiving_city, application.handling_city):
            return application
        if await runtime.registry.has_right(exchange.caller.id, SUPERVISE_RIGHT, runtime.in_thread):
            return application
    raise errors.NotFound("no such application")


async def _visible_cities(runtime: Runtime, exchange: Exchange) -> frozenset[str] | None:
    assert exchange.caller is not None
    if await runtime.registry.has_right(exchange.caller.id, SUPERVISE_RIGHT, runtime.in_thread):
        return None
    return frozenset({exchange.caller.city})


@dataclass
class _ApplicationOperation(AnsweredByTheGateway):
    name: str
    required_right: str | None = None
    audited: bool = True
    purpose_required: bool = False
    max_body_bytes: int | None = 16 * 1024 * 1024
    not_found: str | None = None
    status: int = 200

    async def _read(self, runtime: Runtime, application_id: str) -> StoredApplication | None:
        def read() -> StoredApplication | None:
            with runtime.database.read() as connection:
                return _store.find_application(connection, application_id)

        return await runtime.in_thread(read)


# ---- submit -------------------------------------------------------------------------------------------


@dataclass
class SubmitApplication(_ApplicationOperation):
    """POST /v1/applications: a receiving window hands in an application for the other city."""

    name: str = "applications.submit"
    required_right: str | None = SUBMIT_RIGHT
    status: int = 201
    payload: Any = None  # set by the SOAP face; REST reads the body
    request: SubmissionRequest | None = None
    application_id: str = ""

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None
        state = applications_of(runtime)
        body = self.payload if self.payload is not None else _body(exchange)
        code = body.get("item_code") if isinstance(body, dict) else None
        item = await state.item(runtime, code) if isinstance(code, str) and len(code) <= 40 else None
        self.request = parse_submission(body, exchange.caller.city, lambda wanted: item if wanted == code else None)
        if any(material.licence_city for material in self.request.materials):
            recognition_of(runtime)
        if runtime.partners is None:
            raise errors.ServiceUnavailable("no partner systems are configured")
        self.application_id = new_exchange_id(runtime.clock, runtime.entropy)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.request is not None and exchange.caller is not None
        state = applications_of(runtime)
        request, now = self.request, runtime.clock.now()
        try:
            deadline = add_working_days(state.calendar, local_day(now), request.item.promised_limit_days)
        except CalendarNotCovered as exc:
            raise errors.ServiceUnavailable(f"the working-day calendar cannot count this limit: {exc}") from exc
        materials = [material.recorded() for material in request.materials if not material.licence_city]
        for material in request.materials:
            if material.licence_city:
                materials.append(await self._fetch_licence(exchange, runtime, material))
        order = {material.code: index for index, material in enumerate(request.item.materials)}
        materials.sort(key=lambda material: order[material["code"]])
        document = {
            "item_name": request.item.name,
            "applicant": request.applicant,
            "agent": request.agent,
            "materials": materials,
            "report_to": f"{runtime.settings.public_url}/v1/applications/{self.application_id}/events",
        }
        application = _store.StoredApplication(
            id=self.application_id,
            item_code=request.item.code,
            receiving_city=request.receiving_city,
            handling_city=request.handling_city,
            handling_department=request.item.departments[request.handling_city],
            submitted_by=exchange.caller.id,
            applicant_id=request.applicant["id_number"],
            document=document,
            state="received",
            received_at=now,
            promised_days=request.item.promised_limit_days,
            finished_on=None,
            forwarded_at=None,
            forward_error=None,
            forward_attempts=0,
            result=None,
            updated_at=now,
        )
        note = "代办员 " + request.agent["name"] + " 代为申请" if request.agent else None
        index = await _audit(
            exchange,
            runtime,
            "application.event",
            self.application_id,
            state="received",
            previous=None,
            note=note,
            item_code=request.item.code,
            handling_city=request.handling_city,
            deadline=deadline.isoformat(),
        )
        first = Event(1, "received", now, exchange.caller.id, note, exchange.id, index)

        def store() -> None:
            with runtime.database.write() as connection:
                _store.insert_application(connection, application, first)

        await runtime.in_thread(store)
        await forward_application(runtime, self.application_id)
        stored = await self._read(runtime, self.application_id)
        assert stored is not None
        exchange.result = view(stored, state.calendar, local_day(runtime.clock.now()))

    async def _fetch_licence(self, exchange: Exchange, runtime: Runtime, material: Any) -> dict[str, Any]:
        """The e-licence that stands in for a material, from its issuing registry, with the applicant's
        consent (X-Tongban-Consent); its number and digest are recorded, not the licence."""
        assert self.request is not None and exchange.caller is not None and runtime.partners is not None
        holder = self.request.applicant["id_number"]
        grant = await verify_consent(
            recognition_of(runtime),
            exchange.request.headers.get(CONSENT_HEADER),
            holder_id=holder,
            requester=exchange.caller.id,
            audience=runtime.settings.gateway_id,
            purpose=exchange.purpose or DEFAULT_PURPOSE,
            licence_type=material.licence_type,
            now=runtime.clock.now(),
        )
        found = await runtime.partners.client_for(material.licence_city).find_licences(holder, material.licence_type)
        current = [licence for licence in found if licence.status == "valid"]
        if not current:
            raise errors.InvalidContent(
                f"{material.code}: {material.licence_city} holds no valid {material.licence_type} licence of the "
                "applicant; upload the material instead"
            )
        licence = current[0]
        record = json.dumps(licence.model_dump(mode="json"), ensure_ascii=False, sort_keys=True).encode("utf-8")
        fetched = {
            "code": material.code,
            "name": material.name,
            "source": "licence",
            "licence_number": licence.licence_number,
            "licence_type": licence.licence_type,
            "issuing_city": licence.issuing_city,
            "digest": content_digest(record),
            "consent_id": grant.consent_id,
        }
        await _audit(exchange, runtime, "application.material_fetched", self.application_id, material=fetched)
        return fetched


def _submission(application: StoredApplication) -> ApplicationSubmission:
    document = application.document

    def party(data: dict[str, str]) -> Party:
        return Party(name=data["name"], id_type=data["id_type"], id_number=data["id_number"])  # type: ignore[arg-type]

    return ApplicationSubmission(
        application_id=application.id,
        item_code=application.item_code,
        item_name=document["item_name"],
        department=application.handling_department,
        applicant=party(document["applicant"]),
        agent=party(document["agent"]) if document.get("agent") else None,
        receiving_city=application.receiving_city,
        submitted_at=application.received_at,
        materials=tuple(
            SubmittedMaterial(
                code=material["code"],
                name=material["name"],
                digest=material["digest"],
                reference=material.get("reference"),
                licence_number=material.get("licence_number"),
                issuing_city=material.get("issuing_city"),
            )
            for material in document["materials"]
        ),
        report_to=document.get("report_to"),
    )


async def forward_application(runtime: Runtime, application_id: str) -> bool:
    """Hand a stored application to its handling city's system (the outbox's one step); True when taken.
    A failure is recorded on the application and left for the background task to try again."""
    assert runtime.partners is not None

    def read() -> StoredApplication | None:
        with runtime.database.read() as connection:
            return _store.find_application(connection, application_id)

    application = await runtime.in_thread(read)
    if application is None or application.forwarded_at is not None:
        return application is not None
    error = None
    try:
        handling = runtime.partners.handling_system(application.handling_city)
        await handling.submit_application(_submission(application))
    except errors.TongbanError as exc:
        error = f"{exc.code}: {exc.detail}"

    def record() -> None:
        with runtime.database.write() as connection:
            _store.mark_forwarded(connection, application_id, at=None if error else runtime.clock.now(), error=error)

    await runtime.in_thread(record)
    return error is None


# ---- read ---------------------------------------------------------------------------------------------


@dataclass
class GetApplication(_ApplicationOperation):
    """GET /v1/applications/{id}: status, deadline, warnings and the whole timeline."""

    name: str = "applications.get"
    application_id: str = ""

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        application = await _may_see(runtime, exchange, await self._read(runtime, self.application_id))
        exchange.result = view(application, applications_of(runtime).calendar, local_day(runtime.clock.now()))


def _flag(params: dict[str, list[str]], name: str) -> bool:
    value = params.get(name, ["false"])[0].lower()
    if value not in ("true", "false", "1", "0"):
        raise errors.InvalidContent(f"{name} must be true or false")
    return value in ("true", "1")


@dataclass
class ListApplications(_ApplicationOperation):
    """GET /v1/applications?status=&overdue=true&city=&page=&page_size="""

    name: str = "applications.list"

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        params = parse_qs(exchange.request.query)
        status = params.get("status", [None])[0]
        if status is not None and status not in STATES:
            raise errors.InvalidContent(f"status must be one of {', '.join(STATES)}")
        _flag(params, "overdue")
        page_of([], exchange.request.query)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        params = parse_qs(exchange.request.query)
        cities = await _visible_cities(runtime, exchange)
        status, city = params.get("status", [None])[0], params.get("city", [None])[0]

        def read() -> list[StoredApplication]:
            with runtime.database.read() as connection:
                return _store.list_applications(connection, cities=cities, city=city, status=status)

        calendar, today = applications_of(runtime).calendar, local_day(runtime.clock.now())
        items = [view(application, calendar, today) for application in await runtime.in_thread(read)]
        if _flag(params, "overdue"):
            items = [item for item in items if any(w["kind"] == "overdue" for w in item["warnings"])]
        exchange.result = page_of(items, exchange.request.query)


# ---- state changes ------------------------------------------------------------------------------------


@dataclass
class ReportEvent(_ApplicationOperation):
    """POST /v1/applications/{id}/events: the handling city's system reports a state change (撤回 comes
    from the receiving window). Only the transitions in _states.TRANSITIONS; others are 409."""

    name: str = "applications.report"
    application_id: str = ""
    state: str = ""
    note: str | None = None
    result: dict[str, Any] | None = None
    payload: Any = None

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        body = self.payload if self.payload is not None else _body(exchange)
        if not isinstance(body, dict) or body.get("state") not in STATES:
            raise errors.InvalidContent(f"state must be one of {', '.join(STATES)}")
        self.state = body["state"]
        note, result = body.get("note"), body.get("result")
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            raise errors.InvalidContent("note must be a string of at most 2000 characters")
        if result is not None and (self.state != "concluded" or not isinstance(result, dict)):
            raise errors.InvalidContent("a result (an object) comes with the concluded state only")
        if result is not None and len(json.dumps(result)) > 10_000:
            raise errors.InvalidContent("the result is over 10 000 characters")
        self.note, self.result = note, result

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None
        application = await _may_see(runtime, exchange, await self._read(runtime, self.application_id))
        if self.state in RECEIVING_SIDE_STATES:
            side, right = application.receiving_city, SUBMIT_RIGHT
        else:
            side, right = application.handling_city, REPORT_RIGHT
        if exchange.caller.city != side or not await runtime.registry.has_right(
            exchange.caller.id, right, runtime.in_thread
        ):
            raise errors.AccessDenied(f"only {side}'s systems holding {right} report {self.state} for this application")
        check_transition(application.state, self.state)
        now = runtime.clock.now()
        index = await _audit(
            exchange,
            runtime,
            "application.event",
            application.id,
            state=self.state,
            previous=application.state,
            note=self.note,
            result_digest=None if self.result is None else content_digest(json.dumps(self.result).encode()),
        )
        finished = application.finished_on
        if finished is None and (self.state == "concluded" or self.state in TERMINAL):
            finished = local_day(now)
        event = Event(len(application.events) + 1, self.state, now, exchange.caller.id, self.note, exchange.id, index)

        def store() -> None:
            with runtime.database.write() as connection:
                _store.add_event(
                    connection,
                    application.id,
                    expected_state=application.state,
                    event=event,
                    finished_on=finished if finished != application.finished_on else None,
                    result=self.result,
                )

        await runtime.in_thread(store)
        stored = await self._read(runtime, application.id)
        assert stored is not None
        exchange.result = view(stored, applications_of(runtime).calendar, local_day(now))


@dataclass
class RateApplication(_ApplicationOperation):
    """POST /v1/applications/{id}/rating: 好差评 after 办结, by the applicant through the receiving window."""

    name: str = "applications.rate"
    required_right: str | None = RATE_RIGHT
    application_id: str = ""
    level: str = ""
    reason: str | None = None

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        body = _body(exchange)
        if not isinstance(body, dict) or body.get("level") not in RATING_LEVELS:
            raise errors.InvalidContent(f"level must be one of {', '.join(RATING_LEVELS)}")
        self.level, reason = body["level"], body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 1000):
            raise errors.InvalidContent("reason must be a string of at most 1000 characters")
        if self.level in REASON_REQUIRED and not (reason or "").strip():
            raise errors.InvalidContent(f"a rating of {self.level} needs its reason")
        self.reason = reason

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None
        application = await _may_see(runtime, exchange, await self._read(runtime, self.application_id))
        if exchange.caller.city != application.receiving_city:
            raise errors.AccessDenied("the applicant rates through the receiving city's window")
        if application.state not in FINISHED:
            raise errors.IllegalTransition(
                f"an application is rated after 办结; this one is {application.state} ({LABELS[application.state]})"
            )
        if application.rating is not None:
            raise errors.Conflict("this application has been rated already")
        now = runtime.clock.now()
        index = await _audit(
            exchange, runtime, "application.rating", application.id, level=self.level, reason=self.reason
        )
        rating = Rating(self.level, self.reason, now, exchange.caller.id, index)

        def store() -> None:
            with runtime.database.write() as connection:
                _store.add_rating(connection, application.id, rating, exchange.id)

        await runtime.in_thread(store)
        stored = await self._read(runtime, application.id)
        assert stored is not None
        exchange.result = view(stored, applications_of(runtime).calendar, local_day(now))


# ---- statistics ---------------------------------------------------------------------------------------


@dataclass
class _Tally:
    total: int = 0
    finished: int = 0
    on_time: int = 0
    open_overdue: int = 0
    ratings: Counter[str] = field(default_factory=Counter)

    def row(self, key: str) -> dict[str, Any]:
        rated = sum(self.ratings.values())
        satisfied = sum(self.ratings[level] for level in RATING_LEVELS[:3])
        return {
            "key": key,
            "total": self.total,
            "finished": self.finished,
            "on_time": self.on_time,
            "on_time_rate": round(self.on_time / self.finished, 4) if self.finished else None,
            "open_overdue": self.open_overdue,
            "ratings": {level: self.ratings[level] for level in RATING_LEVELS},
            "satisfaction_rate": round(satisfied / rated, 4) if rated else None,
        }


@dataclass
class ApplicationStats(_ApplicationOperation):
    """GET /v1/applications/stats: the on-time rate (按时办结率) and ratings per item, department and month."""

    name: str = "applications.stats"

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        cities = await _visible_cities(runtime, exchange)
        params = parse_qs(exchange.request.query)
        city = params.get("city", [None])[0]

        def read() -> list[StoredApplication]:
            with runtime.database.read() as connection:
                return _store.list_applications(connection, cities=cities, city=city, status=None)

        calendar, today = applications_of(runtime).calendar, local_day(runtime.clock.now())
        groups: dict[str, dict[str, _Tally]] = {"item": {}, "department": {}, "month": {}}
        for application in await runtime.in_thread(read):
            try:
                limit = limit_of(application, calendar, today)
            except CalendarNotCovered:
                continue
            month = application.received_on.strftime("%Y-%m")
            keys = {"item": application.item_code, "department": application.handling_department, "month": month}
            for group, key in keys.items():
                tally = groups[group].setdefault(key, _Tally())
                tally.total += 1
                if application.state in FINISHED:
                    tally.finished += 1
                    tally.on_time += limit.used <= limit.promised
                elif limit.overdue and application.state not in TERMINAL:
                    tally.open_overdue += 1
                if application.rating is not None:
                    tally.ratings[application.rating.level] += 1
        exchange.result = {
            f"by_{group}": [tally.row(key) for key, tally in sorted(tallies.items())]
            for group, tallies in groups.items()
        } | {"as_of": today.isoformat()}
