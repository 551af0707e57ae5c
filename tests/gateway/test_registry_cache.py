"""The registry each process keeps in memory: changes reach it within the bound, and a copy that
could not be refreshed is not trusted."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from gateway.client import make_member_certificate
from gateway.registry import add_member, add_service, grant, revoke
from gateway.registry_cache import MAX_AGE_SECONDS, RegistryCache
from gateway.storage import Database, members

NOW = datetime.now(UTC)
CLIENT, PROVIDER = "442000.zsgov.window", "440300.szamr.licence"
SERVICE = f"{PROVIDER}/apply"


async def _in_thread(function: Any, *args: Any) -> Any:
    return function(*args)


def _registry(database_url: str) -> tuple[Database, RegistryCache]:
    database = Database(database_url)
    database.migrate()
    with database.write() as connection:
        add_member(connection, CLIENT, make_member_certificate(CLIENT)[1], now=NOW)
        add_member(connection, PROVIDER, make_member_certificate(PROVIDER)[1], now=NOW)
        add_service(connection, PROVIDER, "apply", url="http://127.0.0.1:9/", now=NOW)
        grant(connection, CLIENT, SERVICE, now=NOW)
    cache = RegistryCache(database)
    cache.reload()
    return database, cache


def test_a_revocation_is_taken_up_by_the_next_refresh(database_url: str) -> None:
    database, cache = _registry(database_url)
    try:
        assert asyncio.run(cache.has_right(CLIENT, SERVICE, _in_thread))
        with database.write() as connection:
            assert revoke(connection, CLIENT, SERVICE)
        assert cache.refresh() is True
        assert not asyncio.run(cache.has_right(CLIENT, SERVICE, _in_thread))
        with database.write() as connection:  # a grant is seen at once, before any refresh
            grant(connection, CLIENT, SERVICE, now=NOW)
        assert asyncio.run(cache.has_right(CLIENT, SERVICE, _in_thread))
    finally:
        database.dispose()


def test_a_copy_older_than_the_bound_is_not_used(database_url: str) -> None:
    """Refreshes failing (or stuck) must not keep a revoked right alive: past MAX_AGE_SECONDS every
    read goes to the database."""
    database, cache = _registry(database_url)
    try:
        with database.write() as connection:
            revoke(connection, CLIENT, SERVICE)
        assert asyncio.run(cache.has_right(CLIENT, SERVICE, _in_thread))  # within the bound: memory
        cache._snapshot = dataclasses.replace(cache._snapshot, loaded_at=time.monotonic() - MAX_AGE_SECONDS - 0.1)
        assert not asyncio.run(cache.has_right(CLIENT, SERVICE, _in_thread))
        assert asyncio.run(cache.member(CLIENT, _in_thread)) is not None
    finally:
        database.dispose()


def test_one_unreadable_certificate_does_not_stop_the_reload(database_url: str, tmp_path: Path) -> None:
    database, cache = _registry(database_url)
    try:
        with database.write() as connection:
            connection.execute(update(members).where(members.c.id == PROVIDER).values(certificate_pem=b"garbage"))
        cache.reload()
        assert asyncio.run(cache.member(CLIENT, _in_thread)) is not None
        assert PROVIDER not in cache._snapshot.members
    finally:
        database.dispose()
