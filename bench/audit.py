"""How fast the audit log appends durably (group commit against one transaction per entry) and verifies.

Each figure comes from a scratch database: a SQLite file in a temporary directory (WAL,
synchronous=FULL, as the gateway runs it), and a PostgreSQL schema of its own when a URL is given
(made before, dropped after). Appends are awaited one by one by each appender, so every counted
entry was durable before its append returned. The verify figure fills the log through the private
batch writer (fast, and acceptable in a benchmark), then times `TransparencyLog.verify()`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from gateway.audit import BodyCipher, CheckpointSigner, TransparencyLog, canonical_entry
from gateway.audit._log import _Record
from gateway.clock import SystemClock, SystemEntropy
from gateway.storage import Database

__all__ = [
    "Measurement",
    "append_now_throughput",
    "append_throughput",
    "fill",
    "main",
    "open_log",
    "scratch_database",
    "verify_time",
]

DEFAULT_APPENDERS = (1, 16, 64)
DEFAULT_SECONDS = 5.0
DEFAULT_VERIFY_ENTRIES = 1_000_000
DEFAULT_FILL_BATCH = 10_000
_ID_PLACEHOLDER = "@" * 12


@dataclass(frozen=True)
class Measurement:
    database: str
    what: str
    appenders: int | None
    entries: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("inf")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- databases -------------------------------------------------------------------------------


def _schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def scratch_database(postgres_url: str | None = None, *, directory: Path | None = None) -> Iterator[str]:
    """A fresh empty database URL: a SQLite file in a temporary directory, or a new PostgreSQL
    schema (dropped afterwards) when `postgres_url` is given."""
    if postgres_url is None:
        with tempfile.TemporaryDirectory(prefix="tongban-bench-", dir=directory) as folder:
            yield f"sqlite:///{Path(folder) / 'audit.db'}"
        return
    schema = f"tongban_bench_{secrets.token_hex(6)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield _schema_url(postgres_url, schema)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def open_log(database: str | Database, *, max_batch: int = 1000, checkpoint_interval: float = 1.0) -> TransparencyLog:
    """A migrated database (a URL, or one already made) and a log on it with throw-away keys (the
    gateway's own are not touched)."""
    if isinstance(database, str):
        database = Database(database)
    database.migrate()
    return TransparencyLog(
        database,
        signer=CheckpointSigner("bench.tongban.gateway/audit", Ed25519PrivateKey.generate()),
        clock=SystemClock(),
        entropy=SystemEntropy(),
        body_cipher=BodyCipher(os.urandom(32)),
        body_retention=timedelta(days=1),
        checkpoint_interval=checkpoint_interval,
        max_batch=max_batch,
    )


def describe_database(database_url: str) -> str:
    database = Database(database_url)
    try:
        if database.is_sqlite:
            return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL)"
        with database.read() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            sync = connection.execute(text("SHOW synchronous_commit")).scalar_one()
            fsync = connection.execute(text("SHOW fsync")).scalar_one()
        return f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync})"
    finally:
        database.dispose()


# ---- entries -----------------------------------------------------------------------------------


def sample_entry(number: int) -> dict[str, Any]:
    """An entry shaped and sized like the gateway's exchange.request entries (about 900 bytes)."""
    signature = base64.b64encode(bytes(64)).decode()
    return {
        "v": 1,
        "kind": "exchange.request",
        "exchange_id": f"01JBENCH{number:018d}",
        "time": "2025-01-01T00:00:00.000000+00:00",
        "received_at": "2025-01-01T00:00:00.000000+00:00",
        "gateway": "440300.tongban.gateway",
        "client": "442000.zsgov.window",
        "provider": "440300.szamr.licence",
        "operation": "relay",
        "service": "440300.szamr.licence/licences",
        "method": "POST",
        "target": f"/v1/exchange/440300.szamr.licence/licences/echo/{number}",
        "purpose": "window.verify",
        "token_id": "Zm9vYmFyYmF6cXV4cXV1eA",
        "idempotency_key": None,
        "request_digest": f"sha-256=:{base64.b64encode(bytes(32)).decode()}:",
        "caller_signature": {
            "signature_input": 'member=("@method" "@target-uri" "content-digest");created=1735689600;'
            'keyid="442000.zsgov.window";alg="ed25519"',
            "signature": f"member=:{signature}:",
        },
        "decision": "forward",
        "replayed_from": None,
        "forwarded": {
            "method": "POST",
            "url": f"http://127.0.0.1:8081/api/echo/{number}",
            "digest": f"sha-256=:{base64.b64encode(bytes(32)).decode()}:",
            "signature": f"tongban=:{signature}:",
        },
    }


