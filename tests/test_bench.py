"""The benchmark code still runs: every measurement at a few hundred entries (the real run is `make bench`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_URL
from sqlalchemy import create_engine, event, text

from bench.audit import append_now_throughput, append_throughput, fill, main, open_log, verify_time
from gateway.storage import Database


def test_each_measurement_counts_what_it_wrote(database_url: str) -> None:
    log = open_log(database_url, max_batch=16)
    try:
        grouped = append_throughput(log, 4, seconds=60, limit=200)
        assert (grouped.appenders, grouped.entries) == (4, 200) and grouped.rate > 0
        single = append_now_throughput(log, seconds=60, limit=50)
        assert single.entries == 50
        filled = fill(log, 300, batch=128, progress=lambda done, _elapsed: None)
        assert filled.entries == 300
        verified = verify_time(log)
        assert verified.entries == log.size() == 550
    finally:
        log.database.dispose()


def test_the_command_prints_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TONGBAN_TEST_POSTGRES_URL", raising=False)
    tiny = ["--seconds", "0.05", "--appenders", "1,3", "--entries", "300", "--fill-batch", "100"]
    assert main([*tiny, "--dir", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "nproc" in output and "SQLite" in output
    for measurement in ("append, group commit", "append_now", "fill", "verify"):
        assert re.search(rf"^sqlite +{re.escape(measurement)}", output, re.MULTILINE), output
    assert list(tmp_path.iterdir()) == []  # the scratch database is gone


@pytest.mark.skipif(not POSTGRES_URL, reason="TONGBAN_TEST_POSTGRES_URL is not set")
def test_postgresql_scratch_schemas_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    assert POSTGRES_URL is not None
    engine = create_engine(POSTGRES_URL)
    query = text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tongban_bench_%'")
    try:
        with engine.connect() as connection:
            before = set(connection.execute(query).scalars())
        tiny = ["--seconds", "0.05", "--appenders", "2", "--entries", "200"]
        assert main(["--no-sqlite", "--postgres", POSTGRES_URL, *tiny]) == 0
        with engine.connect() as connection:
            after = set(connection.execute(query).scalars())
    finally:
        engine.dispose()
    assert after <= before
    assert re.search(r"^postgresql +verify", capsys.readouterr().out, re.MULTILINE)


def _sqlite_steps_to_verify(folder: Path, entries: int) -> int:
    """SQLite virtual-machine steps (in thousands) that `verify()` takes over a log of `entries`."""
    database = Database(f"sqlite:///{folder / f'{entries}.db'}")
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    @event.listens_for(database.engine, "connect")
    def _count_steps(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(count, 1000)

    log = open_log(database)
    try:
        fill(log, entries, batch=5000)
        steps = 0
        assert log.verify() == entries
        return steps
    finally:
        database.dispose()


def test_verify_reads_each_node_once_so_its_work_grows_linearly(tmp_path: Path) -> None:
    small = _sqlite_steps_to_verify(tmp_path, 5_000)
    large = _sqlite_steps_to_verify(tmp_path, 20_000)
    assert large < 6 * small, f"4x the entries took {large / small:.1f}x the work ({small} -> {large} kilo-steps)"


def test_the_recognition_benchmark_verifies_every_kind(tmp_path: Path) -> None:
    from bench.recognition import measure

    results = measure(seconds=60, directory=tmp_path, limit=3)
    assert {result.kind for result in results} >= {
        "licence jws",
        "licence xml",
        "licence pdf",
        "licence ofd",
        "seal ses",
    }
    assert all(result.documents == 3 and result.rate > 0 and result.cpu_rate > 0 for result in results)


def test_the_credit_benchmark_issues_and_verifies_through_the_gateway() -> None:
    from bench.credit import measure

    issued, verified = measure(seconds=60, limit=4)
    assert (issued.what, issued.requests) == ("issue", 4) and issued.rate > 0 and issued.cpu_rate > 0
    assert (verified.what, verified.requests) == ("verify", 4) and verified.rate > 0


def test_the_evaluation_benchmark_times_every_delivery() -> None:
    from bench import evaluation

    figures = evaluation.measure(sessions=2, bidders=1, pace=0).figures()
    assert figures["followers"] == 8  # three venues and a supervisor per session
    assert figures["deliveries"] == 4 * (figures["events_written"] - 2)  # each event but the creations', to each
    assert figures["signatures_checked"] > 0 and figures["from_write_ms"]["max"] > 0
