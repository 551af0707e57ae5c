"""The interim audit log: a hash chain in one table, written through the AuditLog interface."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import rfc8785
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import AuditUnavailable
from gateway.storage import Database, audit_chain

__all__ = [
    "AuditLog",
    "AuditReceipt",
    "ChainBreak",
    "HashChainAuditLog",
    "canonical_entry",
]

_GENESIS = bytes(32)
_PG_APPEND_LOCK = 7_304_210_002


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: RFC 8785 (JCS) canonical JSON."""
    return rfc8785.dumps(dict(entry))


@dataclass(frozen=True)
class AuditReceipt:
    """Where an entry landed."""

    index: int
    entry_hash: bytes


class AuditLog(Protocol):
    def append(self, entry: Mapping[str, Any], *, exchange_id: str | None, now: datetime) -> AuditReceipt:
        """Durably record one entry before returning; raise AuditUnavailable otherwise."""

    def entries_for(self, exchange_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The entries of one exchange, in order."""


class ChainBreak(Exception):
    """The chain does not verify at `index`."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"audit entry {index}: {reason}")
        self.index = index
        self.reason = reason


def _link(previous: bytes, entry: bytes) -> bytes:
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    return hashlib.sha256(previous + leaf).digest()


class HashChainAuditLog:
    """Each row holds SHA-256(previous chain hash || leaf hash): changing, reordering or deleting a
    row shows, except cutting entries off the end, which only an anchor outside the table (the
    signed checkpoints of the transparency log) can reveal."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def append(self, entry: Mapping[str, Any], *, exchange_id: str | None, now: datetime) -> AuditReceipt:
        data = canonical_entry(entry)
        try:
            with self.database.write() as connection:
                if not self.database.is_sqlite:
                    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})
                last = connection.execute(
                    select(audit_chain.c.idx, audit_chain.c.chain_hash)
                    .order_by(audit_chain.c.idx.desc())
                    .limit(1)
                ).first()
                index = 0 if last is None else last.idx + 1
                chain_hash = _link(_GENESIS if last is None else bytes(last.chain_hash), data)
                connection.execute(
                    insert(audit_chain).values(
                        idx=index, exchange_id=exchange_id, entry=data, chain_hash=chain_hash, created_at=now
                    )
                )
        except SQLAlchemyError as exc:
            raise AuditUnavailable(internal=f"audit append failed: {exc}") from exc
        return AuditReceipt(index=index, entry_hash=chain_hash)

    def entries_for(self, exchange_id: str) -> list[tuple[int, dict[str, Any]]]:
        import json

        with self.database.read() as connection:
            rows = connection.execute(
                select(audit_chain.c.idx, audit_chain.c.entry)
                .where(audit_chain.c.exchange_id == exchange_id)
                .order_by(audit_chain.c.idx)
            )
            return [(row.idx, json.loads(bytes(row.entry))) for row in rows]

    def size(self) -> int:
        with self.database.read() as connection:
            return int(connection.execute(select(func.count()).select_from(audit_chain)).scalar_one())

    def _rows(self, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
        after = -1
        while True:
            with self.database.read() as connection:
                rows = connection.execute(
                    select(audit_chain.c.idx, audit_chain.c.entry, audit_chain.c.chain_hash)
                    .where(audit_chain.c.idx > after)
                    .order_by(audit_chain.c.idx)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield row.idx, bytes(row.entry), bytes(row.chain_hash)
            after = rows[-1].idx

    def verify(self, progress: Callable[[int], None] | None = None) -> int:
        """Recompute the chain; return the number of entries, or raise ChainBreak at the first bad one."""
        previous = _GENESIS
        expected_index = 0
        for index, entry, chain_hash in self._rows():
            if index != expected_index:
                raise ChainBreak(expected_index, f"missing (next stored entry is {index})")
            previous = _link(previous, entry)
            if previous != chain_hash:
                raise ChainBreak(index, "content or order changed (hash does not chain)")
            expected_index += 1
            if progress is not None:
                progress(1)
        return expected_index
