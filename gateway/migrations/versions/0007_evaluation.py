"""Remote cross-region bid evaluation (远程异地评标): sessions, their event logs, experts' sittings.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evaluation_sessions",
        sa.Column("id", sa.String(40)),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("paused_from", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("organiser", sa.String(200), nullable=False),
        sa.Column("seed_hex", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_sessions"),
    )
    op.create_table(
        "evaluation_events",
        sa.Column("session_id", sa.String(40)),
        sa.Column("event_id", sa.BigInteger, autoincrement=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "event_id", name="pk_evaluation_events"),
    )
    op.create_table(
        "evaluation_sittings",
        sa.Column("session_id", sa.String(40)),
        sa.Column("expert_city", sa.String(6)),
        sa.Column("expert_id", sa.String(32)),
        sa.Column("tenderer", sa.String(18), nullable=False),
        sa.Column("sat_on", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "expert_city", "expert_id", name="pk_evaluation_sittings"),
    )
    op.create_index("ix_evaluation_sittings_tenderer", "evaluation_sittings", ["tenderer", "sat_on"])


def downgrade() -> None:
    op.drop_index("ix_evaluation_sittings_tenderer", "evaluation_sittings")
    op.drop_table("evaluation_sittings")
    op.drop_table("evaluation_events")
    op.drop_table("evaluation_sessions")
