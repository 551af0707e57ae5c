"""The audit transparency log: RFC 9162 Merkle tree over canonical JSON entries, signed checkpoints,
proofs, encrypted bodies, and durable appends by group commit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit._bodies import BodyCipher
from gateway.audit._checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    MalformedNote,
    UnverifiedNote,
    Verifier,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
    verifier_key_string,
)
from gateway.audit._merkle import (
    EMPTY_ROOT,
    CompactRange,
    InvalidRange,
    consistency_proof_from_nodes,
    inclusion_proof_from_nodes,
    leaf_hash,
)
from gateway.clock import Clock, Entropy
from gateway.errors import AuditUnavailable, InvalidContent, ReplayedToken, ServiceUnavailable, TokenExpired
from gateway.storage import (
    Database,
    audit_bodies,
    audit_checkpoints,
    audit_entries,
    audit_head,
    audit_nodes,
    seen_tokens,
)

__all__ = [
    "AuditLog",
    "AuditReceipt",
    "BodyToKeep",
    "CheckpointSigner",
    "LogBroken",
    "StoredCheckpoint",
    "TokenToSpend",
    "TransparencyLog",
    "canonical_entry",
]


ON_DEMAND_GAP = timedelta(seconds=1)
_TOKEN_LOOKUP_CHUNK = 500
_FORGET_TOKENS_AFTER = timedelta(minutes=10)


_SAFE_INTEGER = 2**53 - 1


def _jcs_equals_sorted_json(value: Any) -> bool:
    """True when sorted, compact json.dumps gives exactly the RFC 8785 bytes: no floats (JCS
    formats numbers the ECMAScript way), integers within the safe range, ASCII keys (JCS sorts by
    UTF-16 code units, Python by code points; the two agree on ASCII), nothing but JSON types."""
    if value is None or value is True or value is False or type(value) is str:
        return True
    if type(value) is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if type(value) is dict:
        return all(type(key) is str and key.isascii() and _jcs_equals_sorted_json(item) for key, item in value.items())
    if type(value) is list:
        return all(_jcs_equals_sorted_json(item) for item in value)
    return False


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: RFC 8785 (JCS) canonical JSON.

    The gateway's own entries take the fast road (json.dumps, about eight times quicker than the
    general encoder); a test holds the two to the same bytes."""
    value = dict(entry)
    if _jcs_equals_sorted_json(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the general encoder refuse it
            pass
    return rfc8785.dumps(value)


def _bound(connection: Connection, column: Any, value: Any) -> Any:
    """The value as SQLAlchemy would bind it for this column on this database (dates on SQLite)."""
    processor = column.type.bind_processor(connection.dialect)
    return processor(value) if processor else value


_INSERT_SQL: dict[tuple[str, str], str] = {}


def _insert_many(connection: Connection, table: Any, rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows (tuples in the table's column order) with the driver's executemany."""
    key = (connection.dialect.name, table.name)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(column.name for column in table.columns)
        sql = _INSERT_SQL[key] = (
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(marker for _ in table.columns)})"
        )
    connection.exec_driver_sql(sql, rows)


def _signature_lines(note: str) -> tuple[str, list[str]]:
    text, _, signatures = note.partition("\n\n")
    return text + "\n\n", [line for line in signatures.split("\n") if line]


def _merge_signatures(kept: str, incoming: str) -> str:
    """The kept note with any signature lines of the incoming one it lacks (same text assumed).
    Lines are told apart by key: the name and the leading key id of `— name base64(keyid || sig)`."""
    text, lines = _signature_lines(kept)
    _, more = _signature_lines(incoming)

    def key_of(line: str) -> tuple[str, bytes]:
        _dash, name, blob = [*line.split(" ", 2), "", ""][:3]
        try:
            return name, base64.b64decode(blob, validate=True)[:4]
        except ValueError:
            return name, blob.encode()

    known = {key_of(line) for line in lines}
    merged = lines + [line for line in more if key_of(line) not in known]
    return text + "".join(line + "\n" for line in merged)


@dataclass(frozen=True)
class AuditReceipt:
    """Where an entry landed."""

    index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class BodyToKeep:
    """A message kept beside its entry: encrypted, and deleted after the retention period."""

    part: str  # request | response
    content: bytes


@dataclass(frozen=True)
class TokenToSpend:
    """A single-use credential (a client assertion's jti, a WS-Security signature) to record as
    used, in the same transaction as the entry it came with: a second use fails, in any process,
    after any restart, and nothing of a replayed exchange is written."""

    issuer: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    created_at: datetime


class AuditLog(Protocol):
    """What the pipeline's audit stages need: a durable append."""

    async def append(
        self,
        entry: Mapping[str, Any] | None,
        *,
        exchange_id: str | None,
        body: BodyToKeep | None = None,
        token: TokenToSpend | None = None,
    ) -> AuditReceipt | None:
        """Return once the entry (and the spent token) is durable; raise AuditUnavailable
        otherwise, ReplayedToken when the token was spent before. No entry: only the token."""

    def entries_for(self, exchange_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The entries of one exchange, in order."""


class LogBroken(Exception):
    """Verification found the log changed; `index` is the first entry shown to be affected."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"audit entry {index}: {reason}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class CheckpointSigner:
    """The log's origin line and the Ed25519 key that signs its checkpoints (the note key name is the origin)."""

    origin: str
    private_key: Ed25519PrivateKey
    verifying_keys: tuple[Ed25519PublicKey, ...] = ()  # older keys, for checkpoints signed before a rotation

    def sign(self, size: int, root: bytes) -> str:
        return sign_note(format_checkpoint(Checkpoint(self.origin, size, root)), self.origin, self.private_key)

    def verifier_key(self) -> str:
        """The C2SP verifier key string others configure to check our checkpoints."""
        return verifier_key_string(self.origin, self.private_key.public_key())

    def verifiers(self) -> list[Verifier]:
        keys = [self.private_key.public_key(), *self.verifying_keys]
        return [Verifier.from_public_key(self.origin, key) for key in keys]


@dataclass(frozen=True)
class _Record:
    entry: bytes | None  # None: only a token to spend
    kind: str
    exchange_id: str | None
    body: BodyToKeep | None
    token: TokenToSpend | None = None


_Outcome = AuditReceipt | Exception | None


@dataclass
class _Pending:
    record: _Record
    future: asyncio.Future[AuditReceipt | None]


@dataclass
class _GroupCommit:
    """Entries arriving while a batch is being written wait and go together in the next one:
    one transaction and one fsync for many entries, with no timer."""

    write: Callable[[list[_Record]], list[_Outcome]]
    max_batch: int
    pending: list[_Pending] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def submit(self, record: _Record) -> AuditReceipt | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AuditReceipt | None] = loop.create_future()
        self.pending.append(_Pending(record, future))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain())
        return await asyncio.shield(future)  # a caller that goes away does not cancel the batch

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            try:
                receipts = await anyio.to_thread.run_sync(self.write, [item.record for item in batch])
            except Exception as exc:
                error = exc if isinstance(exc, AuditUnavailable) else AuditUnavailable(internal=repr(exc))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(error)
                continue
            for item, outcome in zip(batch, receipts, strict=True):
                if item.future.done():
                    continue
                if isinstance(outcome, Exception):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)


class TransparencyLog:
    """The one append-only log. Any number of processes may append: writers take turns on the
    head row (a database lock), so exactly one sequences at a time."""

    def __init__(
        self,
        database: Database,
        *,
        signer: CheckpointSigner,
        clock: Clock,
        entropy: Entropy,
        body_cipher: BodyCipher,
        body_retention: timedelta,
        checkpoint_interval: float = 1.0,
        max_batch: int = 1000,
    ) -> None:
        self.database = database
        self.signer = signer
        self.clock = clock
        self.entropy = entropy
        self.body_cipher = body_cipher
        self.body_retention = body_retention
        self.checkpoint_interval = timedelta(seconds=checkpoint_interval)
        self.max_batch = max_batch
        self._write_lock = threading.Lock()
        self._frontier: CompactRange | None = None
        self._committers: dict[asyncio.AbstractEventLoop, _GroupCommit] = {}
        self._checkpoint_seen_at: datetime | None = None

    @property
    def origin(self) -> str:
        return self.signer.origin

    # ---- appending ---------------------------------------------------------------------------

    async def append(
        self,
        entry: Mapping[str, Any] | None,
        *,
        exchange_id: str | None,
        body: BodyToKeep | None = None,
        token: TokenToSpend | None = None,
    ) -> AuditReceipt | None:
        if entry is None:
            record = _Record(None, "", exchange_id, None, token)
        else:
            record = _Record(canonical_entry(entry), str(entry.get("kind", "")), exchange_id, body, token)
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None:
            committer = self._committers[loop] = _GroupCommit(self._write_batch, self.max_batch)
        return await committer.submit(record)

    def append_now(
        self, entry: Mapping[str, Any], *, exchange_id: str | None = None, body: BodyToKeep | None = None
    ) -> AuditReceipt:
        """Append from synchronous code (the CLI, tests): one entry, one transaction."""
        record = _Record(canonical_entry(entry), str(entry.get("kind", "")), exchange_id, body)
        outcome = self._write_batch([record])[0]
        assert isinstance(outcome, AuditReceipt)
        return outcome

    @staticmethod
    def _node_reader(connection: Connection) -> Callable[[int, int], bytes]:
        def get_node(level: int, index: int) -> bytes:
            value = connection.execute(
                select(audit_nodes.c.hash).where(audit_nodes.c.level == level, audit_nodes.c.idx == index)
            ).scalar_one_or_none()
            if value is None:
                raise LogBroken(index << level, f"the tree node at level {level}, index {index} is missing")
            return bytes(value)

        return get_node

    @staticmethod
    def _spend_tokens(connection: Connection, records: list[_Record], now: datetime) -> list[Exception | None]:
        """For each record: None when its token (if any) is now recorded as spent, or the error
        that refuses it — spent before (in storage or earlier in this batch), or past its lifetime
        by now (it would otherwise be stored and forgotten at once, and could be used again).
        Runs under the head lock."""
        keys = [(record.token.issuer, record.token.jti) for record in records if record.token is not None]
        if not keys:
            return [None] * len(records)
        spent: set[tuple[str, str]] = set()
        for start in range(0, len(keys), _TOKEN_LOOKUP_CHUNK):  # bound the statement's parameters
            chunk = keys[start : start + _TOKEN_LOOKUP_CHUNK]
            spent.update(
                (row.issuer, row.jti)
                for row in connection.execute(
                    select(seen_tokens.c.issuer, seen_tokens.c.jti).where(
                        tuple_(seen_tokens.c.issuer, seen_tokens.c.jti).in_(chunk)
                    )
                )
            )
        refusals: list[Exception | None] = []
        rows = []
        for record in records:
            token = record.token
            if token is None:
                refusals.append(None)
                continue
            key = (token.issuer, token.jti)
            if key in spent:
                refusals.append(ReplayedToken(f"jti {token.jti!r} was already used"))
            elif token.expires_at <= now:
                refusals.append(TokenExpired("the token expired before its exchange could be recorded"))
            else:
                refusals.append(None)
                spent.add(key)
                rows.append((token.issuer, token.jti, _bound(connection, seen_tokens.c.expires_at, token.expires_at)))
        if rows:
            _insert_many(connection, seen_tokens, rows)
        if random.random() < 0.01:
            # Now and then forget tokens long past their lifetime. The margin covers clocks that
            # differ between nodes: a token is only ever stored while it is still valid (above).
            connection.execute(delete(seen_tokens).where(seen_tokens.c.expires_at < now - _FORGET_TOKENS_AFTER))
        return refusals

    def _write_batch(self, records: list[_Record]) -> list[_Outcome]:
        now = self.clock.now()
        outcomes: list[_Outcome] = []
        try:
            with self._write_lock, self.database.write() as connection:
                head = connection.execute(
                    select(audit_head.c.size).where(audit_head.c.id == 1).with_for_update()
                ).scalar_one()
                if self._frontier is not None and self._frontier.size == head:
                    frontier = CompactRange(head, self._frontier.hashes)
                else:  # another process appended since: resume from the stored right edge
                    frontier = CompactRange.from_nodes(self._node_reader(connection), head)
                refusals = self._spend_tokens(connection, records, now)
                created = _bound(connection, audit_entries.c.created_at, now)
                expires = _bound(connection, audit_bodies.c.expires_at, now + self.body_retention)
                entry_rows: list[tuple[Any, ...]] = []
                node_rows: list[tuple[Any, ...]] = []
                body_rows: list[tuple[Any, ...]] = []
                index = head
                for record, refusal in zip(records, refusals, strict=True):
                    if refusal is not None:
                        outcomes.append(refusal)
                        continue
                    if record.entry is None:
                        outcomes.append(None)
                        continue
                    leaf = leaf_hash(record.entry)
                    for level, node_index, value in frontier.append(leaf):
                        node_rows.append((level, node_index, ((node_index + 1) << level) - 1, value))
                    entry_rows.append((index, record.exchange_id, record.kind[:64], record.entry, created))
                    if record.body is not None and record.exchange_id is not None:
                        nonce = self.entropy.token_bytes(12)
                        sealed = self.body_cipher.seal(record.exchange_id, record.body.part, record.body.content, nonce)
                        body_rows.append((record.exchange_id, record.body.part, nonce, sealed, created, expires))
                    outcomes.append(AuditReceipt(index, leaf))
                    index += 1
                if entry_rows:
                    # Plain rows straight to the driver: SQLAlchemy's per-row parameter processing
                    # was most of an append's cost. The times are bound once, as SQLAlchemy would.
                    _insert_many(connection, audit_entries, entry_rows)
                    _insert_many(connection, audit_nodes, node_rows)
                    if body_rows:
                        _insert_many(connection, audit_bodies, body_rows)
                    root = frontier.root()
                    connection.execute(
                        update(audit_head)
                        .where(audit_head.c.id == 1)
                        .values(size=frontier.size, root=root, updated_at=now)
                    )
                    # Checked against the database only once this process's last sight of a
                    # checkpoint is an interval old: most batches skip the query.
                    if self._checkpoint_seen_at is None or now - self._checkpoint_seen_at >= self.checkpoint_interval:
                        self._checkpoint_if_due(connection, frontier.size, root, now)
        except SQLAlchemyError as exc:
            self._frontier = None
            raise AuditUnavailable(internal=f"audit append failed: {exc}") from exc
        except BaseException:
            self._frontier = None
            raise
        self._frontier = frontier
        return outcomes

    # ---- checkpoints -------------------------------------------------------------------------

    def _latest_checkpoint_row(self, connection: Connection) -> Any:
        return connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)).first()

    def _checkpoint_if_due(
        self, connection: Connection, size: int, root: bytes, now: datetime, min_gap: timedelta | None = None
    ) -> bool:
        latest = self._latest_checkpoint_row(connection)
        gap = self.checkpoint_interval if min_gap is None else min_gap
        if latest is not None and (latest.size >= size or now - latest.created_at < gap):
            self._checkpoint_seen_at = latest.created_at
            return False
        note = self.signer.sign(size, root)
        connection.execute(insert(audit_checkpoints).values(size=size, root=root, note=note, created_at=now))
        self._checkpoint_seen_at = now
        return True

    def checkpoint_now(self, min_gap: timedelta | None = None) -> StoredCheckpoint:
        """A checkpoint of the whole tree as it is, made now unless one was made within `min_gap`
        (default: the checkpoint interval)."""
        now = self.clock.now()
        with self._write_lock, self.database.write() as connection:
            head = connection.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
            self._checkpoint_if_due(connection, head.size, bytes(head.root), now, min_gap)
            latest = self._latest_checkpoint_row(connection)
        if latest is None:  # an empty log that was checkpointed within the interval cannot happen
            raise AuditUnavailable(internal="no checkpoint could be made")
        return StoredCheckpoint(latest.size, bytes(latest.root), latest.note, latest.created_at)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.database.read() as connection:
            row = self._latest_checkpoint_row(connection)
        return None if row is None else StoredCheckpoint(row.size, bytes(row.root), row.note, row.created_at)

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        with self.database.read() as connection:
            row = connection.execute(select(audit_checkpoints).where(audit_checkpoints.c.size == size)).first()
        return None if row is None else StoredCheckpoint(row.size, bytes(row.root), row.note, row.created_at)

    def current_checkpoint(self) -> StoredCheckpoint:
        """The newest checkpoint, made fresh when the tree grew and the last one is older than the interval."""
        latest = self.latest_checkpoint()
        size = self.size()
        if latest is not None and (
            latest.size >= size or self.clock.now() - latest.created_at < self.checkpoint_interval
        ):
            return latest
        return self.checkpoint_now()

    def checkpoint_covering(self, size: int, *, timeout: float = 10.0) -> StoredCheckpoint:
        """The newest checkpoint covering the first `size` entries. One that is asked for is made
        on demand, but never within ON_DEMAND_GAP of the last: a caller waits at most that long."""
        gap = min(self.checkpoint_interval, ON_DEMAND_GAP)
        deadline = time.monotonic() + timeout
        while True:
            latest = self.latest_checkpoint()
            if latest is not None and latest.size >= size:
                return latest
            checkpoint = self.checkpoint_now(min_gap=gap)
            if checkpoint.size >= size:
                return checkpoint
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"no checkpoint covers {size} entries yet; try again", retry_after=1)
            time.sleep(min(0.05, gap.total_seconds()))

    def add_cosignature(self, size: int, cosigned_note: str, witnesses: Sequence[Verifier]) -> StoredCheckpoint:
        """Keep a witness's countersignature on one of our checkpoints (the note then carries both)."""
        stored = self.checkpoint_at(size)
        if stored is None:
            raise InvalidContent(f"there is no checkpoint of size {size}")
        try:
            text, signers = open_note(cosigned_note, [*self.signer.verifiers(), *witnesses])
        except (MalformedNote, UnverifiedNote) as exc:
            raise InvalidContent(f"the cosigned checkpoint does not verify: {exc}") from exc
        if text != open_note(stored.note, self.signer.verifiers())[0]:
            raise InvalidContent("the cosigned checkpoint is not the checkpoint stored for that size")
        if self.origin not in signers or not set(signers) - {self.origin}:
            raise InvalidContent("the note must carry this log's signature and a configured witness's")
        with self.database.write() as connection:
            # Re-read under the write lock: another witness may have cosigned meanwhile; keep both.
            current = connection.execute(
                select(audit_checkpoints.c.note).where(audit_checkpoints.c.size == size)
            ).scalar_one()
            merged = _merge_signatures(current, cosigned_note)
            open_note(merged, [*self.signer.verifiers(), *witnesses])  # every line still verifies
            connection.execute(update(audit_checkpoints).where(audit_checkpoints.c.size == size).values(note=merged))
        return StoredCheckpoint(stored.size, stored.root, merged, stored.created_at)

    # ---- reading -----------------------------------------------------------------------------

    def size(self) -> int:
        with self.database.read() as connection:
            return int(connection.execute(select(audit_head.c.size).where(audit_head.c.id == 1)).scalar_one())

    def entry(self, index: int) -> tuple[dict[str, Any], bytes] | None:
        with self.database.read() as connection:
            row = connection.execute(select(audit_entries.c.entry).where(audit_entries.c.idx == index)).first()
        if row is None:
            return None
        data = bytes(row.entry)
        return json.loads(data), leaf_hash(data)

    def entries_for(self, exchange_id: str) -> list[tuple[int, dict[str, Any]]]:
        with self.database.read() as connection:
            rows = connection.execute(
                select(audit_entries.c.idx, audit_entries.c.entry)
                .where(audit_entries.c.exchange_id == exchange_id)
                .order_by(audit_entries.c.idx)
            )
            return [(row.idx, json.loads(bytes(row.entry))) for row in rows]

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        with self.database.read() as connection:
            try:
                return inclusion_proof_from_nodes(self._node_reader(connection), index, tree_size)
            except InvalidRange as exc:
                raise InvalidContent(f"no inclusion proof for entry {index} in a tree of {tree_size}: {exc}") from exc

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self.database.read() as connection:
            try:
                return consistency_proof_from_nodes(self._node_reader(connection), first, second)
            except InvalidRange as exc:
                raise InvalidContent(f"no consistency proof from {first} to {second}: {exc}") from exc

    def body(self, exchange_id: str, part: str) -> bytes | None:
        """A kept message, decrypted; None once the retention period has removed it."""
        with self.database.read() as connection:
            row = connection.execute(
                select(audit_bodies.c.nonce, audit_bodies.c.ciphertext).where(
                    audit_bodies.c.exchange_id == exchange_id, audit_bodies.c.part == part
                )
            ).first()
        if row is None:
            return None
        return self.body_cipher.open(exchange_id, part, bytes(row.ciphertext), bytes(row.nonce))

    def purge_bodies(self) -> int:
        """Delete the bodies past their retention period; the tree is untouched and still verifies."""
        with self.database.write() as connection:
            result = connection.execute(delete(audit_bodies).where(audit_bodies.c.expires_at <= self.clock.now()))
        return int(result.rowcount or 0)

    # ---- verification ------------------------------------------------------------------------

    def _stream(self, query: Any, after: Callable[[Any], Any], batch: int = 5000) -> Iterator[Any]:
        """Rows of `query` page by page; `after(last row)` is the condition for the next page."""
        condition: Any = None
        while True:
            with self.database.read() as connection:
                statement = (query if condition is None else query.where(condition)).limit(batch)
                # Plain tuples from the driver: wrapping a million rows as Row objects took as long
                # as hashing them. Only integers are bound here, so they are written inline.
                sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
                cursor = connection.connection.cursor()
                try:
                    cursor.execute(sql)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
            if not rows:
                return
            yield from rows
            condition = after(rows[-1])

    @staticmethod
    def _after_entry(row: Any) -> Any:
        return audit_entries.c.idx > row[0]  # (idx, entry)

    @staticmethod
    def _after_node(row: Any) -> Any:
        # (level, idx, hash, leaf_end). The leading `leaf_end >=` lets both databases seek in the
        # (leaf_end, level) index; the OR alone made every page re-read all earlier nodes
        # (quadratic verification).
        level, leaf_end = row[0], row[3]
        return (audit_nodes.c.leaf_end >= leaf_end) & (
            (audit_nodes.c.leaf_end > leaf_end) | (audit_nodes.c.level > level)
        )

    def verify(self, progress: Callable[[int], None] | None = None) -> int:
        """Recompute the whole tree from the stored entries; check every stored node, the head and
        every checkpoint (signature and root). Return the number of entries, or raise LogBroken."""
        verifiers = self.signer.verifiers()
        with self.database.read() as connection:
            # One snapshot of the head bounds the check: appends that land meanwhile are not judged.
            head = connection.execute(select(audit_head).where(audit_head.c.id == 1)).one()
            checkpoints = connection.execute(
                select(audit_checkpoints)
                .where(audit_checkpoints.c.size <= head.size)
                .order_by(audit_checkpoints.c.size)
            ).all()
            beyond = connection.execute(
                select(audit_checkpoints.c.size).where(audit_checkpoints.c.size > head.size).limit(1)
            ).scalar_one_or_none()
        if beyond is not None:
            raise LogBroken(head.size, f"the log head says {head.size} entries but checkpoint {beyond} covers more")
        pending_checkpoints = list(checkpoints)
        nodes = self._stream(
            select(audit_nodes.c.level, audit_nodes.c.idx, audit_nodes.c.hash, audit_nodes.c.leaf_end)
            .where(audit_nodes.c.leaf_end < head.size)
            .order_by(audit_nodes.c.leaf_end, audit_nodes.c.level),
            self._after_node,
        )
        entries = self._stream(
            select(audit_entries.c.idx, audit_entries.c.entry)
            .where(audit_entries.c.idx < head.size)
            .order_by(audit_entries.c.idx),
            self._after_entry,
        )
        # The RFC 9162 hashing of _merkle.CompactRange, written out in this one loop: it runs once
        # per entry over the whole log, and the general code's checks and lists doubled its time.
        sha256 = hashlib.sha256
        stack: list[bytes] = []
        size = 0
        while pending_checkpoints and pending_checkpoints[0].size == 0:
            self._check_checkpoint(pending_checkpoints.pop(0), CompactRange(), verifiers)
        next_checkpoint = pending_checkpoints[0].size if pending_checkpoints else -1
        unreported = 0
        for entry_index, entry in entries:
            if entry_index != size:
                raise LogBroken(size, f"missing: the next stored entry is {entry_index}")
            value = sha256(b"\x00" + bytes(entry)).digest()
            level, node_index = 0, size
            while True:
                stored = next(nodes, None)
                if stored is None or stored[0] != level or stored[1] != node_index:
                    first_leaf = node_index << level
                    raise LogBroken(first_leaf, f"tree node ({level}, {node_index}) is missing or out of place")
                if bytes(stored[2]) != value:
                    if level == 0:
                        raise LogBroken(size, "its content does not match its recorded leaf hash")
                    first_leaf, last_leaf = node_index << level, ((node_index + 1) << level) - 1
                    raise LogBroken(first_leaf, f"the subtree over entries {first_leaf}..{last_leaf} does not match")
                if not node_index & 1:
                    break
                value = sha256(b"\x01" + stack.pop() + value).digest()
                node_index >>= 1
                level += 1
            stack.append(value)
            size += 1
            if size == next_checkpoint:
                while pending_checkpoints and pending_checkpoints[0].size == size:
                    self._check_checkpoint(pending_checkpoints.pop(0), CompactRange(size, stack), verifiers)
                next_checkpoint = pending_checkpoints[0].size if pending_checkpoints else -1
            unreported += 1
            if progress is not None and unreported == 1000:
                progress(unreported)
                unreported = 0
        if progress is not None and unreported:
            progress(unreported)
        frontier = CompactRange(size, stack)
        size = frontier.size
        if pending_checkpoints:
            raise LogBroken(
                size,
                f"entries from {size} on are missing: checkpoint {pending_checkpoints[0].size} covers them",
            )
        if next(nodes, None) is not None:
            raise LogBroken(size, "tree nodes beyond the last entry: entries were removed")
        if head.size != size or bytes(head.root) != frontier.root():
            raise LogBroken(min(size, head.size), f"the log head says {head.size} entries, storage holds {size}")
        return size

    def _check_checkpoint(self, row: Any, frontier: CompactRange, verifiers: list[Verifier]) -> None:
        size = frontier.size
        try:
            text, _signers = open_note(row.note, verifiers)
            checkpoint = parse_checkpoint(text)
        except (MalformedNote, UnverifiedNote, MalformedCheckpoint) as exc:
            raise LogBroken(max(size - 1, 0), f"checkpoint {row.size} does not verify: {exc}") from exc
        root = frontier.root() if size else EMPTY_ROOT
        if checkpoint.size != row.size or checkpoint.root_hash != root or bytes(row.root) != root:
            raise LogBroken(max(size - 1, 0), f"the entries do not hash to signed checkpoint {row.size}")
        if checkpoint.origin != self.origin:
            raise LogBroken(max(size - 1, 0), f"checkpoint {row.size} is of another log ({checkpoint.origin})")
