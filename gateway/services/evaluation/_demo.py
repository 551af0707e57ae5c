"""`tongban demo`'s remote evaluation: a Hohhot project evaluated with Hohhot as the main venue and
Zhongshan and Shenzhen as secondary venues, from scheduling to archive, each row one part of it.

The rows share one session: a row that cannot run because an earlier one failed says so.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from gateway.demo import DemoContext
from gateway.services.evaluation._draw import check_record

__all__ = ["evaluation_flows"]

HOHHOT, ZHONGSHAN, SHENZHEN = "150100", "442000", "440300"
ORGANISER = "150100.hhdemo.organiser"  # Hohhot's trading centre, which runs the session
SUPERVISOR = "150100.hhdemo.supervisor"  # its supervising department
VENUES = {HOHHOT: "150100.hhdemo.venue", ZHONGSHAN: "442000.zsdemo.venue", SHENZHEN: "440300.szdemo.venue"}


class _Session:
    """The demo's one session and its members, made by the first row."""

    def __init__(self, context: DemoContext) -> None:
        self.context = context
        self.id: str | None = None
        self.organiser = context.member(ORGANISER, ["evaluation.organise"])
        self.supervisor = context.member(SUPERVISOR, ["evaluation.supervise"])
        self.venues = {city: context.member(member, ["evaluation.venue"]) for city, member in VENUES.items()}

    def post(self, member: Any, step: str, payload: dict[str, Any], status: int = 200) -> dict[str, Any]:
        path = f"/v1/evaluations/{self.id}/{step}" if step else "/v1/evaluations"
        answer: dict[str, Any] = self.context.call(member, "POST", path, payload, status=status).json()
        return answer

    def move(self, to: str, reason: str | None = None) -> dict[str, Any]:
        return self.post(self.organiser, "transitions", {"to": to, **({"reason": reason} if reason else {})})

    def supervised(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.context.call(self.supervisor, "GET", f"/v1/evaluations/{self.id}").json()
        return answer

    def started(self) -> str:
        if self.id is None:
            raise RuntimeError("no session: the first evaluation row failed")
        return self.id


def _project(context: DemoContext) -> Any:
    from adapters.hohhot import seed_trading_centre

    return next(item for item in seed_trading_centre(context.data) if item.remote and item.committee_size == 7)


def _schedule_and_draw(session: _Session) -> str:
    context = session.context
    project = _project(context)
    representative = context.data.city("hohhot").persons[0]
    created = session.post(
        session.organiser,
        "",
        {
            "project_code": project.project.project_code,
            "title": project.project.title,
            "tenderer": {"name": project.project.tenderer.name, "credit_code": project.project.tenderer.id_number},
            "bidders": [{"name": party.name, "credit_code": party.id_number} for party in project.bidders],
            "main_venue": HOHHOT,
            "secondary_venues": [ZHONGSHAN, SHENZHEN],
            "committee_size": 7,
            "tenderer_representatives": [{"name": representative.name, "id_number": representative.id_number}],
            "specialties": list(project.specialties),
            "evaluation_at": "2026-12-08T09:00:00+08:00",
        },
        status=201,
    )
    session.id = created["id"]
    drawn = session.post(session.organiser, "draw", {})
    assert all("identity" not in seat for seat in drawn["seats"]), "an organiser saw an expert's identity"
    record = session.supervised()["draw"]
    problems = check_record(record)
    assert not problems, problems
    venues = sorted({seat["venue"] for seat in drawn["seats"]})
    return (
        f"{project.project.title[:24]}: {len(drawn['seats'])} seats over venues {', '.join(venues)}, "
        f"{len(record['exclusions'])} experts avoided; re-run from the revealed seed: same committee"
    )


def _check_in_and_declare(session: _Session) -> str:
    session.started()
    seats = session.supervised()["seats"]
    for seat in seats:
        session.post(session.venues[seat["venue"]], "checkins", {"seat": seat["seat"], "venue": seat["venue"]})
    session.move("committee_complete")
    conflicted = next(seat for seat in seats if seat["kind"] == "expert")
    for seat in seats:
        body: dict[str, Any] = {"seat": seat["seat"], "conflict": seat is conflicted}
        if seat is conflicted:
            body["statement"] = "本人近三年曾在投标人处任职"
        session.post(session.venues[seat["venue"]], "declarations", body)
    replaced = session.post(
        session.organiser, "replacements", {"seat": conflicted["seat"], "reason": "conflict_of_interest"}
    )
    stand_in = next(seat for seat in replaced["seats"] if seat["seat"] == conflicted["seat"])
    seat_id, venue = stand_in["seat"], stand_in["venue"]
    session.post(session.venues[venue], "checkins", {"seat": seat_id, "venue": venue})
    session.move("committee_complete")
    session.post(session.venues[venue], "declarations", {"seat": seat_id, "conflict": False})
    session.move("evaluating")
    session.move("suspended", "主会场网络中断")
    resumed = session.move("evaluating", "网络恢复")
    return (
        f"{conflicted['seat']} declared a conflict and was replaced from the reserve (now at venue {venue}); "
        f"suspended and resumed: {resumed['state']}"
    )


def _score_and_lock(session: _Session) -> str:
    session.started()
    document = session.supervised()
    bidders = [bidder["credit_code"] for bidder in document["bidders"]]
    for number, seat in enumerate(document["seats"]):
        for rank, code in enumerate(bidders):
            marks = {"technical": 52 - 3 * rank + number % 3, "commercial": 24 - rank, "price": 9 - rank % 2}
            if (number, rank) == (2, 0):
                marks["technical"] = 30  # far from the others' marks: flagged before the lock
            session.post(
                session.venues[seat["venue"]], "scores", {"seat": seat["seat"], "bidder": code, "scores": marks}
            )
    locked = session.move("scores_locked")
    flagged = locked["scoring"]["deviations"]
    flags = "1 mark" if len(flagged) == 1 else f"{len(flagged)} marks"
    return f"{len(document['seats'])} members marked {len(bidders)} bidders; {flags} flagged; locked"


def _report_and_signatures(session: _Session) -> str:
    """The report drafted; every member signs it through the cloud signature service (云签名) of the
    member's city, reached through that city's adapter, and the seat's venue relays the signature."""
    import asyncio

    import rfc8785

    from gateway.app import partner_directory

    session.started()
    drafted = session.post(session.organiser, "report", {})
    session.move("signing")
    content = rfc8785.dumps(drafted["report"]["content"])
    partners = partner_directory(session.context.settings)

    async def cloud_sign(city: str, id_number: str) -> Any:
        cloud_sign = getattr(partners.client_for(city), "cloud_sign", None)
        if cloud_sign is None:
            raise RuntimeError(f"city {city}'s adapter reaches no cloud signature service")
        return await cloud_sign(id_number, content)

    def member_city(identity: dict[str, Any]) -> str:
        """An expert's pool city; a tenderer's representative's from the id number's address code."""
        city = identity.get("city") or next(
            (city for city in partners.cities if city[:4] == identity["id_number"][:4]), None
        )
        if city is None:
            raise RuntimeError(f"no city with a cloud signature service for {identity['id_number'][:6]}…")
        return str(city)

    async def sign_all(seats: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            return {
                seat["seat"]: await cloud_sign(member_city(seat["identity"]), seat["identity"]["id_number"])
                for seat in seats
            }
        finally:
            await partners.aclose()

    seats = session.supervised()["seats"]
    signatures = asyncio.run(sign_all(seats))
    answer: dict[str, Any] = {}
    for seat in seats:
        signed = signatures[seat["seat"]]
        if signed is None:
            raise RuntimeError(f"the cloud signature service knows no member of seat {seat['seat']}")
        answer = session.post(
            session.venues[seat["venue"]],
            "signatures",
            {
                "seat": seat["seat"],
                "signature": base64.b64encode(signed.signature).decode(),
                "certificate": base64.b64encode(signed.certificate).decode(),
                "chain": [base64.b64encode(item).decode() for item in signed.chain],
            },
        )
    assert answer["state"] == "signed", answer["state"]
    ranking = drafted["report"]["content"]["ranking"]
    cities = sorted({member_city(seat["identity"]) for seat in seats})
    return (
        f"ranking {' > '.join(str(item['bidder'])[-6:] for item in ranking)}; digest "
        f"{drafted['report']['digest'][:12]}…; {len(seats)} members signed through the cloud signature "
        f"services of {', '.join(cities)}: {answer['state']}"
    )


def _archived(session: _Session) -> str:
    from gateway.audit import check_archive, parse_verifier_key

    session_id = session.started()
    hidden = session.context.call(session.venues[ZHONGSHAN], "GET", f"/v1/evaluations/{session_id}").json()
    assert all("identity" not in seat for seat in hidden["seats"]), "a venue saw who sat before the award"
    session.post(session.organiser, "award", {"notice_url": f"https://ggzy.huhhot.gov.cn/gs/zbhxr/{session_id}.html"})
    named = session.context.call(session.venues[ZHONGSHAN], "GET", f"/v1/evaluations/{session_id}").json()
    assert all(seat["identity"]["name"] and "id_number" not in seat["identity"] for seat in named["seats"])
    session.move("archived")
    context = session.context
    bundle = context.call(session.venues[HOHHOT], "GET", f"/v1/evaluations/{session_id}/archive").json()
    info = httpx.get(f"{context.url}/.well-known/tongban", trust_env=False).json()
    report = check_archive(bundle, parse_verifier_key(info["audit_key"]).public_key)
    assert report.passed, [check for check in report.checks if not check.passed]
    return (
        f"award published (the committee's names now public, nothing more); the main venue's archive: "
        f"{len(bundle['events'])} events proven in the audit log, documents "
        f"{', '.join(sorted(bundle['documents']))} (withheld: {', '.join(bundle.get('withheld', [])) or 'none'}); "
        f"{len(report.checks)} checks pass offline"
    )


def _events_resume(session: _Session) -> str:
    session_id = session.started()
    venue = session.venues[ZHONGSHAN]

    def follow(last: int | None) -> list[dict[str, Any]]:
        """As EventSource does: reconnect with the last id seen until nothing more is there."""
        seen: list[dict[str, Any]] = []
        for _attempt in range(200):
            extra = {} if last is None else {"last-event-id": str(last)}
            batch = _parse_sse(_events(session.context, venue, session_id, extra).text)
            if not batch:
                return seen
            seen += batch
            last = batch[-1]["id"]
        return seen

    whole = follow(None)
    ids = [event["id"] for event in whole]
    assert ids == list(range(1, len(ids) + 1)), f"the stream has gaps or repeats: {ids}"
    resumed = [event["id"] for event in follow(5)]  # the connection dropped after event 5
    assert resumed == ids[5:], f"resuming after 5 gave {resumed}"
    assert not any("identity" in json.dumps(event, ensure_ascii=False) for event in whole)
    return (
        f"Zhongshan's venue read events 1…{ids[-1]}; reconnecting after event 5 it got 6…{ids[-1]}: "
        "no gap, no repeat, no expert's identity"
    )


def _parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of a text/event-stream body (its `retry` and comments skipped)."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            events.append(json.loads(fields["data"]))
    return events


def _events(context: DemoContext, member: Any, session_id: str, extra: dict[str, str]) -> Any:
    path = f"/v1/evaluations/{session_id}/events?wait=0"
    headers = member.signed_headers("GET", context.url + path, b"", audience=context.gateway_id, headers=extra)
    response = httpx.get(context.url + path, headers=headers, trust_env=False, timeout=30)
    assert response.status_code in (200, 204), response.text
    return response


def evaluation_flows(context: DemoContext) -> list[tuple[str, Callable[[], str]]]:
    session = _Session(context)
    return [
        ("remote evaluation scheduled, committee drawn (Hohhot main venue; Zhongshan, Shenzhen)",
         lambda: _schedule_and_draw(session)),
        ("remote evaluation: check-in, a conflict replaced from the reserve, suspended and resumed",
         lambda: _check_in_and_declare(session)),
        ("remote evaluation: scores from the venues, deviations flagged, locked", lambda: _score_and_lock(session)),
        ("remote evaluation: report drafted, signed by every member (云签名 of their cities)",
         lambda: _report_and_signatures(session)),
        ("remote evaluation: award published, archived; the archive verifies offline", lambda: _archived(session)),
        ("remote evaluation: a venue reconnects and resumes its event stream", lambda: _events_resume(session)),
    ]  # fmt: skip
