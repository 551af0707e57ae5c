"""The live event stream: SSE held open and the WebSocket, fed by the process's fan-out (in-process
wake-up, SQLite's poll, PostgreSQL's LISTEN/NOTIFY); every event signed on its own; resuming from
the last id seen with nothing lost or repeated; the exchange audited when the stream closes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
import websockets.sync.client
from conftest import Gateway, free_port
from evaluation_world import (
    HOHHOT,
    SHENZHEN,
    ZHONGSHAN,
    Evaluation,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    hohhot_project,
    parse_sse,
    session_request,
)
from sqlalchemy import insert
from websockets.exceptions import InvalidStatus

from gateway.client import verify_gateway_event, verify_gateway_response, verify_gateway_stream_head
from gateway.services.evaluation import _live, _stream
from gateway.services.evaluation._sessions import read_events
from gateway.services.evaluation.tables import evaluation_events
from gateway.storage import Database


@pytest.fixture(autouse=True)
def _frequent_keep_alives(monkeypatch: pytest.MonkeyPatch) -> None:
    """A follower's reading thread notices that the test is done with it at the next keep-alive."""
    monkeypatch.setattr(_stream, "KEEPALIVE_SECONDS", 0.3)


class _Bound:
    """Where a server started by the test itself listens (conftest's Gateway wants a server)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"


def _create(evaluation: Evaluation) -> str:
    body = session_request(evaluation.data, hohhot_project(evaluation.data))
    response = evaluation.post(evaluation.organiser, "/v1/evaluations", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _move(evaluation: Evaluation, session_id: str, to: str) -> None:
    response = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": to})
    assert response.status_code == 200, response.text


def _signed(evaluation: Evaluation, member: Any, url: str, headers: dict[str, str] | None = None) -> httpx.Headers:
    return member.credentials.signed_headers(
        "GET", url, b"", audience=evaluation.gateway.settings.gateway_id, headers=headers
    )


class Follower:
    """A venue holding the SSE stream open in a thread; events (and keep-alives) land in a queue."""

    def __init__(self, evaluation: Evaluation, member: Any, session_id: str, last_event_id: int | None = None):
        url = f"{evaluation.gateway.url}/v1/evaluations/{session_id}/events"
        extra = {"last-event-id": str(last_event_id)} if last_event_id is not None else {}
        self.client = httpx.Client(timeout=httpx.Timeout(5, read=60), trust_env=False)
        self.response = self.client.send(
            self.client.build_request("GET", url, headers=_signed(evaluation, member, url, extra)), stream=True
        )
        self.items: queue.Queue[dict[str, Any] | str] = queue.Queue()
        self.raw = bytearray()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        if self.response.status_code == 200:
            self.thread.start()

    def _read(self) -> None:
        block: list[str] = []
        try:
            for chunk in self.response.iter_bytes():
                self.raw += chunk
                if self.done.is_set():
                    break
                for line in chunk.decode("utf-8").splitlines(keepends=True):
                    block.append(line)
                    if line == "\n":
                        self._block("".join(block))
                        block = []
        except httpx.HTTPError:
            pass  # the server cut the stream (a test stops it)
        finally:
            self.response.close()  # here: the connection belongs to this thread
        self.items.put("closed")

    def _block(self, text: str) -> None:
        if text.startswith(": keep-alive"):
            self.items.put("keep-alive")
            return
        fields = dict(line.split(": ", 1) for line in text.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            event = json.loads(fields["data"])
            assert int(fields["id"]) == event["id"] and fields["event"] == event["kind"]
            self.items.put(event)

    def take(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(events) < count:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(item, dict):
                events.append(item)
            elif item == "closed":
                break
        return events

    def close(self) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        else:
            self.response.close()
        self.client.close()


@contextmanager
def following(evaluation: Evaluation, member: Any, session_id: str, **options: Any) -> Iterator[Follower]:
    follower = Follower(evaluation, member, session_id, **options)
    try:
        yield follower
    finally:
        follower.close()


def _closing_entry(evaluation: Evaluation, exchange_id: str) -> dict[str, Any]:
    """The stream's response entry, written when the gateway noticed the stream closed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = [entry for _i, entry in evaluation.gateway.runtime.audit_log.entries_for(exchange_id)]
        closing = [entry for entry in entries if entry["kind"] == "exchange.response"]
        if closing:
            assert entries[0]["kind"] == "exchange.request"
            return closing[0]
        time.sleep(0.05)
    raise AssertionError("the stream's response entry was not written")


