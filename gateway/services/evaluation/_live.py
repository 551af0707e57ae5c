"""Live fan-out of evaluation events: one feed per session in each process, however many venues and
supervisors follow it there, reads the session's new events from the shared table and hands them to
every local subscriber's bounded queue.

What wakes a feed:

    this process wrote the event       publish() right after the write commits: the writer hands
                                       the stored events over (no wait, no read)
    another process or node wrote it   PostgreSQL: NOTIFY evaluation_events '<session>:<event id>',
                                       sent in the event's own transaction, heard by this process's
                                       one LISTEN connection; SQLite: every SQLITE_POLL_SECONDS one
                                       query asks for the last event id of every session followed
                                       here (the processes of one node share the file), and the
                                       feeds of those that moved read their new events

A subscriber never misses or repeats an event: it reads from the table whatever its queue cannot
vouch for (when it starts, after a gap, when its queue overflowed because it fell behind), and
skips ids it has already passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from gateway.logs import log
from gateway.services.evaluation.tables import evaluation_events

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.storage import Database

__all__ = [
    "NOTIFY_CHANNEL",
    "EventHub",
    "Subscription",
    "event_written",
    "listen_for_events",
    "notify_event",
    "start_hub",
    "stop_hub",
]

NOTIFY_CHANNEL: Final = "evaluation_events"
SQLITE_POLL_SECONDS: Final = 0.05  # how soon another process's event reaches this one's subscribers
LISTENING_POLL_SECONDS: Final = 1.0  # with NOTIFY heard, the table is still read now and then
QUEUE_BATCHES: Final = 64  # a subscriber this many batches behind reads the table instead
READ_LIMIT: Final = 500
LISTEN_RETRY_SECONDS: Final = 1.0
FEED_IDLE_SECONDS: Final = 5.0  # a feed reads its session now and then even if nothing woke it

Event = dict[str, Any]
Reader = Callable[["Database", str, int, int], list[Event]]  # (database, session, after, limit)


class Subscription:
    """One follower's view of a session's events after `last`: in order, each once."""

    def __init__(self, hub: EventHub, session_id: str, after: int) -> None:
        self.hub, self.session_id, self.last = hub, session_id, after
        self.queue: asyncio.Queue[list[Event]] = asyncio.Queue(QUEUE_BATCHES)
        self.behind = True  # nothing delivered yet: start from the table
        self.closed = False

    def offer(self, batch: list[Event]) -> None:
        """From the feed: queue the batch, or note that this subscriber must catch up from the table."""
        if self.behind:
            return
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.behind = True

    async def next(self, timeout: float) -> list[Event]:
        """The next events (possibly none, after `timeout` seconds without any)."""
        while not self.closed:
            if self.behind:
                self.behind = False  # set again by offer() should the queue overflow during the read
                while not self.queue.empty():
                    self.queue.get_nowait()
                found = await self.hub.read(self.session_id, self.last)
                if len(found) == READ_LIMIT:
                    self.behind = True
                if found:
                    self.last = found[-1]["id"]
                    return found
            try:
                batch = await asyncio.wait_for(self.queue.get(), timeout)
            except TimeoutError:
                return []
            fresh = [event for event in batch if event["id"] > self.last]
            if not fresh:
                continue
            if fresh[0]["id"] != self.last + 1:  # the feed started after what we have: a gap to read
                self.behind = True
                continue
            self.last = fresh[-1]["id"]
            return fresh
        return []

    def close(self) -> None:
        self.closed = True
        self.hub._leave(self)


class _Feed:
    """A session's one reader in this process."""

    def __init__(self, hub: EventHub, session_id: str) -> None:
        self.hub, self.session_id = hub, session_id
        self.last: int | None = None  # the last event id read; None until the feed has started
        self.subscribers: set[Subscription] = set()
        self.woken = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self.last = await self.hub.in_thread(_last_event_id, self.hub.database, self.session_id)
        while self.subscribers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), FEED_IDLE_SECONDS)
            self.woken.clear()
            if not self.subscribers:
                break
            try:
                found = await self.hub.read(self.session_id, self.last)
            except Exception:  # the database failing now and then must not end the feed
                log.exception("evaluation events of %s could not be read", self.session_id)
                await asyncio.sleep(self.hub.poll_seconds)
                continue
            if len(found) == READ_LIMIT:
                self.woken.set()
            found = [event for event in found if event["id"] > self.last]  # some published meanwhile
            if found:
                self.last = found[-1]["id"]
                for subscriber in list(self.subscribers):
                    subscriber.offer(found)

    def publish(self, events: list[Event]) -> None:
        """Events this process has just stored: passed on as they are when they follow what the feed
        has, without reading them back (the write path's threads may all be busy); read otherwise."""
        if self.last is not None and events and events[0]["id"] == self.last + 1:
            self.last = events[-1]["id"]
            for subscriber in list(self.subscribers):
                subscriber.offer(events)
        else:
            self.woken.set()


def _last_event_ids(database: Database, session_ids: list[str]) -> dict[str, int]:
    with database.read() as connection:
        rows = connection.execute(
            select(evaluation_events.c.session_id, func.max(evaluation_events.c.event_id))
            .where(evaluation_events.c.session_id.in_(session_ids))
            .group_by(evaluation_events.c.session_id)
        ).all()
    return {session_id: int(last) for session_id, last in rows}


