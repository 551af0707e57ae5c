"""The public-credit report exchange: issued reports, the query trail, quota windows.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_TS = sa.DateTime(timezone=True)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_reports",
        sa.Column("report_id", sa.String(64), nullable=False),
        sa.Column("subject_code", sa.String(18), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("sections", sa.Text, nullable=False),
        sa.Column("signed_report", sa.Text, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("report_id", name="pk_credit_reports"),
    )
    op.create_table(
        "credit_queries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("subject_code", sa.String(18), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("sections", sa.Text, nullable=False),
        sa.Column("report_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("exchange_id", sa.String(64), nullable=False),
        sa.Column("queried_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_queries"),
    )
    op.create_index("ix_credit_queries_subject_code", "credit_queries", ["subject_code", "queried_at"])
    op.create_table(
        "credit_quota_windows",
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("member_id", "purpose", "window_start", name="pk_credit_quota_windows"),
    )


def downgrade() -> None:
    op.drop_table("credit_quota_windows")
    op.drop_index("ix_credit_queries_subject_code", table_name="credit_queries")
    op.drop_table("credit_queries")
    op.drop_table("credit_reports")
