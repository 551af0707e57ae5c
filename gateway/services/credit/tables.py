"""The credit service's tables (on the shared metadata; migration 0007 creates them).

credit_reports         every report issued: who asked, why, what was released, the signed report
credit_queries         one row per subject asked about: the accountability trail supervisors read
credit_quota_windows   one row per (member, purpose, fixed window): the count, updated atomically
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from gateway.storage import UTCDateTime, metadata

__all__ = ["credit_queries", "credit_quota_windows", "credit_reports"]

credit_reports = Table(
    "credit_reports",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("subject_code", String(18), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("sections", Text, nullable=False),  # JSON list of the sections released
    Column("signed_report", Text, nullable=False),  # the compact JWS as issued
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_reason", Text, nullable=True),
)

credit_queries = Table(
    "credit_queries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_code", String(18), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("sections", Text, nullable=False),  # JSON list of the sections released
    Column("report_id", String(64), nullable=True),  # None when the query was refused or found nothing
    Column("outcome", String(32), nullable=False),  # issued, not_found, refused
    Column("exchange_id", String(64), nullable=False),
    Column("queried_at", UTCDateTime, nullable=False),
    Index("ix_credit_queries_subject_code", "subject_code", "queried_at"),
)

credit_quota_windows = Table(
    "credit_quota_windows",
    metadata,
    Column("member_id", String(200), primary_key=True),
    Column("purpose", String(64), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("used", Integer, nullable=False),
)
