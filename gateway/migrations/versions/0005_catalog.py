"""The service-item catalogue: items, their departments per city, the loaded version, and a search
index on item names (SQLite FTS5 trigram table; PostgreSQL pg_trgm GIN index).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# FTS5's trigram tokenizer arrived in SQLite 3.34; without it names are searched with LIKE.
_SQLITE_TRIGRAM = sqlite3.sqlite_version_info >= (3, 34, 0)


def upgrade() -> None:
    op.create_table(
        "catalog_items",
        sa.Column("code", sa.String(40)),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("item_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_catalog_items"),
    )
    op.create_index("ix_catalog_items_position", "catalog_items", ["position"])
    op.create_index("ix_catalog_items_sector", "catalog_items", ["sector"])
    op.create_table(
        "catalog_departments",
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("city", sa.String(6), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("item_code", "city", name="pk_catalog_departments"),
        sa.ForeignKeyConstraint(
            ["item_code"],
            ["catalog_items.code"],
            name="fk_catalog_departments_item_code_catalog_items",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_catalog_departments_city", "catalog_departments", ["city"])
    version = op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": None, "item_count": 0}])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite" and _SQLITE_TRIGRAM:
        op.execute("CREATE VIRTUAL TABLE catalog_items_fts USING fts5(code UNINDEXED, name, tokenize='trigram')")
    elif dialect == "postgresql":
        # In public, whatever the search_path: the extension is one per database. If it is already
        # installed elsewhere, the index names the operator class in that schema.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        schema = (
            op.get_bind()
            .execute(
                sa.text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'"
                )
            )
            .scalar_one()
        )
        op.execute(f'CREATE INDEX ix_catalog_items_name_trgm ON catalog_items USING gin (name "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS catalog_items_fts")
    op.drop_table("catalog_version")
    op.drop_table("catalog_departments")
    op.drop_table("catalog_items")
