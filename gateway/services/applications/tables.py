"""The applications service's tables (migration 0006): applications, their timeline and their ratings."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from gateway.storage import UTCDateTime, metadata

__all__ = ["application_events", "application_ratings", "applications"]

applications = Table(
    "applications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("item_code", String(40), nullable=False),
    Column("receiving_city", String(6), nullable=False),
    Column("handling_city", String(6), nullable=False),
    Column("handling_department", String(200), nullable=False),
    Column("submitted_by", String(200), nullable=False),  # the receiving window's member id
    Column("applicant_id", String(18), nullable=False),
    Column("document", Text, nullable=False),  # JSON: applicant, agent, materials as recorded
    Column("state", String(20), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_on", String(10), nullable=False),  # the local (UTC+8) day the limit counts from
    Column("promised_days", Integer, nullable=False),
    Column("finished_on", String(10)),  # local day of 办结 (or of a final state before it)
    Column("forwarded_at", UTCDateTime),  # None: still in the outbox, to be sent to the handling city
    Column("forward_error", Text),
    Column("forward_attempts", Integer, nullable=False, default=0),
    Column("result", Text),  # JSON: what the handling city issued at 办结
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_applications_state", "state"),
    Index("ix_applications_cities", "receiving_city", "handling_city"),
)

application_events = Table(
    "application_events",
    metadata,
    Column("application_id", String(40), ForeignKey("applications.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("state", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by_member", String(200), nullable=False),
    Column("note", Text),
    Column("exchange_id", String(40), nullable=False),
    Column("audit_index", Integer),
)

application_ratings = Table(
    "application_ratings",
    metadata,
    Column("application_id", String(40), ForeignKey("applications.id"), primary_key=True),
    Column("level", String(20), nullable=False),
    Column("reason", Text),
    Column("at", UTCDateTime, nullable=False),
    Column("by_member", String(200), nullable=False),
    Column("exchange_id", String(40), nullable=False),
    Column("audit_index", Integer),
)