def test_sse_held_open_pushes_signed_events_as_they_happen(evaluation: Evaluation, start_gateway: Any) -> None:
    session_id = _create(evaluation)
    jwks = evaluation.gateway.jwks()
    venue = evaluation.venues[ZHONGSHAN]
    with following(evaluation, venue, session_id) as follower:
        head = follower.response
        assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")
        assert "content-digest" not in head.headers
        verify_gateway_stream_head(head.status_code, head.headers, jwks)
        assert [event["kind"] for event in follower.take(1)] == ["created"]

        # Written by another request to this process: pushed as it happens (the in-process wake-up).
        started = time.monotonic()
        _move(evaluation, session_id, "delayed")
        (delayed,) = follower.take(1)
        assert delayed["id"] == 2 and delayed["data"]["to"] == "delayed"
        assert time.monotonic() - started < 2

        # Written by another gateway process on the same database: its NOTIFY or the poll brings it.
        other = Evaluation(start_gateway(), evaluation.data, evaluation.organiser, evaluation.venues,
                           evaluation.supervisor, evaluation.outsider)  # fmt: skip
        other.gateway.members.update(evaluation.gateway.members)
        _move(other, session_id, "scheduled")
        (rescheduled,) = follower.take(1)
        assert (rescheduled["id"], rescheduled["data"]["to"]) == (3, "scheduled")

        # Handed over by the writer (this process) or read back (the other's): as the table holds them.
        stored = parse_sse(evaluation.events_once(venue, session_id, last_event_id=1, wait=0).text)
        unsigned = [{key: value for key, value in event.items() if key != "signature"} for event in stored]
        assert unsigned == [
            {key: value for key, value in event.items() if key != "signature"} for event in (delayed, rescheduled)
        ]
        for event in (delayed, rescheduled):
            assert event["session"] == session_id
            assert verify_gateway_event(event, jwks) == jwks["keys"][0]["kid"]
            entry, _leaf = evaluation.gateway.runtime.audit_log.entry(event["audit_index"])  # signed with the event
            assert (entry["session_id"], entry["event_id"], entry["data"]) == (session_id, event["id"], event["data"])
        exchange_id = head.headers["x-tongban-exchange-id"]
    closing = _closing_entry(evaluation, exchange_id)
    assert closing["outcome"] == "streamed" and closing["items_sent"] == 3 and closing["last_item"] == 3
    # What the gateway sent: what the venue read, and maybe keep-alives written after it stopped reading.
    digests = [hashlib.sha256(bytes(follower.raw) + b": keep-alive\n\n" * n).digest() for n in range(4)]
    assert closing["response_digest"] in [f"sha-256=:{base64.b64encode(d).decode()}:" for d in digests]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda event: event["data"].update(to="aborted"),
        lambda event: event.update(id=event["id"] + 1),
        lambda event: event.update(session="EV20261208000000000000"),
        lambda event: event.update(audit_index=event["audit_index"] + 1),
        lambda event: event.update(signature=event["signature"][:-4] + "AAAA"),
        lambda event: event.pop("signature"),
    ],
)
def test_a_tampered_event_does_not_verify(evaluation: Evaluation, tamper: Any) -> None:
    session_id = _create(evaluation)
    jwks = evaluation.gateway.jwks()
    with following(evaluation, evaluation.supervisor, session_id) as follower:
        (event,) = follower.take(1)
    verify_gateway_event(event, jwks)
    tamper(event)
    with pytest.raises(ValueError):
        verify_gateway_event(event, jwks)


def test_a_venue_that_reconnects_gets_exactly_what_it_missed(evaluation: Evaluation) -> None:
    session_id = _create(evaluation)
    venue = evaluation.venues[SHENZHEN]
    with following(evaluation, venue, session_id) as follower:
        _move(evaluation, session_id, "delayed")
        seen = follower.take(2)
    assert [event["id"] for event in seen] == [1, 2]
    for to in ("scheduled", "suspended", "scheduled"):  # while the venue is away
        _move(evaluation, session_id, to)
    with following(evaluation, venue, session_id, last_event_id=seen[-1]["id"]) as follower:
        missed = follower.take(3)
        _move(evaluation, session_id, "aborted")
        later = follower.take(1)
        assert follower.items.empty()
    assert [event["id"] for event in missed + later] == [3, 4, 5, 6]


