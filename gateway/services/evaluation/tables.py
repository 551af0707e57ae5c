"""The evaluation service's tables, on the gateway's shared metadata (migrations 0007, 0009)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text

from gateway.storage import UTCDateTime, metadata

__all__ = ["evaluation_events", "evaluation_sessions", "evaluation_sittings"]

# One row per session: where it stands, and its document (parameters, seats, draw record) as JSON.
# `version` grows with every change, and each change is written only if the version is unchanged.
evaluation_sessions = Table(
    "evaluation_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("paused_from", String(32), nullable=True),
    Column("version", Integer, nullable=False),
    Column("organiser", String(200), nullable=False),
    Column("seed_hex", String(64), nullable=False),  # secret until the draw reveals it
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Each session's event log: ids 1, 2, 3... per session, written with the change they report, so a
# venue that reconnects with Last-Event-ID gets exactly what it has not seen, from any process.
evaluation_events = Table(
    "evaluation_events",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("audit_index", BigInteger, nullable=True),  # the event's entry in the audit log (0009)
)

# Who sat on which tenderer's committee, when: the "evaluated for the same tenderer lately" rule.
evaluation_sittings = Table(
    "evaluation_sittings",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("expert_city", String(6), primary_key=True),
    Column("expert_id", String(32), primary_key=True),
    Column("tenderer", String(18), nullable=False),
    Column("sat_on", Date, nullable=False),
)
Index("ix_evaluation_sittings_tenderer", evaluation_sittings.c.tenderer, evaluation_sittings.c.sat_on)
