"""The registry in each process's memory: members (certificates parsed once), services and rights.

The request path reads only from here. A change made anywhere (the CLI, another process, another
node) increments the registry version in the database (gateway.registry); every process reads
that one number every `refresh_seconds` and reloads when it moved. So a revoked right, a removed
service or a replaced certificate takes effect in every process within `refresh_seconds` (0.5 s by
default; the documented bound is 1 s). Additions are seen at once: a member, service or right not
found in memory is looked up in the database before the answer is no.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select

from gateway.registry import (
    Member,
    Service,
    find_member,
    find_member_by_key,
    find_service,
    has_right,
    list_members,
    list_services,
    registry_version_of,
)
from gateway.storage import Database, access_rights

__all__ = ["RegistryCache"]

T = TypeVar("T")
InThread = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class _Snapshot:
    version: int
    members: dict[str, Member]
    members_by_key: dict[str, Member]
    services: dict[str, Service]
    rights: frozenset[tuple[str, str]]


def _empty() -> _Snapshot:
    return _Snapshot(-1, {}, {}, {}, frozenset())


@dataclass
class RegistryCache:
    database: Database
    refresh_seconds: float = 0.5
    _snapshot: _Snapshot = field(default_factory=_empty)
    # Found in the database after a miss, since the last reload (a reload replaces them).
    _late_rights: set[tuple[str, str]] = field(default_factory=set)

    # ---- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the whole registry in one read transaction."""
        with self.database.read() as connection:
            version = registry_version_of(connection)
            members = {member.id: member for member in list_members(connection)}
            services = {service.id: service for service in list_services(connection)}
            rights = frozenset(
                (row.client_id, row.service_id)
                for row in connection.execute(select(access_rights.c.client_id, access_rights.c.service_id))
            )
        by_key = {member.certificate.key_thumbprint: member for member in members.values()}
        self._snapshot = _Snapshot(version, members, by_key, services, rights)
        self._late_rights = set()

    def refresh(self) -> bool:
        """Reload if the registry changed since the last load; True when it did."""
        with self.database.read() as connection:
            version = registry_version_of(connection)
        if version == self._snapshot.version:
            return False
        self.reload()
        return True

    # ---- reading (async: a miss goes to the database off the event loop) ------------------------

    async def member(self, member_id: str, in_thread: InThread) -> Member | None:
        found = self._snapshot.members.get(member_id)
        if found is not None:
            return found
        return await in_thread(self._read, find_member, member_id)

    async def member_by_key(self, key_thumbprint: str, in_thread: InThread) -> Member | None:
        found = self._snapshot.members_by_key.get(key_thumbprint)
        if found is not None:
            return found
        return await in_thread(self._read, find_member_by_key, key_thumbprint)

    async def service(self, service_id: str, in_thread: InThread) -> Service | None:
        found = self._snapshot.services.get(service_id)
        if found is not None:
            return found
        return await in_thread(self._read, find_service, service_id)

    async def has_right(self, client_id: str, right: str, in_thread: InThread) -> bool:
        key = (client_id, right)
        if key in self._snapshot.rights or key in self._late_rights:
            return True
        if await in_thread(self._read, has_right, client_id, right):
            self._late_rights.add(key)
            return True
        return False

    def _read(self, function: Callable[..., T], *args: Any) -> T:
        with self.database.read() as connection:
            return function(connection, *args)
