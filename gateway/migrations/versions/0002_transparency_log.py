"""The audit transparency log: entries, Merkle nodes, head, signed checkpoints, encrypted bodies.

Replaces the interim hash chain (no deployment has kept one).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_index("ix_audit_chain_exchange_id", "audit_chain")
    op.drop_table("audit_chain")
    op.create_table(
        "audit_entries",
        sa.Column("idx", sa.BigInteger, autoincrement=False),
        sa.Column("exchange_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_exchange_id", "audit_entries", ["exchange_id"])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer, autoincrement=False),
        sa.Column("idx", sa.BigInteger, autoincrement=False),
        sa.Column("leaf_end", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_audit_nodes"),
    )
    op.create_index("ix_audit_nodes_leaf_end", "audit_nodes", ["leaf_end", "level"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("size", sa.BigInteger),
        sa.column("root", sa.LargeBinary),
        sa.column("updated_at", _TS),
    )
    # The one head row, made here so that concurrent first appends never race to create it.
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "size": 0,
                "root": hashlib.sha256(b"").digest(),
                "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
        ],
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_created_at", "audit_checkpoints", ["created_at"])
    op.create_table(
        "audit_bodies",
        sa.Column("exchange_id", sa.String(36)),
        sa.Column("part", sa.String(16)),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("exchange_id", "part", name="pk_audit_bodies"),
    )
    op.create_index("ix_audit_bodies_expires_at", "audit_bodies", ["expires_at"])
    op.create_table(
        "audit_witnessed",
        sa.Column("origin", sa.String(300)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("witnessed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("origin", name="pk_audit_witnessed"),
    )


def downgrade() -> None:
    for table in (
        "audit_witnessed",
        "audit_bodies",
        "audit_checkpoints",
        "audit_head",
        "audit_nodes",
        "audit_entries",
    ):
        op.drop_table(table)
    op.create_table(
        "audit_chain",
        sa.Column("idx", sa.BigInteger, autoincrement=False),
        sa.Column("exchange_id", sa.String(36), nullable=True),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_audit_chain"),
    )
    op.create_index("ix_audit_chain_exchange_id", "audit_chain", ["exchange_id"])
