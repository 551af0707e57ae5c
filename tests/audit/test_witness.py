"""Cross-witnessing: one city's gateway countersigns the other's checkpoints and catches rewrites."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import LoopbackServer, make_settings
from sqlalchemy import delete, update
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.audit import open_note
from gateway.cli import app as cli
from gateway.client import make_member_certificate
from gateway.registry import add_member, grant
from gateway.runtime import Runtime
from gateway.storage import audit_checkpoints, audit_entries, audit_head, audit_nodes

WITNESS_MEMBER = "442000.tongban.gateway"


@pytest.fixture
def two_cities(tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Shenzhen's gateway (the log) and Zhongshan's (the witness), each with its own keys and database."""
    zs_settings = make_settings(tmp_path / "zs", f"sqlite:///{tmp_path / 'zs.db'}", city="442000")
    zhongshan = Runtime.build(zs_settings)
    assert zhongshan.transparency_log is not None
    witness_key = zhongshan.transparency_log.signer.verifier_key()
    sz_settings = make_settings(
        tmp_path / "sz",
        f"sqlite:///{tmp_path / 'sz.db'}",
        city="440300",
        audit_witness_keys=[witness_key],
        audit_checkpoint_interval_seconds=0.01,
    )
    shenzhen = Runtime.build(sz_settings)
    server: LoopbackServer = serve(create_app(runtime=shenzhen))
    key_pem, cert_pem = make_member_certificate(WITNESS_MEMBER)
    key_file = tmp_path / "zs-at-sz.pem"
    key_file.write_bytes(key_pem)
    with shenzhen.database.write() as connection:
        add_member(connection, WITNESS_MEMBER, cert_pem, now=shenzhen.clock.now())
        grant(connection, WITNESS_MEMBER, "audit.witness", now=shenzhen.clock.now())
    for name in list(os.environ):
        if name.startswith("TONGBAN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TONGBAN_VAR_DIR", str(zs_settings.var_dir))
    monkeypatch.setenv("TONGBAN_DATABASE_URL", zs_settings.database_url)
    monkeypatch.setenv("TONGBAN_CITY", "442000")
    return shenzhen, server, key_file, zhongshan


def append(runtime: Runtime, count: int, tag: str = "a") -> None:
    assert runtime.transparency_log is not None
    for n in range(count):
        runtime.transparency_log.append_now({"kind": "test", "tag": tag, "n": n}, exchange_id=f"{tag}-{n}")


def witness(shenzhen: Runtime, server: LoopbackServer, key_file: Path) -> Any:
    assert shenzhen.transparency_log is not None
    return CliRunner().invoke(
        cli,
        [
            "audit",
            "witness",
            server.url,
            "--origin-key",
            shenzhen.transparency_log.signer.verifier_key(),
            "--member",
            WITNESS_MEMBER,
            "--member-key",
            str(key_file),
        ],
    )


def test_a_witnessed_checkpoint_carries_both_signatures(two_cities: Any) -> None:
    shenzhen, server, key_file, zhongshan = two_cities
    append(shenzhen, 5)
    result = witness(shenzhen, server, key_file)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "first checkpoint witnessed" in result.stderr

    log = shenzhen.transparency_log
    stored = log.latest_checkpoint()
    verifiers = [*log.signer.verifiers(), *zhongshan.transparency_log.signer.verifiers()]
    _text, signers = open_note(stored.note, verifiers)
    assert set(signers) == {"440300.tongban.gateway/audit", "442000.tongban.gateway/audit"}
    assert log.verify() == 5  # the cosigned note still verifies as the log's own checkpoint

    append(shenzhen, 7, tag="b")
    again = witness(shenzhen, server, key_file)
    assert again.exit_code == 0, again.stderr
    assert "consistent with 5" in again.stderr


def rewrite_history(runtime: Runtime, keep: int) -> None:
    """What an operator with database access could do: cut the log back to `keep` entries."""
    with runtime.database.write() as connection:
        connection.execute(delete(audit_entries).where(audit_entries.c.idx >= keep))
        connection.execute(delete(audit_nodes).where(audit_nodes.c.leaf_end >= keep))
        connection.execute(delete(audit_checkpoints))
        connection.execute(update(audit_head).values(size=keep))
    runtime.transparency_log._frontier = None  # the process's cache of the right edge


def test_a_rewritten_history_is_refused(two_cities: Any) -> None:
    shenzhen, server, key_file, _zhongshan = two_cities
    append(shenzhen, 6)
    assert witness(shenzhen, server, key_file).exit_code == 0
    rewrite_history(shenzhen, keep=3)
    append(shenzhen, 5, tag="forged")  # size 8 now, but entries 3..5 differ from what was witnessed
    refused = witness(shenzhen, server, key_file)
    assert refused.exit_code != 0
    assert "rewritten" in refused.stderr


def test_a_log_that_went_back_is_refused(two_cities: Any) -> None:
    shenzhen, server, key_file, _zhongshan = two_cities
    append(shenzhen, 6)
    assert witness(shenzhen, server, key_file).exit_code == 0
    rewrite_history(shenzhen, keep=2)
    append(shenzhen, 1, tag="after")
    refused = witness(shenzhen, server, key_file)
    assert refused.exit_code != 0
    assert "went back" in refused.stderr


def test_a_checkpoint_signed_by_another_key_is_refused(two_cities: Any) -> None:
    shenzhen, server, key_file, zhongshan = two_cities
    append(shenzhen, 2)
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "witness",
            server.url,
            "--origin-key",
            zhongshan.transparency_log.signer.verifier_key(),  # not Shenzhen's key
            "--member",
            WITNESS_MEMBER,
            "--member-key",
            str(key_file),
        ],
    )
    assert result.exit_code != 0
    assert "refused" in result.stderr
