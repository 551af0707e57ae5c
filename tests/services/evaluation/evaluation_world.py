"""A gateway reaching the three cities' sandboxes (Hohhot main venue, Zhongshan and Shenzhen secondary),
with an organiser, one venue member per city and a supervisor; and helpers to call and stream."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.hohhot import create_app as hohhot_sandbox
from adapters.hohhot import seed_trading_centre
from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.zhongshan import create_app as zhongshan_sandbox
from catalogs import seed
from catalogs.seed import SeedData

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
    organiser = gateway.add_member("150100.hhggzy.organiser")
    gateway.grant(organiser.id, "evaluation.organise")
    venues = {}
    for city, name in ((HOHHOT, "hhggzy"), (ZHONGSHAN, "zsggzy"), (SHENZHEN, "szggzy")):
        venues[city] = gateway.add_member(f"{city}.{name}.venue")
        gateway.grant(venues[city].id, "evaluation.venue")
    supervisor = gateway.add_member("150100.hhczj.supervisor")
    gateway.grant(supervisor.id, "evaluation.supervise")
    outsider = gateway.add_member("440300.szgov.window")
    return Evaluation(gateway, data, organiser, venues, supervisor, outsider)


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