def _fill_template() -> tuple[bytes, bytes]:
    """Canonical bytes of a sample entry, split where a 12-digit number goes (rfc8785 once, not per entry)."""
    entry = sample_entry(0)
    entry["exchange_id"] = f"01JBENCH{_ID_PLACEHOLDER}"
    before, after = canonical_entry(entry).split(_ID_PLACEHOLDER.encode())
    return before, after


# ---- measurements ----------------------------------------------------------------------------


def _label(log: TransparencyLog) -> str:
    return "sqlite" if log.database.is_sqlite else "postgresql"


def append_throughput(log: TransparencyLog, appenders: int, *, seconds: float, limit: int | None = None) -> Measurement:
    """`appenders` asyncio tasks each awaiting `append` in a loop, for `seconds` (or `limit` entries in all)."""

    async def run() -> tuple[int, float]:
        issued = 0
        deadline = time.monotonic() + seconds

        async def appender() -> None:
            nonlocal issued
            while time.monotonic() < deadline and (limit is None or issued < limit):
                number = issued
                issued += 1
                await log.append(sample_entry(number), exchange_id=f"bench-{number}")

        started = time.perf_counter()
        await asyncio.gather(*(appender() for _ in range(appenders)))
        return issued, time.perf_counter() - started

    before = log.size()
    count, elapsed = asyncio.run(run())
    if log.size() - before != count:
        raise RuntimeError(f"{count} appends acknowledged but the log grew by {log.size() - before}")
    return Measurement(_label(log), "append, group commit", appenders, count, elapsed)


def append_now_throughput(log: TransparencyLog, *, seconds: float, limit: int | None = None) -> Measurement:
    """`append_now` in a loop: one transaction (and one fsync) per entry."""
    count = 0
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    while time.monotonic() < deadline and (limit is None or count < limit):
        log.append_now(sample_entry(count), exchange_id=f"bench-{count}")
        count += 1
    return Measurement(_label(log), "append_now, 1 transaction/entry", 1, count, time.perf_counter() - started)


def fill(
    log: TransparencyLog,
    entries: int,
    *,
    batch: int = DEFAULT_FILL_BATCH,
    progress: Callable[[int, float], None] | None = None,
) -> Measurement:
    """Add `entries` entries in large batches through the log's own batch writer (tree nodes included)."""
    before, after = _fill_template()
    start = log.size()
    written = 0
    started = time.perf_counter()
    while written < entries:
        size = min(batch, entries - written)
        records = []
        for number in range(start + written, start + written + size):
            exchange_id = f"{number:012d}"
            records.append(_Record(before + exchange_id.encode() + after, "exchange.request", exchange_id, None))
        log._write_batch(records)
        written += size
        if progress is not None:
            progress(written, time.perf_counter() - started)
    return Measurement(_label(log), f"fill, _write_batch of {batch}", None, written, time.perf_counter() - started)


def verify_time(log: TransparencyLog, *, progress: Callable[[int, float], None] | None = None) -> Measurement:
    """Time `TransparencyLog.verify()` over the whole log."""
    done = 0
    started = time.perf_counter()

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None and done % 100_000 == 0:
            progress(done, time.perf_counter() - started)

    size = log.verify(progress=advance)
    return Measurement(_label(log), "verify", None, size, time.perf_counter() - started)


# ---- the run -----------------------------------------------------------------------------------


