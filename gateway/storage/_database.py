"""The database: one engine per process, SQLite (WAL) by default or PostgreSQL, migrated by Alembic."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["Database"]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_PG_MIGRATION_LOCK = 7_304_210_001  # any fixed number; one migrator at a time across processes
_REVISION = re.compile(r'^revision = "([^"]+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = (?:"([^"]+)"|None)$', re.MULTILINE)


@functools.cache
def _head_revision() -> str | None:
    """The newest migration's revision, read from the scripts' own `revision` lines, without
    loading Alembic (which costs more than the rest of a short CLI command); None when the scripts
    are not one plain line of history, and then Alembic decides."""
    revisions, parents = set(), set()
    for script in (_MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision[1])
        if down[1]:
            parents.add(down[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(parents) == len(revisions) - 1 else None


class Database:
    """Owns the engine. `write()` and `read()` hand out connections inside a transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine(echo)
        self._write_lock_path: str | None = None
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            self._write_lock_path = f"{self.url.database}.write.lock"

    def _create_engine(self, echo: bool) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
        database = self.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, start transactions, so that writes can BEGIN IMMEDIATE.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged audit entry survives power loss
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # Writers take the write lock up front: a deferred transaction that reads and then
            # writes can fail with SQLITE_BUSY when another process wrote in between.
            if connection.get_execution_options().get("tongban_readonly"):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction: committed on success, rolled back on any error."""
        with self._writer_turn(), self.engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, writers of every process queue on a file lock before BEGIN IMMEDIATE. SQLite's
        own busy handler polls with sleeps of up to 100 ms, which under load made writers wait far
        longer than the write itself; a blocked flock wakes the moment the holder releases it."""
        if self._write_lock_path is None:
            yield
            return
        with open(self._write_lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(tongban_readonly=True)
            with connection.begin():
                yield connection

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.read() as connection:
            connection.execute(text("SELECT 1"))

    # ---- migrations ------------------------------------------------------------------------

    def _alembic_config(self, connection: Connection) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.is_sqlite:
            database = self.url.database or ":memory:"
            if database == ":memory:":
                yield
                return
            with open(f"{database}.migrate.lock", "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    connection.commit()

    def _at_head_revision(self) -> bool:
        """True when the schema is known, without Alembic, to be at the newest revision."""
        head = _head_revision()
        if head is None:
            return False
        try:
            with self.read() as connection:
                stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except SQLAlchemyError:  # no version table yet: a new database
            return False
        return stored == [head]

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe to call from several processes at once."""
        if self._at_head_revision():
            return
        from alembic import command

        with self._migration_lock(), self.engine.begin() as connection:
            command.upgrade(self._alembic_config(connection), "head")

    def is_current(self) -> bool:
        """True when the schema is at the newest revision."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_heads()
                heads = ScriptDirectory.from_config(self._alembic_config(connection)).get_heads()
        except SQLAlchemyError:
            return False
        return set(current) == set(heads)

    def dispose(self) -> None:
        self.engine.dispose()