def _last_event_id(database: Database, session_id: str) -> int:
    with database.read() as connection:
        return _max_event_id(connection, session_id)


def _max_event_id(connection: Connection, session_id: str) -> int:
    found = connection.execute(
        select(func.max(evaluation_events.c.event_id)).where(evaluation_events.c.session_id == session_id)
    ).scalar_one_or_none()
    return int(found or 0)


class EventHub:
    """This process's feeds, by session."""

    def __init__(self, database: Database, in_thread: Callable[..., Any], reader: Reader) -> None:
        self.database = database
        self.in_thread = in_thread
        self.reader = reader
        self.feeds: dict[str, _Feed] = {}
        self.listening = False  # a LISTEN connection is up: other processes' events wake the feeds
        self.poller: asyncio.Task[None] | None = None

    @property
    def poll_seconds(self) -> float:
        return LISTENING_POLL_SECONDS if self.listening else SQLITE_POLL_SECONDS

    async def read(self, session_id: str, after: int) -> list[Event]:
        events: list[Event] = await self.in_thread(self.reader, self.database, session_id, after, READ_LIMIT)
        return events

    def subscribe(self, session_id: str, after: int) -> Subscription:
        subscription = Subscription(self, session_id, after)
        feed = self.feeds.get(session_id)
        if feed is None or feed.task is None or feed.task.done():
            feed = self.feeds[session_id] = _Feed(self, session_id)
            feed.subscribers.add(subscription)
            feed.task = asyncio.create_task(self._run(feed))
        else:
            feed.subscribers.add(subscription)
        if self.poller is None or self.poller.done():
            self.poller = asyncio.create_task(self._poll())
        return subscription

    async def _poll(self) -> None:
        """While any session is followed here: one query for all their last ids, waking the feeds
        that are behind (events another process wrote; with LISTEN up, only a safety net)."""
        while self.feeds:
            await asyncio.sleep(self.poll_seconds)
            started = {session_id: feed for session_id, feed in self.feeds.items() if feed.last is not None}
            if not started:
                continue
            try:
                latest = await self.in_thread(_last_event_ids, self.database, list(started))
            except Exception:
                log.exception("evaluation events: the poll failed")
                continue
            for session_id, last in latest.items():
                feed = started[session_id]
                if feed.last is not None and last > feed.last:
                    feed.woken.set()

    async def _run(self, feed: _Feed) -> None:
        try:
            await feed.run()
        finally:
            if self.feeds.get(feed.session_id) is feed:
                del self.feeds[feed.session_id]

    def _leave(self, subscription: Subscription) -> None:
        feed = self.feeds.get(subscription.session_id)
        if feed is not None:
            feed.subscribers.discard(subscription)
            if not feed.subscribers:
                feed.woken.set()  # let it notice and end

    def wake(self, session_id: str) -> None:
        feed = self.feeds.get(session_id)
        if feed is not None:
            feed.woken.set()

    def publish(self, session_id: str, events: list[Event]) -> None:
        feed = self.feeds.get(session_id)
        if feed is not None:
            feed.publish(events)

    async def close(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        for feed in list(self.feeds.values()):
            for subscription in list(feed.subscribers):
                subscription.closed = True
            feed.subscribers.clear()
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed.task
        self.feeds.clear()


# ---- the service's hooks (gateway/services/evaluation/__init__.py) -------------------------------


def start_hub(runtime: Runtime) -> EventHub:
    # Imported here: _sessions imports this module (its writers wake the feeds and NOTIFY).
    from gateway.services.evaluation._sessions import read_events

    return EventHub(runtime.database, runtime.in_thread, read_events)


async def stop_hub(runtime: Runtime) -> None:
    hub = runtime.services.get("evaluation")
    if isinstance(hub, EventHub):
        await hub.close()


def event_written(runtime: Runtime, session_id: str, events: list[Event] | None = None) -> None:
    """This process stored events of the session (`events`, as read_events gives them, when the
    writer has them): its followers here have them at once."""
    hub = runtime.services.get("evaluation")
    if isinstance(hub, EventHub):
        if events:
            hub.publish(session_id, events)
        else:
            hub.wake(session_id)


def notify_event(connection: Connection, session_id: str, event_id: int) -> None:
    """On PostgreSQL, tell every process LISTENing, when (and only if) the transaction commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_notify(NOTIFY_CHANNEL, f"{session_id}:{event_id}")))


async def listen_for_events(runtime: Runtime) -> None:
    """Background: on PostgreSQL, one LISTEN connection for the process, waking the session's feed
    on each notification; reconnecting after a failure (the feeds poll meanwhile)."""
    hub = runtime.services.get("evaluation")
    url = make_url(runtime.settings.database_url)
    if not isinstance(hub, EventHub) or url.get_backend_name() != "postgresql":
        return
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
                await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                hub.listening = True
                async for notification in connection.notifies():
                    hub.wake(notification.payload.rsplit(":", 1)[0])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("evaluation events: LISTEN connection lost; polling until it is back", exc_info=True)
        finally:
            hub.listening = False
        await asyncio.sleep(LISTEN_RETRY_SECONDS)
