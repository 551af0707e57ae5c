"""The catalogue in the database, on SQLite and PostgreSQL: loaded once, replaced all or nothing,
searched through an index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from catalogs.service_items import load_service_items
from gateway.services.catalog import (
    CatalogueQuery,
    catalogue_version,
    ensure_catalogue,
    item_by_code,
    replace_catalogue,
    search_items,
    stored_items,
)
from gateway.services.catalog._store import search_condition
from gateway.services.catalog._tables import catalog_items
from gateway.storage import Database

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SHIPPED = list(load_service_items().values())


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def loaded(database: Database) -> Database:
    with database.write() as connection:
        ensure_catalogue(connection, NOW)
    return database


def names(database: Database, **filters: object) -> list[str]:
    with database.read() as connection:
        items, total = search_items(connection, CatalogueQuery(page_size=500, **filters))  # type: ignore[arg-type]
    assert len(items) == total
    return [item["name"] for item in items]


def test_before_loading_item_by_code_answers_from_the_shipped_catalogue(database: Database) -> None:
    with database.read() as connection:
        assert catalogue_version(connection).version is None
        assert item_by_code(connection, "SCJG-0002") == load_service_items()["SCJG-0002"]


def test_the_shipped_catalogue_is_loaded_once(loaded: Database) -> None:
    with loaded.write() as connection:
        again = ensure_catalogue(connection, datetime(2027, 1, 1, tzinfo=UTC))
    assert again.loaded_at == NOW and again.item_count == 633
    with loaded.read() as connection:
        assert stored_items(connection) == SHIPPED
        assert item_by_code(connection, "GAJ-0001") == load_service_items()["GAJ-0001"]
        assert item_by_code(connection, "NONE-0001") is None


def test_several_workers_starting_at_once_load_it_once(database: Database) -> None:
    versions = []

    def start() -> None:
        with database.write() as connection:
            versions.append(ensure_catalogue(connection, datetime.now(UTC)))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({version.loaded_at for version in versions}) == 1
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(catalog_items)).scalar_one() == 633


def test_replacing_is_all_or_nothing(loaded: Database) -> None:
    with loaded.write() as connection:
        replace_catalogue(connection, SHIPPED[:10], version="small", source="test", now=NOW)
    assert len(names(loaded)) == 10
    with pytest.raises(ValueError, match="repeats"), loaded.write() as connection:
        replace_catalogue(connection, [*SHIPPED[:3], SHIPPED[0]], version="bad", source="test", now=NOW)
    with loaded.read() as connection:
        assert catalogue_version(connection).version == "small"
        assert len(stored_items(connection)) == 10


def test_search_finds_names_with_long_and_short_queries(loaded: Database) -> None:
    food = names(loaded, q="食品")
    assert "食品经营许可证核发" in food and all("食品" in name for name in food)
    assert names(loaded, q="食品经营许可证核发") == ["食品经营许可证核发"]
    assert set(names(loaded, q="食")) >= set(food)
    social = names(loaded, q="社保")  # no name says 社保: its spelled-out forms are searched too
    assert "社会保障卡申领" in social and "单位社会保险注销登记" in social
    assert names(loaded, q="医保卡") == names(loaded, q="医疗保障卡")
    assert names(loaded, q="scjg-0002")[0] == "食品经营许可证核发"
    assert names(loaded, q="100%") == names(loaded, q="_") == []


def test_filters_narrow_the_search(loaded: Database) -> None:
    zhongshan_online = names(loaded, city="442000", mode="全程网办")
    assert 0 < len(zhongshan_online) < 633
    assert names(loaded, city="150100") == []
    persons = names(loaded, subject="person", sector="公安")
    assert "机动车驾驶证补领" in persons and "公章刻制备案" not in persons
    traffic = names(loaded, department="交通警察")
    assert "机动车驾驶证补领" in traffic and len(traffic) == 27
    assert names(loaded, q="许可证", sector="卫生健康", mode="异地代收代办")[0] == "医疗机构执业许可证核发"


def test_pages_follow_the_catalogue_order(loaded: Database) -> None:
    with loaded.read() as connection:
        first, total = search_items(connection, CatalogueQuery(page=1, page_size=100))
        last, _ = search_items(connection, CatalogueQuery(page=7, page_size=100))
        beyond, _ = search_items(connection, CatalogueQuery(page=8, page_size=100))
    assert total == 633 and len(first) == 100 and len(last) == 33 and beyond == []
    assert [item["code"] for item in first] == [item.code for item in SHIPPED[:100]]


def test_sqlite_searches_through_the_fts5_trigram_table(loaded: Database) -> None:
    if not loaded.is_sqlite:
        pytest.skip("the SQLite index")
    with loaded.read() as connection:
        condition = search_condition(connection, "食品经营")
        statement = select(catalog_items.c.code).where(condition)
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        plan = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        short = select(catalog_items.c.code).where(search_condition(connection, "食品"))
        short_sql = str(short.compile(connection, compile_kwargs={"literal_binds": True}))
    details = " ".join(str(row[-1]) for row in plan)
    assert "catalog_items_fts VIRTUAL TABLE INDEX" in details, details
    assert "catalog_items_fts" not in short_sql and "LIKE" in short_sql  # two characters: no trigram


def test_postgresql_searches_through_the_pg_trgm_index(loaded: Database) -> None:
    if loaded.is_sqlite:
        pytest.skip("the PostgreSQL index")
    with loaded.read() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # 633 rows: make the planner show its index
        statement = select(catalog_items.c.code).where(search_condition(connection, "食品经营"))
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_catalog_items_name_trgm" in plan, plan
    assert names(loaded, q="食品经营许可证核发") == ["食品经营许可证核发"]