def run_database(
    postgres_url: str | None,
    *,
    appenders: Sequence[int],
    seconds: float,
    verify_entries: int,
    fill_batch: int,
    directory: Path | None = None,
) -> tuple[str, list[Measurement]]:
    """Every measurement on one kind of database, each on a fresh scratch database."""
    results: list[Measurement] = []
    description = ""
    name = "postgresql" if postgres_url else "sqlite"
    scenarios = [*(("group", n) for n in appenders), ("now", 1)] if seconds > 0 else []
    for kind, count in scenarios:
        with scratch_database(postgres_url, directory=directory) as url:
            log = open_log(url)
            try:
                description = description or describe_database(url)
                if kind == "group":
                    _say(f"{name}: {count} appender(s) for {seconds:g} s ...")
                    measurement = append_throughput(log, count, seconds=seconds)
                else:
                    _say(f"{name}: append_now in a loop for {seconds:g} s ...")
                    measurement = append_now_throughput(log, seconds=seconds)
                results.append(measurement)
            finally:
                log.database.dispose()
    if verify_entries > 0:
        with scratch_database(postgres_url, directory=directory) as url:
            log = open_log(url)
            try:
                description = description or describe_database(url)
                step = max(verify_entries // 10, 1)

                def filled(done: int, elapsed: float) -> None:
                    if done % step < fill_batch or done == verify_entries:
                        _say(f"{name}: filled {done:,}/{verify_entries:,} entries ({elapsed:.1f} s)")

                results.append(fill(log, verify_entries, batch=fill_batch, progress=filled))
                _say(f"{name}: verifying {verify_entries:,} entries ...")
                results.append(
                    verify_time(
                        log, progress=lambda done, elapsed: _say(f"{name}: verified {done:,} ({elapsed:.1f} s)")
                    )
                )
            finally:
                log.database.dispose()
    return description, results


def format_table(results: Sequence[Measurement]) -> str:
    header = ("database", "measurement", "appenders", "entries", "seconds", "entries/s")
    rows = [
        (
            m.database,
            m.what,
            "-" if m.appenders is None else str(m.appenders),
            f"{m.entries:,}",
            f"{m.seconds:.2f}",
            f"{m.rate:,.0f}",
        )
        for m in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    aligned = [
        "  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [header, *rows]
    ]
    return "\n".join([aligned[0], "  ".join("-" * width for width in widths), *aligned[1:]])


def _nproc() -> int:
    """What `nproc` prints: the processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _appender_counts(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers, e.g. 1,16,64") from exc
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers, e.g. 1,16,64")
    return counts


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(
        prog="python -m bench",
        description="Audit log benchmark: durable appends (group commit against one transaction per entry) "
        "and the time to verify a large log. SQLite always; PostgreSQL when a URL is given.",
    )
    arguments.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("TONGBAN_TEST_POSTGRES_URL"),
        help="also measure PostgreSQL, in a scratch schema dropped afterwards "
        "(default: $TONGBAN_TEST_POSTGRES_URL; e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    arguments.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    arguments.add_argument(
        "--appenders",
        type=_appender_counts,
        default=DEFAULT_APPENDERS,
        metavar="N,N,...",
        help="concurrent appenders (asyncio tasks) to measure (default: 1,16,64)",
    )
    arguments.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="length of each append measurement; 0 skips them (default: %(default)s)",
    )
    arguments.add_argument(
        "--entries",
        type=int,
        default=DEFAULT_VERIFY_ENTRIES,
        help="entries in the log that is verified; 0 skips it (default: %(default)s)",
    )
    arguments.add_argument(
        "--fill-batch", type=int, default=DEFAULT_FILL_BATCH, help="entries per transaction while filling"
    )
    arguments.add_argument(
        "--dir", type=Path, default=None, help="directory for the SQLite scratch files (default: the system's temp)"
    )
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    targets: list[str | None] = [] if options.no_sqlite else [None]
    if options.postgres:
        targets.append(options.postgres)
    if not targets:
        _say("nothing to measure: --no-sqlite and no --postgres URL")
        return 2
    descriptions: list[str] = []
    results: list[Measurement] = []
    for target in targets:
        description, measured = run_database(
            target,
            appenders=options.appenders,
            seconds=options.seconds,
            verify_entries=options.entries,
            fill_batch=options.fill_batch,
            directory=options.dir,
        )
        descriptions.append(description)
        results.extend(measured)
    print(
        f"Tongban audit benchmark: nproc {_nproc()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )
    for description in descriptions:
        print(f"  {description}")
    print()
    print(format_table(results))
    return 0
