"""The tables, as SQLAlchemy Core; the Alembic migrations create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "access_rights",
    "audit_bodies",
    "audit_checkpoints",
    "audit_entries",
    "audit_head",
    "audit_nodes",
    "audit_witnessed",
    "circuit_states",
    "idempotency_records",
    "members",
    "metadata",
    "registry_version",
    "seen_tokens",
    "services",
    "trust_lists",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which keeps naive values) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass timezone-aware UTC")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


members = Table(
    "members",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("city", String(6), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("certificate_pem", Text, nullable=False),
    Column("key_algorithm", String(16), nullable=False),
    Column("key_thumbprint", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("id", String(300), primary_key=True),  # <provider member id>/<service code>
    Column("provider_id", String(200), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(100), nullable=False),
    Column("url", Text, nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("purpose_required", Boolean, nullable=False, default=False),
    Column("max_body_bytes", BigInteger, nullable=True),
    Column("timeout_seconds", Float, nullable=True),
    Column("response_signature", String(16), nullable=False, default="optional"),
    Column("created_at", UTCDateTime, nullable=False),
)

access_rights = Table(
    "access_rights",
    metadata,
    Column("client_id", String(200), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", String(300), primary_key=True),  # a relay service id or a gateway operation
    Column("granted_at", UTCDateTime, nullable=False),
)

# One row: a counter every change to members, services or access rights increments in the same
# transaction, so that each gateway process notices a change with one small read and reloads its
# in-memory copy of the registry (gateway/registry_cache.py).
registry_version = Table(
    "registry_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

# Client assertion ids seen while they were valid: replay protection that survives restarts
# and is shared by every gateway process through the primary key.
seen_tokens = Table(
    "seen_tokens",
    metadata,
    Column("issuer", String(200), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("exchange_id", String(36), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("headers_json", Text, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Circuit breakers, shared by every gateway process.
circuit_states = Table(
    "circuit_states",
    metadata,
    Column("provider_id", String(200), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("trial_started_at", UTCDateTime, nullable=True),
)

# The audit transparency log (RFC 9162). Entry bytes are RFC 8785 canonical JSON.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("exchange_id", String(36), nullable=True),
    Column("kind", String(64), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_audit_entries_exchange_id", audit_entries.c.exchange_id)

# Every perfect subtree hash, leaves (level 0) included, so that a proof is O(log n) reads.
# leaf_end (the last leaf it covers) orders them as they complete, for streaming verification.
audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_end", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)
Index("ix_audit_nodes_leaf_end", audit_nodes.c.leaf_end, audit_nodes.c.level)

# One row: the tree size, and the row writers lock to take turns (one sequencer at a time).
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),  # the C2SP signed note, with any witness cosignatures
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

# Message bodies, apart from the tree and encrypted (AES-GCM); deleted after the retention period.
audit_bodies = Table(
    "audit_bodies",
    metadata,
    Column("exchange_id", String(36), primary_key=True),
    Column("part", String(16), primary_key=True),  # request | response
    Column("nonce", LargeBinary(12), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# What this gateway, as a witness, last countersigned of another gateway's log.
audit_witnessed = Table(
    "audit_witnessed",
    metadata,
    Column("origin", String(300), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("witnessed_at", UTCDateTime, nullable=False),
)

# Each city's last accepted trust list, as signed: reloaded (and re-verified) at start-up.
trust_lists = Table(
    "trust_lists",
    metadata,
    Column("city", String(6), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=False),
)
