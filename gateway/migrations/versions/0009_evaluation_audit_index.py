"""Each evaluation event keeps the index of its audit entry, so the session's record proves it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: events written before this revision have no index kept (their entries are in the
    # log all the same, found by session and event id).
    op.add_column("evaluation_events", sa.Column("audit_index", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluation_events") as batch:
        batch.drop_column("audit_index")
