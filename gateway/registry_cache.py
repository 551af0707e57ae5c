"""The registry in each process's memory: members (certificates parsed once), services and rights.

The request path reads only from here. A change made anywhere (the CLI, another process, another
node) increments the registry version in the database (gateway.registry); every process reads
that one number every `refresh_seconds` and reloads when it moved. So a revoked right, a removed
service or a replaced certificate takes effect in every process within `refresh_seconds` (0.5 s by
default; the documented bound is 1 s). Additions are seen at once: a member, service or right not
found in memory is looked up in the database before the answer is no, and that answer is not kept.
A copy whose last successful refresh is older than MAX_AGE_SECONDS (refreshes failing, or stuck
behind a busy thread pool) is not used at all: every read goes to the database until a refresh
succeeds again, so the bound holds whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from gateway.logs import log
from gateway.registry import (
    Member,
    Service,
    find_member,
    find_member_by_key,
    find_service,
    has_right,
    list_services,
    registry_version_of,
)
from gateway.storage import Database, access_rights, members

__all__ = ["MAX_AGE_SECONDS", "RegistryCache"]

MAX_AGE_SECONDS = 1.0
InThread = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class _Snapshot:
    version: int
    loaded_at: float  # time.monotonic() when the read that made or confirmed it began
    members: dict[str, Member]
    members_by_key: dict[str, Member]
    services: dict[str, Service]
    rights: frozenset[tuple[str, str]]


def _empty() -> _Snapshot:
    return _Snapshot(-1, float("-inf"), {}, {}, {}, frozenset())


def _member_or_none(connection: Connection, member_id: str) -> Member | None:
    """find_member, or None (logged) when the stored certificate no longer loads: one bad row must
    not stop the whole registry from reloading."""
    try:
        return find_member(connection, member_id)
    except Exception:
        log.exception("member %s: its stored certificate cannot be loaded; skipped", member_id)
        return None


@dataclass
class RegistryCache:
    database: Database
    refresh_seconds: float = 0.5
    _snapshot: _Snapshot = field(default_factory=_empty)

    # ---- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the whole registry in one read transaction."""
        started = time.monotonic()
        with self.database.read() as connection:
            version = registry_version_of(connection)
            loaded: dict[str, Member] = {}
            for row in connection.execute(select(members.c.id).order_by(members.c.id)):
                member = _member_or_none(connection, row.id)
                if member is not None:
                    loaded[member.id] = member
            services = {service.id: service for service in list_services(connection)}
            rights = frozenset(
                (row.client_id, row.service_id)
                for row in connection.execute(select(access_rights.c.client_id, access_rights.c.service_id))
            )
        by_key = {member.certificate.key_thumbprint: member for member in loaded.values()}
        self._snapshot = _Snapshot(version, started, loaded, by_key, services, rights)

    def refresh(self) -> bool:
        """Reload if the registry changed since the last load; True when it did."""
        started = time.monotonic()
        with self.database.read() as connection:
            version = registry_version_of(connection)
        current = self._snapshot
        if version != current.version:
            self.reload()
            return True
        self._snapshot = _Snapshot(
            version, started, current.members, current.members_by_key, current.services, current.rights
        )
        return False

    def _fresh(self) -> _Snapshot | None:
        """The copy in memory, or None when it is too old to answer from."""
        snapshot = self._snapshot
        return snapshot if time.monotonic() - snapshot.loaded_at <= MAX_AGE_SECONDS else None

    # ---- reading (async: a miss goes to the database off the event loop) ------------------------

    async def member(self, member_id: str, in_thread: InThread) -> Member | None:
        snapshot = self._fresh()
        found = snapshot.members.get(member_id) if snapshot else None
        return found if found is not None else await in_thread(self._read, find_member, member_id)

    async def member_by_key(self, key_thumbprint: str, in_thread: InThread) -> Member | None:
        snapshot = self._fresh()
        found = snapshot.members_by_key.get(key_thumbprint) if snapshot else None
        return found if found is not None else await in_thread(self._read, find_member_by_key, key_thumbprint)

    async def service(self, service_id: str, in_thread: InThread) -> Service | None:
        snapshot = self._fresh()
        found = snapshot.services.get(service_id) if snapshot else None
        return found if found is not None else await in_thread(self._read, find_service, service_id)

    async def has_right(self, client_id: str, right: str, in_thread: InThread) -> bool:
        snapshot = self._fresh()
        if snapshot is not None and (client_id, right) in snapshot.rights:
            return True
        return bool(await in_thread(self._read, has_right, client_id, right))

    def _read(self, function: Callable[..., Any], *args: Any) -> Any:
        with self.database.read() as connection:
            return function(connection, *args)
