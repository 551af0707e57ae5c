"""A gateway reaching the three cities' sandboxes (Hohhot main venue, Zhongshan and Shenzhen secondary),
with an organiser, one venue member per city and a supervisor; and helpers to call and stream."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import rfc8785

from adapters.cloud_signing import CloudSignature
from adapters.hohhot import HohhotClient, seed_trading_centre
from adapters.hohhot import create_app as hohhot_sandbox
from adapters.sandbox_documents import holder_city
from adapters.sandboxes import RunningSandboxes, start_sandboxes
from adapters.shenzhen import ShenzhenClient
from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.zhongshan import ZhongshanClient
from adapters.zhongshan import create_app as zhongshan_sandbox
from catalogs import seed
from catalogs.seed import SeedData
from gateway.demo import wait_for_trust_lists
from gateway.settings import SANDBOX_TRUST_LIST_PATH

HOHHOT, ZHONGSHAN, SHENZHEN = "150100", "442000", "440300"


@dataclass
class Evaluation:
    gateway: Any
    data: SeedData
    organiser: Any
    venues: dict[str, Any]
    supervisor: Any
    outsider: Any

    def post(self, member: Any, path: str, body: dict[str, Any]) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False).encode()
        return self.gateway.call(member, "POST", path, body=content, headers={"content-type": "application/json"})

    def get(self, member: Any, path: str) -> httpx.Response:
        return self.gateway.call(member, "GET", path)

    def events_once(
        self, member: Any, session_id: str, *, last_event_id: int | None = None, wait: int = 0
    ) -> httpx.Response:
        path = f"/v1/evaluations/{session_id}/events?wait={wait}"
        extra = {"last-event-id": str(last_event_id)} if last_event_id is not None else {}
        return self.gateway.call(member, "GET", path, headers=extra)

    def events(
        self,
        member: Any,
        session_id: str,
        *,
        last_event_id: int | None = None,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Follow the stream as EventSource does, reconnecting with the last id seen, up to the first
        event for which `until` holds, or until the server says the stream is over (204)."""
        found: list[dict[str, Any]] = []
        for _attempt in range(50):
            response = self.events_once(member, session_id, last_event_id=last_event_id, wait=2)
            if response.status_code == 204:
                return found
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/event-stream")
            for event in parse_sse(response.text):
                found.append(event)
                last_event_id = event["id"]
                if until is not None and until(event):
                    return found
        raise AssertionError(f"the stream did not reach the awaited event; got {found}")


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of a text/event-stream body (comments and `retry` skipped)."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            event = json.loads(fields["data"])
            assert int(fields["id"]) == event["id"] and fields["event"] == event["kind"]
            events.append(event)
    return events


@pytest.fixture(name="evaluation")
def evaluation_fixture(start_gateway: Any, serve: Any) -> Evaluation:
    """(Test modules import this function: pytest finds the fixture by its name there.)"""
    data = seed.generate()
    urls = {
        HOHHOT: serve(hohhot_sandbox(seed_data=data)).url,
        ZHONGSHAN: serve(zhongshan_sandbox(seed_data=data)).url,
        SHENZHEN: serve(shenzhen_sandbox(seed_data=data)).url,
    }
    gateway = start_gateway(partner_urls=urls)
    return Evaluation(gateway, data, *_members(gateway))


def _members(gateway: Any) -> tuple[Any, dict[str, Any], Any, Any]:
    """The organiser, one venue member per city, a supervisor and an outsider, with their rights."""
    organiser = gateway.add_member("150100.hhggzy.organiser")
    gateway.grant(organiser.id, "evaluation.organise")
    venues = {}
    for city, name in ((HOHHOT, "hhggzy"), (ZHONGSHAN, "zsggzy"), (SHENZHEN, "szggzy")):
        venues[city] = gateway.add_member(f"{city}.{name}.venue")
        gateway.grant(venues[city].id, "evaluation.venue")
    supervisor = gateway.add_member("150100.hhczj.supervisor")
    gateway.grant(supervisor.id, "evaluation.supervise")
    outsider = gateway.add_member("440300.szgov.window")
    return organiser, venues, supervisor, outsider


def hohhot_project(data: SeedData) -> Any:
    """A project Hohhot's trading centre evaluates remotely with a committee of seven."""
    return next(item for item in seed_trading_centre(data) if item.remote and item.committee_size == 7)


def session_request(
    data: SeedData, project: Any, *, bidders: list[Any] | None = None, representatives: int = 1
) -> dict[str, Any]:
    hohhot_people = data.city("hohhot").persons[:representatives]
    return {
        "project_code": project.project.project_code,
        "title": project.project.title,
        "tenderer": {"name": project.project.tenderer.name, "credit_code": project.project.tenderer.id_number},
        "bidders": [{"name": p.name, "credit_code": p.id_number} for p in (bidders or list(project.bidders))],
        "main_venue": HOHHOT,
        "secondary_venues": [ZHONGSHAN, SHENZHEN],
        "committee_size": project.committee_size,
        "tenderer_representatives": [{"name": p.name, "id_number": p.id_number} for p in hohhot_people],
        "specialties": list(project.specialties),
        "evaluation_at": "2026-12-08T09:00:00+08:00",
    }


# ---- a session run to scores_locked; the cities' cloud signature services (云签名) --------------------


def default_marks(seat_index: int, bidder_index: int) -> dict[str, float]:
    """Marks with a known ranking (see test_report_signing): the first bidder leads with a mean total
    of 83.21; the second and third tie at 78.00, the third's higher price mark ranking it first; the
    rest follow at 70 - index. No mark deviates."""
    if bidder_index == 0:
        return {"technical": 50 + (seat_index % 3) * 0.25, "commercial": 25, "price": 8}
    if bidder_index == 1:
        return {"technical": 45, "commercial": 25, "price": 8}
    if bidder_index == 2:
        return {"technical": 44, "commercial": 25, "price": 9}
    return {"technical": 40 - bidder_index, "commercial": 25, "price": 5}