def test_the_stream_closes_when_the_session_is_archived_and_answers_204_afterwards(evaluation: Evaluation) -> None:
    session_id = _create(evaluation)
    _move(evaluation, session_id, "aborted")
    with following(evaluation, evaluation.organiser, session_id, last_event_id=1) as follower:
        _move(evaluation, session_id, "archived")
        events = follower.take(5)
        assert follower.thread.join(timeout=5) is None and not follower.thread.is_alive()  # the server closed it
    assert [(event["id"], event["data"]["to"]) for event in events] == [(2, "aborted"), (3, "archived")]
    with following(evaluation, evaluation.organiser, session_id, last_event_id=3) as over:
        assert over.response.status_code == 204


def test_keep_alive_comments_hold_an_idle_stream(evaluation: Evaluation) -> None:
    session_id = _create(evaluation)
    with following(evaluation, evaluation.venues[HOHHOT], session_id, last_event_id=1) as follower:
        assert follower.items.get(timeout=5) == "keep-alive"
        _move(evaluation, session_id, "delayed")
        assert [event["id"] for event in follower.take(1)] == [2]


def test_callers_without_a_right_to_the_session_are_refused(evaluation: Evaluation) -> None:
    session_id = _create(evaluation)
    with following(evaluation, evaluation.outsider, session_id) as follower:
        assert follower.response.status_code == 403
    url = f"{evaluation.gateway.url}/v1/evaluations/{session_id}/events"
    unsigned = httpx.get(url, trust_env=False, timeout=5)
    assert unsigned.status_code == 401
    for member, status in ((evaluation.outsider, 403), (None, 401)):
        ws_url = url.replace("http://", "ws://")
        headers = _signed(evaluation, member, url) if member is not None else {}
        with pytest.raises(InvalidStatus) as refused:
            websockets.sync.client.connect(ws_url, additional_headers=dict(headers), open_timeout=5)
        assert refused.value.response.status_code == status
        problem = json.loads(refused.value.response.body)
        assert problem["code"] in ("access.denied", "auth.missing_token")
        denial = refused.value.response  # the refused handshake's answer is signed like any
        as_http = httpx.Response(
            denial.status_code, headers=list(denial.headers.raw_items()), content=bytes(denial.body or b"")
        )
        verify_gateway_response(as_http, evaluation.gateway.jwks())


def _socket(evaluation: Evaluation, member: Any, session_id: str, last_event_id: int | None = None) -> Any:
    url = f"{evaluation.gateway.url}/v1/evaluations/{session_id}/events"
    if last_event_id is not None:
        url += f"?last_event_id={last_event_id}"
    headers = _signed(evaluation, member, url)  # the handshake is a GET, signed as one (its http URI)
    return websockets.sync.client.connect(url.replace("http://", "ws://"), additional_headers=dict(headers))


def test_the_websocket_pushes_signed_events_and_resumes(evaluation: Evaluation) -> None:
    session_id = _create(evaluation)
    jwks = evaluation.gateway.jwks()
    venue = evaluation.venues[HOHHOT]
    with _socket(evaluation, venue, session_id) as socket:
        handshake = socket.response
        assert handshake.status_code == 101
        verify_gateway_stream_head(101, httpx.Headers(list(handshake.headers.raw_items())), jwks)
        exchange_id = handshake.headers["x-tongban-exchange-id"]
        first = json.loads(socket.recv(timeout=5))
        _move(evaluation, session_id, "delayed")
        second = json.loads(socket.recv(timeout=5))
    assert [(first["id"], first["kind"]), (second["id"], second["data"]["to"])] == [(1, "created"), (2, "delayed")]
    for event in (first, second):
        verify_gateway_event(event, jwks)
    closing = _closing_entry(evaluation, exchange_id)
    assert closing["items_sent"] == 2 and closing["status"] == 101

    _move(evaluation, session_id, "scheduled")
    _move(evaluation, session_id, "aborted")
    _move(evaluation, session_id, "archived")
    with _socket(evaluation, venue, session_id, last_event_id=2) as socket:
        resumed = [json.loads(message)["id"] for message in socket]  # the server closes after archived
    assert resumed == [3, 4, 5]


