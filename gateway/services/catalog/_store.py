"""The catalogue in the database: load (all or nothing), look up, search.

Searching names uses an index, not a scan: SQLite's FTS5 trigram table or PostgreSQL's pg_trgm GIN
index, both made by migration 0005. A trigram index cannot answer fewer than three characters
(q=社保, q=食); those queries compare the name with LIKE over the item table, a scan of at most a
few thousand short rows, and give the same answer an index would.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)

from catalogs.service_items import ServiceItem, load_service_items, shipped_catalogue_version
from gateway.services.catalog._tables import FTS_TABLE, catalog_departments, catalog_items, catalog_version

__all__ = [
    "CatalogueQuery",
    "CatalogueVersion",
    "ABBREVIATIONS",
    "SHIPPED_SOURCE",
    "catalogue_digest",
    "catalogue_version",
    "ensure_catalogue",
    "item_by_code",
    "replace_catalogue",
    "search_condition",
    "search_items",
    "sector_counts",
    "stored_items",
]

SHIPPED_SOURCE = "shipped: catalogs/data/service_items.json"
TRIGRAM = 3  # the shortest query a trigram index can answer
# Everyday short forms people type for words official item names spell out: q=社保 also finds
# 社会保险 and 社会保障 items. Each expansion is searched like q itself (an index where it can).
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "社保": ("社会保险", "社会保障"),
    "医保": ("医疗保险", "医疗保障"),
    "驾照": ("驾驶证",),
    "护照": ("普通护照",),
    "港澳通行证": ("往来港澳通行证",),
    "低保": ("最低生活保障",),
    "个税": ("个人所得税",),
    "环评": ("环境影响",),
    "网约车": ("网络预约出租汽车",),
    "房产证": ("不动产权证书",),
    "残疾证": ("残疾人证",),
}
_CODE_QUERY = re.compile(r"^[A-Za-z]{2,6}(-[0-9]{0,4}(-[0-9]{0,2})?)?$")


@dataclass(frozen=True)
class CatalogueVersion:
    version: str | None  # None: nothing loaded yet
    source: str | None
    digest: str | None
    item_count: int
    loaded_at: datetime | None


@dataclass(frozen=True)
class CatalogueQuery:
    """A search: every field narrows it; None leaves it open."""

    q: str | None = None
    city: str | None = None
    mode: str | None = None
    subject: str | None = None
    sector: str | None = None
    department: str | None = None
    page: int = 1
    page_size: int = 50


def _item_json(item: ServiceItem) -> str:
    return json.dumps(item.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def catalogue_digest(items: Sequence[ServiceItem]) -> str:
    """SHA-256 over the items in order, so that the same catalogue has the same digest wherever loaded."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(_item_json(item).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _has_fts(connection: Connection) -> bool:
    if connection.dialect.name != "sqlite":
        return False
    found = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": FTS_TABLE}
    ).first()
    return found is not None


def catalogue_version(connection: Connection) -> CatalogueVersion:
    row = connection.execute(select(catalog_version).where(catalog_version.c.id == 1)).one()
    return CatalogueVersion(row.version, row.source, row.digest, row.item_count, row.loaded_at)


def replace_catalogue(
    connection: Connection, items: Sequence[ServiceItem], *, version: str, source: str, now: datetime
) -> CatalogueVersion:
    """Replace the whole catalogue inside the caller's transaction: all of it lands, or none."""
    codes = [item.code for item in items]
    if len(set(codes)) != len(codes):
        raise ValueError("the catalogue repeats an item code")
    connection.execute(delete(catalog_departments))
    connection.execute(delete(catalog_items))
    fts = _has_fts(connection)
    if fts:
        connection.execute(text(f"DELETE FROM {FTS_TABLE}"))
    if items:
        connection.execute(
            insert(catalog_items),
            [
                {
                    "code": item.code,
                    "position": position,
                    "name": item.name,
                    "sector": item.sector,
                    "subject": item.subject,
                    "mode": item.mode,
                    "item_json": _item_json(item),
                }
                for position, item in enumerate(items)
            ],
        )
        connection.execute(
            insert(catalog_departments),
            [
                {"item_code": item.code, "city": city, "department": department}
                for item in items
                for city, department in item.departments.items()
            ],
        )
        if fts:
            connection.execute(
                text(f"INSERT INTO {FTS_TABLE} (code, name) VALUES (:code, :name)"),
                [{"code": item.code, "name": item.name} for item in items],
            )
    digest = catalogue_digest(items)
    connection.execute(
        update(catalog_version)
        .where(catalog_version.c.id == 1)
        .values(version=version, source=source[:300], digest=digest, item_count=len(items), loaded_at=now)
    )
    return CatalogueVersion(version, source[:300], digest, len(items), now)


