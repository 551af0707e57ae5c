"""Evaluation benchmark: live event fan-out latency with many sessions at once.

    python -m bench evaluation [--sessions N] [--bidders B] [--pace S]

A gateway (SQLite, the embedded default) and the cities' sandboxes run in a child process; this
process is the trading centres: for each of N sessions (default 50; Hohhot main venue, Zhongshan and
Shenzhen secondary, a committee of seven) the three venues and a supervisor hold the SSE stream open
(4 N streams), while the organiser and the venues drive every session at once through its flow —
created, committee drawn, seven check-ins, committee complete, seven declarations, evaluating, seven
members' scores for each of B bidders (default 2), scores locked — each session one change every S
seconds (default 1, starts spread over the first second: a busy afternoon's pace, 50 changes a
second over the gateway; --pace 0 drives flat out, which measures the write path's queue instead).
Every event each follower receives
is checked (its signature against the JWKS for a sample, ids gapless) and timed:

    from write   receipt time - the event's `at` (the gateway's clock when the change is stored,
                 under the write lock: the commit, the wake-up and the push to every follower)
    from reply   receipt time - when the POST that wrote it returned (negative: pushed before the
                 writer had its answer)

Goal (issue 11): p99 from write <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = ["FanOut", "main", "measure"]

HOHHOT, ZHONGSHAN, SHENZHEN = "150100", "442000", "440300"
ORGANISER, SUPERVISOR = "150100.bench.organiser", "150100.bench.supervisor"
VENUES = {HOHHOT: "150100.bench.venue", ZHONGSHAN: "442000.bench.venue", SHENZHEN: "440300.bench.venue"}


@dataclass
class FanOut:
    sessions: int
    followers: int
    events_written: int
    deliveries: int
    from_write_ms: list[float] = field(default_factory=list)
    from_reply_ms: list[float] = field(default_factory=list)
    signatures_checked: int = 0
    seconds: float = 0.0

    @staticmethod
    def _quantile(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    def figures(self) -> dict[str, Any]:
        write, reply = self.from_write_ms, self.from_reply_ms
        return {
            "sessions": self.sessions,
            "followers": self.followers,
            "events_written": self.events_written,
            "deliveries": self.deliveries,
            "from_write_ms": {"p50": round(statistics.median(write), 1), "p99": round(self._quantile(write, 0.99), 1),
                              "max": round(max(write), 1)},
            "from_reply_ms": {"p50": round(statistics.median(reply), 1), "p99": round(self._quantile(reply, 0.99), 1),
                              "max": round(max(reply), 1)},
            "pushed_before_the_reply": round(sum(1 for value in reply if value < 0) / len(reply), 3),
            "signatures_checked": self.signatures_checked,
            "seconds": round(self.seconds, 1),
        }  # fmt: skip


def _serve(var_dir: str, pipe: Any) -> None:
    """The child process: sandboxes and a gateway on loopback until the parent says stop."""
    from gateway.demo import own_gateway

    with own_gateway(Path(var_dir)) as (url, settings):
        pipe.send((url, settings.database_url, settings.gateway_id))
        pipe.recv()


def _register(database_url: str, keys: Path) -> dict[str, Any]:
    from gateway.client import MemberCredentials, make_member_certificate
    from gateway.clock import SystemClock
    from gateway.registry import add_member, grant
    from gateway.storage import Database

    keys.mkdir(parents=True, exist_ok=True)
    rights = {ORGANISER: "evaluation.organise", SUPERVISOR: "evaluation.supervise"}
    rights.update({member: "evaluation.venue" for member in VENUES.values()})
    database = Database(database_url)
    credentials = {}
    try:
        with database.write() as connection:
            now = SystemClock().now()
            for member, right in rights.items():
                key_pem, cert_pem = make_member_certificate(member)
                (keys / f"{member}.key").write_bytes(key_pem)
                add_member(connection, member, cert_pem, name="bench", now=now)
                grant(connection, member, right, now=now)
                credentials[member] = MemberCredentials.from_pem_file(member, keys / f"{member}.key")
    finally:
        database.dispose()
    return credentials


def _session_request(index: int, bidders: int) -> dict[str, Any]:
    from adapters.hohhot import seed_trading_centre
    from catalogs import seed

    data = seed.generate()
    project = next(item for item in seed_trading_centre(data) if item.remote and item.committee_size == 7)
    person = data.city("hohhot").persons[0]
    return {
        "project_code": f"{project.project.project_code}-{index}",
        "tenderer": {"name": project.project.tenderer.name, "credit_code": project.project.tenderer.id_number},
        "bidders": [{"name": p.name, "credit_code": p.id_number} for p in list(project.bidders)[:bidders]],
        "main_venue": HOHHOT,
        "secondary_venues": [ZHONGSHAN, SHENZHEN],
        "committee_size": 7,
        "tenderer_representatives": [{"name": person.name, "id_number": person.id_number}],
        "specialties": list(project.specialties),
        "evaluation_at": "2026-12-08T09:00:00+08:00",
        "avoid_recent_days": 0,  # fifty sessions of one tenderer: nobody is avoided for the others
    }


class _World:
    def __init__(self, url: str, audience: str, credentials: dict[str, Any], http: httpx.AsyncClient) -> None:
        self.url, self.audience, self.credentials, self.http = url, audience, credentials, http

    def headers(self, member: str, method: str, url: str, body: bytes = b"") -> httpx.Headers:
        extra = {"content-type": "application/json"} if method == "POST" else None
        return self.credentials[member].signed_headers(method, url, body, audience=self.audience, headers=extra)

    async def post(self, member: str, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        content = json.dumps(body, ensure_ascii=False).encode()
        url = self.url + path
        response = await self.http.post(url, headers=self.headers(member, "POST", url, content), content=content)
        returned = time.time()
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        return response.json(), returned


async def _follow(
    world: _World, member: str, session_id: str, received: list[tuple[dict[str, Any], float]], ready: asyncio.Event
) -> None:
    """Hold the stream open until the session's last event (scores locked) arrives."""
    url = f"{world.url}/v1/evaluations/{session_id}/events"
    async with world.http.stream("GET", url, headers=world.headers(member, "GET", url)) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{member} could not follow {session_id}: {response.status_code}")
        ready.set()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            received.append((event, time.time()))
            if event["kind"] == "state_changed" and event["data"]["to"] == "scores_locked":
                return


