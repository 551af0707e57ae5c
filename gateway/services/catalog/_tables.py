"""The catalogue's tables: one row per item (its JSON and the columns searches filter on), the
departments per city, and the version of the catalogue loaded.

Search indexes live outside the SQLAlchemy metadata, made by migration 0005 per dialect: on SQLite
an FTS5 table with the trigram tokenizer (`catalog_items_fts`, kept in step by the store), on
PostgreSQL a pg_trgm GIN index on the name.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from gateway.storage import UTCDateTime, metadata

__all__ = ["FTS_TABLE", "catalog_departments", "catalog_items", "catalog_version"]

FTS_TABLE = "catalog_items_fts"

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("position", Integer, nullable=False),  # the order of the catalogue as loaded
    Column("name", String(200), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("subject", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("item_json", Text, nullable=False),  # the ServiceItem, as JSON
)
Index("ix_catalog_items_position", catalog_items.c.position)
Index("ix_catalog_items_sector", catalog_items.c.sector)

catalog_departments = Table(
    "catalog_departments",
    metadata,
    Column("item_code", String(40), ForeignKey("catalog_items.code", ondelete="CASCADE"), primary_key=True),
    Column("city", String(6), primary_key=True),  # GB/T 2260
    Column("department", String(200), nullable=False),
)
Index("ix_catalog_departments_city", catalog_departments.c.city)

# One row (id 1): which catalogue is loaded. version NULL: none yet, the shipped one is loaded on
# first start (see _store.ensure_catalogue).
catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", String(64), nullable=True),
    Column("source", String(300), nullable=True),
    Column("digest", String(64), nullable=True),  # SHA-256 of the items' canonical JSON
    Column("item_count", Integer, nullable=False, default=0),
    Column("loaded_at", UTCDateTime, nullable=True),
)