def run_to_scores_locked(
    evaluation: Evaluation,
    marks: Callable[[int, int], dict[str, float]] = default_marks,
    *,
    bidders: list[Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> str:
    """A session from creation through draw, check-in, clean declarations and scoring (`marks` by seat
    index and bidder index, in the order the supervisor's view lists the seats) to scores_locked; its id.
    `overrides` replace fields of the creation request (session_request's)."""
    project = hohhot_project(evaluation.data)
    request = {**session_request(evaluation.data, project, bidders=bidders), **(overrides or {})}
    created = evaluation.post(evaluation.organiser, "/v1/evaluations", request)
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    base = f"/v1/evaluations/{session_id}"

    def organise(path: str, body: dict[str, Any]) -> None:
        answer = evaluation.post(evaluation.organiser, f"{base}/{path}", body)
        assert answer.status_code == 200, answer.text

    organise("draw", {})
    seats = evaluation.get(evaluation.supervisor, base).json()["seats"]
    for seat in seats:
        checked = evaluation.post(
            evaluation.venues[seat["venue"]], f"{base}/checkins", {"seat": seat["seat"], "venue": seat["venue"]}
        )
        assert checked.status_code == 200, checked.text
    organise("transitions", {"to": "committee_complete"})
    for seat in seats:
        declared = evaluation.post(
            evaluation.venues[seat["venue"]], f"{base}/declarations", {"seat": seat["seat"], "conflict": False}
        )
        assert declared.status_code == 200, declared.text
    organise("transitions", {"to": "evaluating"})
    codes = [bidder["credit_code"] for bidder in created.json()["bidders"]]
    for seat_index, seat in enumerate(seats):
        for bidder_index, code in enumerate(codes):
            body = {"seat": seat["seat"], "bidder": code, "scores": marks(seat_index, bidder_index)}
            scored = evaluation.post(evaluation.venues[seat["venue"]], f"{base}/scores", body)
            assert scored.status_code == 200, scored.text
    organise("transitions", {"to": "scores_locked"})
    return session_id


@dataclass
class SigningEvaluation(Evaluation):
    """The evaluation world with the sandboxes' PKI: trust lists, CRLs and cloud signature services."""

    sandboxes: RunningSandboxes


@pytest.fixture(name="signing_sandboxes", scope="module")
def signing_sandboxes_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandboxes]:
    """(Import it with `signing_evaluation_fixture`.) The three sandboxes with their demo PKI."""
    running = start_sandboxes(base_port=0, sandbox_dir=tmp_path_factory.mktemp("var") / "sandbox")
    yield running
    running.stop()


@pytest.fixture(name="signing_evaluation")
def signing_evaluation_fixture(start_gateway: Any, signing_sandboxes: RunningSandboxes) -> SigningEvaluation:
    """A gateway holding the three cities' trust lists, with the members of the `evaluation` fixture."""
    assert signing_sandboxes.material is not None
    regions = signing_sandboxes.regions()
    pki_dir = signing_sandboxes.material.directory / "pki"
    gateway = start_gateway(
        partner_urls=regions,
        trust_list_urls={region: f"{url}{SANDBOX_TRUST_LIST_PATH}" for region, url in regions.items()},
        trust_list_operators={region: pki_dir / region / "trust-list-operator.crt" for region in regions},
    )
    wait_for_trust_lists(gateway.url, set(regions))
    return SigningEvaluation(gateway, seed.generate(), *_members(gateway), signing_sandboxes)


CLOUD_SIGNING_CLIENTS: dict[str, Any] = {HOHHOT: HohhotClient, ZHONGSHAN: ZhongshanClient, SHENZHEN: ShenzhenClient}
"""Each city's adapter, which reaches the city's cloud signature service (Zhongshan's over SOAP)."""


def cloud_sign(sandboxes: RunningSandboxes, city: str, id_number: str, data: bytes) -> CloudSignature:
    """The resident's signature over `data`, by the city's cloud signature service, through its adapter."""

    async def ask() -> CloudSignature | None:
        async with CLOUD_SIGNING_CLIENTS[city](sandboxes.regions()[city]) as client:
            signed: CloudSignature | None = await client.cloud_sign(id_number, data)
            return signed

    signed = asyncio.run(ask())
    assert signed is not None, f"{city}'s cloud signature service knows no {id_number}"
    return signed


def signature_body(seat: str, signed: CloudSignature) -> dict[str, Any]:
    """The body of POST .../signatures for a cloud signature."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return {
        "seat": seat,
        "signature": b64(signed.signature),
        "certificate": b64(signed.certificate),
        "chain": [b64(item) for item in signed.chain],
    }


def sign_for_seat(evaluation: SigningEvaluation, session_id: str, seat: dict[str, Any]) -> httpx.Response:
    """The seat's member signs the session's report through the cloud signature service of the member's
    city (an expert's pool city; a tenderer's representative's from the id number), relayed by the
    seat's venue. `seat` as the supervisor sees it (with the identity)."""
    session = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()
    identity = seat["identity"]
    city = identity.get("city") or holder_city(identity["id_number"])
    content = rfc8785.dumps(session["report"]["content"])
    signed = cloud_sign(evaluation.sandboxes, city, identity["id_number"], content)
    return evaluation.post(
        evaluation.venues[seat["venue"]],
        f"/v1/evaluations/{session_id}/signatures",
        signature_body(seat["seat"], signed),
    )
