"""The last good trust list of each city, so a restart keeps working on it (and never goes back).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_lists",
        sa.Column("city", sa.String(6)),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("city", name="pk_trust_lists"),
    )


def downgrade() -> None:
    op.drop_table("trust_lists")