def ensure_catalogue(connection: Connection, now: datetime) -> CatalogueVersion:
    """Load the shipped catalogue if none is loaded yet. Race-safe across processes: the version row
    is locked first (FOR UPDATE on PostgreSQL; SQLite's writers already take turns), so one loads and
    the others find it loaded."""
    row = connection.execute(select(catalog_version.c.version).where(catalog_version.c.id == 1).with_for_update()).one()
    if row.version is not None:
        return catalogue_version(connection)
    shipped = list(load_service_items().values())
    return replace_catalogue(connection, shipped, version=shipped_catalogue_version(), source=SHIPPED_SOURCE, now=now)


def item_by_code(connection: Connection, code: str) -> ServiceItem | None:
    """The item with this code in the loaded catalogue; before any catalogue is loaded, the shipped one's."""
    row = connection.execute(select(catalog_items.c.item_json).where(catalog_items.c.code == code)).first()
    if row is not None:
        return ServiceItem.model_validate_json(row.item_json)
    if catalogue_version(connection).version is None:
        return load_service_items().get(code)
    return None


def stored_items(connection: Connection) -> list[ServiceItem]:
    rows = connection.execute(select(catalog_items.c.item_json).order_by(catalog_items.c.position))
    return [ServiceItem.model_validate_json(row.item_json) for row in rows]


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(connection: Connection, q: str) -> ColumnElement[bool]:
    """Items whose name contains q (or a spelled-out form of it), or whose code starts with q."""
    conditions = [name_condition(connection, spelling) for spelling in spellings(q)]
    if _CODE_QUERY.match(q):
        conditions.append(catalog_items.c.code.like(_like_pattern(q.upper())[1:], escape="\\"))
    return or_(*conditions)


def spellings(q: str) -> list[str]:
    """q, and q with each short form in it spelled out: 社保卡 -> 社会保险卡, 社会保障卡."""
    found = [q]
    for short, expansions in ABBREVIATIONS.items():
        if short in q:
            found += [q.replace(short, expansion) for expansion in expansions]
    return found


def name_condition(connection: Connection, q: str) -> ColumnElement[bool]:
    """Names containing q: through the trigram index where there is one and q is long enough."""
    if len(q) >= TRIGRAM and _has_fts(connection):
        phrase = '"' + q.replace('"', '""') + '"'
        matching: Select[Any] = (
            select(literal_column("code"))
            .select_from(text(FTS_TABLE))
            .where(literal_column(FTS_TABLE).op("MATCH")(literal(phrase)))  # anonymous, unique bind name
        )
        return catalog_items.c.code.in_(matching)
    if connection.dialect.name == "postgresql":
        return catalog_items.c.name.ilike(_like_pattern(q), escape="\\")  # the pg_trgm GIN index
    return catalog_items.c.name.like(_like_pattern(q), escape="\\")


def _conditions(connection: Connection, query: CatalogueQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.q:
        conditions.append(search_condition(connection, query.q))
    for column, value in (
        (catalog_items.c.mode, query.mode),
        (catalog_items.c.subject, query.subject),
        (catalog_items.c.sector, query.sector),
    ):
        if value is not None:
            conditions.append(column == value)
    if query.city is not None or query.department is not None:
        department_of_item = [catalog_departments.c.item_code == catalog_items.c.code]
        if query.city is not None:
            department_of_item.append(catalog_departments.c.city == query.city)
        if query.department is not None:
            department_of_item.append(
                catalog_departments.c.department.like(_like_pattern(query.department), escape="\\")
            )
        conditions.append(exists().where(and_(*department_of_item)))
    return conditions


def search_items(connection: Connection, query: CatalogueQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of matching items (as JSON objects) in catalogue order, and how many match in all."""
    conditions = _conditions(connection, query)
    total = connection.execute(select(func.count()).select_from(catalog_items).where(*conditions)).scalar_one()
    rows = connection.execute(
        select(catalog_items.c.item_json)
        .where(*conditions)
        .order_by(catalog_items.c.position)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    return [json.loads(row.item_json) for row in rows], total


def sector_counts(connection: Connection) -> dict[str, int]:
    rows = connection.execute(
        select(catalog_items.c.sector, func.count(), func.min(catalog_items.c.position))
        .group_by(catalog_items.c.sector)
        .order_by(func.min(catalog_items.c.position))
    )
    return {row[0]: row[1] for row in rows}
