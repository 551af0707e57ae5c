"""The credit service's durable state: quota windows counted in the database (exact across worker
processes), issued reports, and the query trail supervisors read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway import errors
from gateway.services.credit.tables import credit_queries, credit_quota_windows, credit_reports
from gateway.storage import Database

__all__ = [
    "QuotaState",
    "StoredReport",
    "charge_quota",
    "find_report",
    "record_query",
    "revoke_report",
    "store_report",
    "subject_queries",
]


@dataclass(frozen=True)
class QuotaState:
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends

    def headers(self) -> dict[str, str]:
        """The RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, as widely deployed)."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def _window(now: datetime, window_seconds: int) -> tuple[datetime, int]:
    epoch_seconds = int(now.timestamp())
    start = epoch_seconds - epoch_seconds % window_seconds
    return datetime.fromtimestamp(start, UTC), max(1, start + window_seconds - epoch_seconds)


def charge_quota(
    database: Database, member_id: str, purpose: str, units: int, *, limit: int, window_seconds: int, now: datetime
) -> QuotaState:
    """Count `units` queries against the member's fixed window for the purpose, or raise
    QuotaExceeded (429, Retry-After: the rest of the window) and count nothing.

    One row per (member, purpose, window); the increment is a single conditional UPDATE, so two
    processes can never both take the last unit. The first query of a window inserts the row; an
    insert that loses the race to another process's insert falls back to the UPDATE."""
    start, reset = _window(now, window_seconds)
    key = (
        (credit_quota_windows.c.member_id == member_id)
        & (credit_quota_windows.c.purpose == purpose)
        & (credit_quota_windows.c.window_start == start)
    )
    exceeded = errors.QuotaExceeded(
        f"the quota of {limit} credit queries per {window_seconds} s for purpose {purpose} is used up "
        f"(this request needs {units}); the window resets in {reset} s",
        retry_after=reset,
    )
    for _attempt in range(3):
        with database.write() as connection:
            changed = connection.execute(
                update(credit_quota_windows)
                .where(key, credit_quota_windows.c.used + units <= limit)
                .values(used=credit_quota_windows.c.used + units)
            ).rowcount
            if changed:
                used = connection.execute(select(credit_quota_windows.c.used).where(key)).scalar_one()
                return QuotaState(limit, limit - used, reset)
            if connection.execute(select(credit_quota_windows.c.used).where(key)).first() is not None:
                raise exceeded
            if units > limit:
                raise exceeded
            try:
                with connection.begin_nested():
                    connection.execute(
                        insert(credit_quota_windows).values(
                            member_id=member_id, purpose=purpose, window_start=start, used=units
                        )
                    )
            except IntegrityError:
                continue  # another process opened the window first: count on its row
            return QuotaState(limit, limit - units, reset)
    raise errors.ServiceUnavailable("the quota window could not be updated; try again")


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    subject_code: str
    purpose: str
    requester: str
    issued_at: datetime
    sections: list[str]
    signed_report: str
    revoked_at: datetime | None
    revoked_reason: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "subject_code": self.subject_code,
            "purpose": self.purpose,
            "requester": self.requester,
            "issued_at": self.issued_at.isoformat(),
            "sections_released": self.sections,
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "revoked_reason": self.revoked_reason,
        }


def store_report(connection: Connection, report: dict[str, Any], signed: str, issued_at: datetime) -> None:
    connection.execute(
        insert(credit_reports).values(
            report_id=report["report_id"],
            subject_code=report["subject"]["code"],
            purpose=report["purpose"]["code"],
            requester=report["requester"],
            issued_at=issued_at,
            sections=json.dumps(report["sections_released"]),
            signed_report=signed,
        )
    )


def record_query(
    connection: Connection,
    *,
    subject_code: str,
    requester: str,
    purpose: str,
    sections: list[str],
    report_id: str | None,
    outcome: str,
    exchange_id: str,
    at: datetime,
) -> None:
    connection.execute(
        insert(credit_queries).values(
            subject_code=subject_code,
            requester=requester,
            purpose=purpose,
            sections=json.dumps(sections),
            report_id=report_id,
            outcome=outcome,
            exchange_id=exchange_id,
            queried_at=at,
        )
    )


def find_report(connection: Connection, report_id: str) -> StoredReport | None:
    row = connection.execute(select(credit_reports).where(credit_reports.c.report_id == report_id)).first()
    if row is None:
        return None
    return StoredReport(
        report_id=row.report_id,
        subject_code=row.subject_code,
        purpose=row.purpose,
        requester=row.requester,
        issued_at=row.issued_at,
        sections=json.loads(row.sections),
        signed_report=row.signed_report,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def revoke_report(connection: Connection, report_id: str, reason: str, now: datetime) -> StoredReport:
    found = find_report(connection, report_id)
    if found is None:
        raise errors.NotFound(f"no credit report {report_id}")
    changed = connection.execute(
        update(credit_reports)
        .where(credit_reports.c.report_id == report_id, credit_reports.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    ).rowcount
    if not changed:
        raise errors.Conflict(f"credit report {report_id} was revoked already")
    revoked = find_report(connection, report_id)
    assert revoked is not None
    return revoked


def subject_queries(connection: Connection, subject_code: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(credit_queries)
        .where(credit_queries.c.subject_code == subject_code)
        .order_by(credit_queries.c.queried_at.desc(), credit_queries.c.id.desc())
    ).all()
    return [
        {
            "requester": row.requester,
            "purpose": row.purpose,
            "queried_at": row.queried_at.isoformat(),
            "sections_released": json.loads(row.sections),
            "report_id": row.report_id,
            "outcome": row.outcome,
            "exchange_id": row.exchange_id,
        }
        for row in rows
    ]