async def _drive(
    world: _World, session_id: str, bidders: list[str], replies: list[float], pace: float, offset: float
) -> None:
    """The session's flow, one change every `pace` seconds, as the organiser and the seats' venues."""
    base = f"/v1/evaluations/{session_id}"
    await asyncio.sleep(offset)

    async def post(member: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if replies and pace:
            await asyncio.sleep(max(0.0, replies[-1] + pace - time.time()))
        view, returned = await world.post(member, base + path, body)
        replies.append(returned)
        return view

    view = await post(ORGANISER, "/draw", {})
    seats = [(seat["seat"], seat["venue"]) for seat in view["seats"]]
    for seat, venue in seats:
        await post(VENUES[venue], "/checkins", {"seat": seat, "venue": venue})
    await post(ORGANISER, "/transitions", {"to": "committee_complete"})
    for seat, venue in seats:
        await post(VENUES[venue], "/declarations", {"seat": seat, "conflict": False})
    await post(ORGANISER, "/transitions", {"to": "evaluating"})
    for seat, venue in seats:
        for bidder in bidders:
            marks = {"technical": 50, "commercial": 25, "price": 8}
            await post(VENUES[venue], "/scores", {"seat": seat, "bidder": bidder, "scores": marks})
    await post(ORGANISER, "/transitions", {"to": "scores_locked"})


async def _run(world: _World, sessions: int, bidders: int, pace: float) -> FanOut:
    from gateway.client import verify_gateway_event

    jwks = (await world.http.get(world.url + "/.well-known/jwks.json")).json()
    created = []
    for index in range(sessions):
        view, returned = await world.post(ORGANISER, "/v1/evaluations", _session_request(index, bidders))
        created.append((view["id"], [bidder["credit_code"] for bidder in view["bidders"]], returned))
    followers = [SUPERVISOR, *VENUES.values()]
    received: dict[tuple[str, str], list[tuple[dict[str, Any], float]]] = defaultdict(list)
    readies, tasks = [], []
    for session_id, _bidders, _returned in created:
        for member in followers:
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(_follow(world, member, session_id, received[(session_id, member)], ready)))
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    replies: dict[str, list[float]] = {session_id: [returned] for session_id, _b, returned in created}
    started = time.monotonic()
    await asyncio.gather(
        *(
            _drive(world, session_id, codes, replies[session_id], pace, pace * index / sessions)
            for index, (session_id, codes, _r) in enumerate(created)
        )
    )
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    result = FanOut(sessions, len(tasks), 0, 0, seconds=time.monotonic() - started)
    for (session_id, _member), deliveries in received.items():
        ids = [event["id"] for event, _at in deliveries]
        if ids != list(range(1, len(ids) + 1)):
            raise RuntimeError(f"{session_id}: events arrived out of order or with gaps: {ids}")
        # Each POST's events share its `at` (the change's time): the n-th group is the n-th POST's.
        groups = sorted({event["at"] for event, _at in deliveries}, key=datetime.fromisoformat)
        reply_of = dict(zip(groups, replies[session_id], strict=True))
        for event, at in deliveries:
            written = datetime.fromisoformat(event["at"]).timestamp()
            if event["id"] > 1:  # the creation's event was written before anyone followed
                result.from_write_ms.append((at - written) * 1000)
                result.from_reply_ms.append((at - reply_of[event["at"]]) * 1000)
            if event["id"] % 10 == 0:
                verify_gateway_event(event, jwks)
                result.signatures_checked += 1
        if _member == SUPERVISOR:
            result.events_written += len(ids)
    result.deliveries = len(result.from_write_ms)
    return result


