"""The spine: members, services, access rights, seen tokens, idempotency, circuits, interim audit chain.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("city", sa.String(6), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("certificate_pem", sa.Text, nullable=False),
        sa.Column("key_algorithm", sa.String(16), nullable=False),
        sa.Column("key_thumbprint", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.String(300)),
        sa.Column("provider_id", sa.String(200), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("purpose_required", sa.Boolean, nullable=False),
        sa.Column("max_body_bytes", sa.BigInteger, nullable=True),
        sa.Column("timeout_seconds", sa.Float, nullable=True),
        sa.Column("response_signature", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["members.id"], ondelete="CASCADE", name="fk_services_provider_id_members"
        ),
    )
    op.create_table(
        "access_rights",
        sa.Column("client_id", sa.String(200)),
        sa.Column("service_id", sa.String(300)),
        sa.Column("granted_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "service_id", name="pk_access_rights"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["members.id"], ondelete="CASCADE", name="fk_access_rights_client_id_members"
        ),
    )
    op.create_table(
        "seen_tokens",
        sa.Column("issuer", sa.String(200)),
        sa.Column("jti", sa.String(200)),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_seen_tokens"),
    )
    op.create_index("ix_seen_tokens_expires_at", "seen_tokens", ["expires_at"])
    op.create_table(
        "idempotency_records",
        sa.Column("client_id", sa.String(200)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("headers_json", sa.Text, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "idempotency_key", name="pk_idempotency_records"),
    )
    op.create_index("ix_idempotency_records_expires_at", "idempotency_records", ["expires_at"])
    op.create_table(
        "circuit_states",
        sa.Column("provider_id", sa.String(200)),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("opened_at", _TS, nullable=True),
        sa.Column("trial_started_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("provider_id", name="pk_circuit_states"),
    )
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


def downgrade() -> None:
    op.drop_table("audit_chain")
    op.drop_table("circuit_states")
    op.drop_table("idempotency_records")
    op.drop_table("seen_tokens")
    op.drop_table("access_rights")
    op.drop_table("services")
    op.drop_table("members")
