"""Cross-city applications (办件): applications, their timeline of state changes, and ratings (好差评).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.storage import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(40)),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("receiving_city", sa.String(6), nullable=False),
        sa.Column("handling_city", sa.String(6), nullable=False),
        sa.Column("handling_department", sa.String(200), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("applicant_id", sa.String(18), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("received_on", sa.String(10), nullable=False),
        sa.Column("promised_days", sa.Integer, nullable=False),
        sa.Column("finished_on", sa.String(10)),
        sa.Column("forwarded_at", UTCDateTime),
        sa.Column("forward_error", sa.Text),
        sa.Column("forward_attempts", sa.Integer, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
    )
    op.create_index("ix_applications_state", "applications", ["state"])
    op.create_index("ix_applications_cities", "applications", ["receiving_city", "handling_city"])
    op.create_table(
        "application_events",
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("by_member", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("exchange_id", sa.String(40), nullable=False),
        sa.Column("audit_index", sa.Integer),
        sa.PrimaryKeyConstraint("application_id", "seq", name="pk_application_events"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_application_events_application_id_applications"
        ),
    )
    op.create_table(
        "application_ratings",
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("by_member", sa.String(200), nullable=False),
        sa.Column("exchange_id", sa.String(40), nullable=False),
        sa.Column("audit_index", sa.Integer),
        sa.PrimaryKeyConstraint("application_id", name="pk_application_ratings"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_application_ratings_application_id_applications"
        ),
    )


def downgrade() -> None:
    op.drop_table("application_ratings")
    op.drop_table("application_events")
    op.drop_index("ix_applications_cities", "applications")
    op.drop_index("ix_applications_state", "applications")
    op.drop_table("applications")
