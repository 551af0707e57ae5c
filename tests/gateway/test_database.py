"""Database.migrate: Alembic runs only when the schema is behind; a current schema is checked without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from gateway.storage import Database
from gateway.storage._database import _head_revision


def test_the_head_revision_read_from_the_scripts_is_alembics() -> None:
    database = Database("sqlite:///:memory:")
    with database.engine.connect() as connection:
        heads = ScriptDirectory.from_config(database._alembic_config(connection)).get_heads()
    assert [_head_revision()] == heads


def test_migrate_brings_a_new_and_an_older_schema_to_the_head(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(database._alembic_config(connection), "0001")
        assert not database.is_current()
        database.migrate()
        assert database.is_current()
        database.migrate()  # nothing to do
        assert database.is_current()
    finally:
        database.dispose()


def test_a_current_schema_is_not_migrated_through_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tongban.db'}"
    first = Database(url)
    first.migrate()
    first.dispose()
    code = (
        "import sys; from gateway.storage import Database\n"
        f"database = Database({url!r}); database.migrate(); database.dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