def measure(sessions: int = 50, bidders: int = 2, pace: float = 1.0) -> FanOut:
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as scratch:
        var_dir = Path(scratch) / "var"
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        server = context.Process(target=_serve, args=(str(var_dir), child), daemon=True)
        server.start()
        try:
            if not parent.poll(120):
                raise RuntimeError("the gateway did not start")
            url, database_url, audience = parent.recv()
            credentials = _register(database_url, var_dir / "bench-keys")
            time.sleep(1.5)  # the gateway's registry refresh (registry_refresh_seconds) sees the members

            async def run() -> FanOut:
                # Idle connections are dropped before the server's 5 s keep-alive ends them under us.
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=2.0)
                timeout = httpx.Timeout(60, read=None)
                async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as http:
                    return await _run(_World(url, audience, credentials, http), sessions, bidders, pace)

            return asyncio.run(run())
        finally:
            parent.send("stop")
            server.join(timeout=20)
            if server.is_alive():
                server.terminate()


def format_table(result: FanOut) -> str:
    figures = result.figures()
    lines = [
        f"{figures['sessions']} sessions, {figures['followers']} SSE followers, {figures['events_written']} events, "
        f"{figures['deliveries']} deliveries in {figures['seconds']} s",
        f"{'fan-out latency':<22} {'p50':>8} {'p99':>8} {'max':>8}",
    ]
    for name in ("from_write_ms", "from_reply_ms"):
        row = figures[name]
        lines.append(f"{name:<22} {row['p50']:>8} {row['p99']:>8} {row['max']:>8}")
    lines.append(f"pushed before the writer's reply: {figures['pushed_before_the_reply']:.1%}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions (default 50)")
    parser.add_argument("--bidders", type=int, default=2, help="bidders each expert scores (default 2)")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between a session's changes (default 1)")
    options = parser.parse_args(argv)
    result = measure(options.sessions, options.bidders, options.pace)
    print(f"Tongban evaluation fan-out: SQLite, Python {platform.python_version()}, {platform.machine()}")
    print(format_table(result))
    print(json.dumps(result.figures(), indent=2))
    return 0