def test_a_subscriber_that_falls_behind_resumes_from_the_table(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub on a real database: two subscribers share one feed; one reads at once, the other
    not at all while eight events arrive one by one, overflowing its queue of two batches. It then
    gets the eight from the table, in order, none twice; the feed ends with its last subscriber."""
    monkeypatch.setattr(_live, "QUEUE_BATCHES", 2)
    database = Database(database_url)
    database.migrate()
    now = datetime.now(UTC)

    def write(event_id: int) -> None:
        with database.write() as connection:
            connection.execute(
                insert(evaluation_events).values(
                    session_id="S1", event_id=event_id, kind="noted", data="{}", created_at=now
                )
            )

    async def in_thread(function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(function, *args)

    async def scenario() -> tuple[list[int], list[int], bool, bool]:
        hub = _live.EventHub(database, in_thread, read_events)
        write(1)
        prompt, slow = hub.subscribe("S1", 0), hub.subscribe("S1", 0)
        assert [e["id"] for e in await prompt.next(1)] == [1] == [e["id"] for e in await slow.next(1)]
        prompt_ids: list[int] = []
        for event_id in range(2, 10):
            write(event_id)
            hub.wake("S1")
            prompt_ids += [e["id"] for e in await prompt.next(2)]
        overflowed = slow.behind
        slow_ids: list[int] = []
        while len(slow_ids) < 8:
            slow_ids += [e["id"] for e in await slow.next(1)]
        prompt.close()
        slow.close()
        await asyncio.sleep(0.2)
        feed_ended = "S1" not in hub.feeds
        await hub.close()
        return prompt_ids, slow_ids, overflowed, feed_ended

    try:
        prompt_ids, slow_ids, overflowed, feed_ended = asyncio.run(scenario())
    finally:
        database.dispose()
    assert prompt_ids == slow_ids == list(range(2, 10))
    assert overflowed and feed_ended


def test_postgresql_notify_wakes_the_other_process(
    evaluation: Evaluation, start_gateway: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the feeds poll (the other tests)")
    monkeypatch.setattr(_live, "LISTENING_POLL_SECONDS", 30.0)  # so that only a notification can be in time
    session_id = _create(evaluation)
    hub = evaluation.gateway.runtime.services["evaluation"]
    deadline = time.monotonic() + 5
    while not hub.listening and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.listening
    other = Evaluation(start_gateway(), evaluation.data, evaluation.organiser, evaluation.venues,
                       evaluation.supervisor, evaluation.outsider)  # fmt: skip
    other.gateway.members.update(evaluation.gateway.members)
    with following(evaluation, evaluation.venues[ZHONGSHAN], session_id, last_event_id=1) as follower:
        time.sleep(0.3)  # the feed has started and waits
        started = time.monotonic()
        _move(other, session_id, "delayed")
        (event,) = follower.take(1, timeout=5)
        assert event["id"] == 2 and time.monotonic() - started < 3


def test_a_stopping_server_ends_its_streams_and_audits_them(evaluation: Evaluation, tmp_path: Any) -> None:
    """As `tongban serve` runs it (timeout_graceful_shutdown): held-open streams do not keep a
    stopping server waiting, and each still gets its closing entry."""
    import uvicorn

    from gateway.app import create_app

    runtime = evaluation.gateway.runtime
    session_id = _create(evaluation)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning",
                       timeout_graceful_shutdown=1)
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    second = Evaluation(Gateway(runtime, _Bound(port)), evaluation.data, evaluation.organiser, evaluation.venues,
                        evaluation.supervisor, evaluation.outsider)  # fmt: skip
    with following(second, evaluation.supervisor, session_id) as follower:
        assert len(follower.take(1)) == 1
        exchange_id = follower.response.headers["x-tongban-exchange-id"]
        started = time.monotonic()
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive() and time.monotonic() - started < 5
    closing = _closing_entry(evaluation, exchange_id)
    assert closing["items_sent"] == 1
