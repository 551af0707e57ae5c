"""The transparency log on real storage: vectors, appends, checkpoints, group commit, tampering, bodies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import load_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from gateway.audit import (
    BodyToKeep,
    BodyUnreadable,
    LogBroken,
    TransparencyLog,
    canonical_entry,
    open_note,
    parse_checkpoint,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.audit._log import _Record
from gateway.cli import app as cli
from gateway.clock import FixedClock
from gateway.errors import AuditUnavailable, ServiceUnavailable
from gateway.runtime import open_transparency_log
from gateway.settings import Settings, load_settings
from gateway.storage import Database, audit_bodies, audit_checkpoints, audit_entries, audit_head, audit_nodes

VECTORS = load_vectors("rfc9162-merkle.json")
TAMPER_SIZE = 40
TABLES = (audit_entries, audit_nodes, audit_checkpoints, audit_head)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


OpenLog = Callable[..., TransparencyLog]


@pytest.fixture
def open_log(tmp_path: Path, database_url: str) -> Iterator[OpenLog]:
    """open_transparency_log over a migrated database, as the gateway and the CLI build it."""
    databases: list[Database] = []

    def build(clock: Any = None, **overrides: Any) -> TransparencyLog:
        current = load_settings(var_dir=tmp_path / "var", database_url=database_url, **overrides)
        database = Database(database_url)
        database.migrate()
        databases.append(database)
        return open_transparency_log(current, database, clock=clock)

    yield build
    for database in databases:
        database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


def default_settings(tmp_path: Path) -> Settings:
    """The settings open_log uses, but for the database (which the audit settings do not depend on)."""
    return load_settings(var_dir=tmp_path / "var")


def head_of(log: TransparencyLog) -> tuple[int, bytes]:
    with log.database.read() as connection:
        row = connection.execute(select(audit_head.c.size, audit_head.c.root).where(audit_head.c.id == 1)).one()
    return int(row.size), bytes(row.root)


def checkpoint_sizes(log: TransparencyLog) -> list[int]:
    with log.database.read() as connection:
        return [int(size) for size in connection.execute(select(audit_checkpoints.c.size).order_by("size")).scalars()]


# ---- published vectors through storage ----------------------------------------------------------


def test_stored_tree_matches_rfc9162_vectors_at_every_size(open_log: OpenLog) -> None:
    data = VECTORS
    log = open_log()
    inputs = [bytes.fromhex(value) for value in data["leaf_inputs_hex"]]
    assert head_of(log) == (0, bytes.fromhex(data["empty_root_hex"]))
    for size, leaf_input in enumerate(inputs, start=1):
        [receipt] = log._write_batch([_Record(entry=leaf_input, kind="vector", exchange_id=None, body=None)])
        assert receipt.index == size - 1
        assert receipt.leaf_hash == bytes.fromhex(data["leaf_hashes_hex"][size - 1])
        assert head_of(log) == (size, bytes.fromhex(data["roots_by_tree_size_hex"][str(size)]))
    for vector in data["inclusion_proofs"]:
        proof = log.inclusion_proof(vector["leaf_index"], vector["tree_size"])
        assert proof == [bytes.fromhex(value) for value in vector["path_hex"]], vector
    for vector in data["consistency_proofs"]:
        proof = log.consistency_proof(vector["first"], vector["second"])
        assert proof == [bytes.fromhex(value) for value in vector["path_hex"]], vector
    assert log.verify() == len(inputs)


def test_vectors_written_in_one_batch_give_the_same_root(open_log: OpenLog) -> None:
    data = VECTORS
    log = open_log()
    records = [_Record(bytes.fromhex(value), "vector", None, None) for value in data["leaf_inputs_hex"]]
    receipts = log._write_batch(records)
    assert [receipt.index for receipt in receipts] == list(range(len(records)))
    assert head_of(log) == (len(records), bytes.fromhex(data["roots_by_tree_size_hex"][str(len(records))]))
    assert log.verify() == len(records)


# ---- appending and reading ------------------------------------------------------------------------


def test_appends_get_consecutive_indexes_and_are_found_by_exchange(open_log: OpenLog) -> None:
    log = open_log()
    receipts = [
        log.append_now({"kind": "test", "n": n}, exchange_id="ex-even" if n % 2 == 0 else "ex-odd") for n in range(7)
    ]
    assert [receipt.index for receipt in receipts] == list(range(7))
    assert log.size() == 7
    assert log.entries_for("ex-odd") == [(n, {"kind": "test", "n": n}) for n in (1, 3, 5)]
    assert [index for index, _entry in log.entries_for("ex-even")] == [0, 2, 4, 6]
    assert log.entries_for("ex-none") == []
    assert log.entry(7) is None


def test_entry_bytes_are_jcs_and_the_leaf_hash_covers_them(open_log: OpenLog) -> None:
    log = open_log()
    entry = {"z": 1, "kind": "test", "a": {"b": "深中通办", "a": [3, 2, 1]}, "e": None, "t": True}
    jcs = '{"a":{"a":[3,2,1],"b":"深中通办"},"e":null,"kind":"test","t":true,"z":1}'.encode()
    receipt = log.append_now(entry, exchange_id="ex-jcs")
    assert receipt.leaf_hash == sha256(b"\x00" + jcs)
    with log.database.read() as connection:
        stored = connection.execute(select(audit_entries.c.entry).where(audit_entries.c.idx == receipt.index)).scalar()
    assert bytes(stored) == jcs
    assert log.entry(receipt.index) == (entry, sha256(b"\x00" + jcs))


def test_proofs_from_storage_verify_against_the_head(open_log: OpenLog) -> None:
    log = open_log()
    roots = {}
    for n in range(13):
        log.append_now({"kind": "test", "n": n})
        roots[n + 1] = head_of(log)[1]
    for size in (1, 5, 8, 13):
        for index in range(size):
            leaf = log.entry(index)
            assert leaf is not None
            verify_inclusion(leaf[1], index, size, log.inclusion_proof(index, size), roots[size])
    for first in range(14):
        verify_consistency(first, 13, roots.get(first, sha256(b"")), roots[13], log.consistency_proof(first, 13))


# ---- checkpoints ----------------------------------------------------------------------------------


def test_checkpoint_is_a_signed_note_of_origin_size_and_root(
    open_log: OpenLog, clock: FixedClock, tmp_path: Path
) -> None:
    log = open_log(clock)
    for n in range(5):
        log.append_now({"kind": "test", "n": n})
    clock.advance(5)
    stored = log.checkpoint_covering(5)
    text, signers = open_note(stored.note, log.signer.verifiers())
    checkpoint = parse_checkpoint(text)
    assert signers == [default_settings(tmp_path).audit_origin]
    assert checkpoint.origin == default_settings(tmp_path).audit_origin == log.origin
    assert (checkpoint.size, checkpoint.root_hash) == head_of(log) == (stored.size, stored.root)
    assert text == f"{log.origin}\n5\n{base64.b64encode(stored.root).decode()}\n"


def test_at_most_one_checkpoint_per_interval_under_load(open_log: OpenLog, clock: FixedClock) -> None:
    log = open_log(clock)
    for n in range(50):
        log.append_now({"kind": "test", "n": n})
    assert checkpoint_sizes(log) == [1]  # the first append made one; the rest fell in its interval

    async def burst(count: int) -> None:
        await asyncio.gather(*(log.append({"kind": "burst", "n": n}, exchange_id=None) for n in range(count)))

    asyncio.run(burst(100))
    assert checkpoint_sizes(log) == [1]
    clock.advance(log.checkpoint_interval.total_seconds() + 0.001)
    log.append_now({"kind": "test", "n": 150})
    log.append_now({"kind": "test", "n": 151})
    assert checkpoint_sizes(log) == [1, 151]
    assert log.verify() == 152


def test_current_checkpoint_is_made_fresh_only_when_the_tree_grew(open_log: OpenLog, clock: FixedClock) -> None:
    log = open_log(clock)
    for n in range(3):
        log.append_now({"kind": "test", "n": n})
    assert log.current_checkpoint().size == 1  # within the interval of the first one
    clock.advance(5)
    fresh = log.current_checkpoint()
    assert (fresh.size, fresh.root) == head_of(log)
    clock.advance(5)
    assert log.current_checkpoint() == fresh  # the tree did not grow: no new checkpoint
    assert checkpoint_sizes(log) == [1, 3]
    assert log.checkpoint_at(3) == fresh and log.checkpoint_at(2) is None
    assert log.latest_checkpoint() == fresh


def test_checkpoint_of_the_empty_log_then_appends_still_verify(open_log: OpenLog, clock: FixedClock) -> None:
    log = open_log(clock)
    empty = log.current_checkpoint()
    assert (empty.size, empty.root) == (0, sha256(b""))
    for n in range(3):
        clock.advance(5)
        log.append_now({"kind": "test", "n": n})
    assert checkpoint_sizes(log) == [0, 1, 2, 3]
    assert log.verify() == 3


def test_checkpoint_covering_returns_at_once_when_one_covers(open_log: OpenLog, clock: FixedClock) -> None:
    log = open_log(clock)
    for n in range(4):
        log.append_now({"kind": "test", "n": n})
    assert log.checkpoint_covering(1).size == 1
    clock.advance(5)
    assert log.checkpoint_covering(4).size == 4
    with pytest.raises(ServiceUnavailable):  # a read that cannot be served yet, not a failed write
        log.checkpoint_covering(5, timeout=0.2)  # no entry 4 yet: nothing can cover it


def test_checkpoint_covering_waits_for_the_next_interval(open_log: OpenLog, clock: FixedClock) -> None:
    log = open_log(clock)
    for n in range(4):
        log.append_now({"kind": "test", "n": n})
    timer = threading.Timer(0.15, clock.advance, args=(5,))
    timer.start()
    try:
        covering = log.checkpoint_covering(4, timeout=5)
    finally:
        timer.cancel()
    assert (covering.size, covering.root) == head_of(log)


# ---- group commit ---------------------------------------------------------------------------------


def test_concurrent_appends_are_group_committed(open_log: OpenLog) -> None:
    log = open_log()
    write_batch = log._write_batch
    batches: list[int] = []

    def counting(records: list[_Record]) -> Any:
        batches.append(len(records))
        return write_batch(records)

    log._write_batch = counting  # type: ignore[method-assign]

    async def many() -> list[Any]:
        return await asyncio.gather(
            *(log.append({"kind": "test", "n": n}, exchange_id=f"ex-{n % 7}") for n in range(200))
        )

    receipts = asyncio.run(many())
    assert sum(batches) == 200
    assert len(batches) <= 10, batches
    assert sorted(receipt.index for receipt in receipts) == list(range(200))
    for receipt in receipts:
        entry = log.entry(receipt.index)
        assert entry is not None and entry[1] == receipt.leaf_hash
    assert log.verify() == 200


def test_a_log_longer_than_one_verification_page_verifies_and_tampering_past_the_page_is_caught(
    open_log: OpenLog,
) -> None:
    log = open_log()
    count = 5003  # verify() streams entries and nodes 5000 rows at a time

    async def many() -> list[Any]:
        return await asyncio.gather(*(log.append({"kind": "test", "n": n}, exchange_id=None) for n in range(count)))

    assert len(asyncio.run(many())) == count
    assert log.verify() == count
    with log.database.write() as connection:
        connection.execute(update(audit_entries).where(audit_entries.c.idx == 5001).values(entry=b'{"kind":"x"}'))
    with pytest.raises(LogBroken) as caught:
        log.verify()
    assert caught.value.index == 5001


def test_a_failing_batch_fails_its_callers_and_the_log_recovers(open_log: OpenLog) -> None:
    log = open_log()
    log.append_now({"kind": "test", "n": 0})
    write_batch = log._write_batch
    failures = iter([True])

    def failing_once(records: list[_Record]) -> Any:
        if next(failures, False):
            raise AuditUnavailable(internal="disk full")
        return write_batch(records)

    log._write_batch = failing_once  # type: ignore[method-assign]

    async def attempt() -> list[Any]:
        return await asyncio.gather(
            *(log.append({"kind": "test", "n": n}, exchange_id=None) for n in range(1, 6)), return_exceptions=True
        )

    assert all(isinstance(result, AuditUnavailable) for result in asyncio.run(attempt()))
    assert [receipt.index for receipt in asyncio.run(attempt())] == [1, 2, 3, 4, 5]
    assert log.verify() == 6


# ---- tampering ------------------------------------------------------------------------------------


class Tampered:
    """A log of TAMPER_SIZE entries with checkpoints along the way, its rows kept to put back after each change."""

    def __init__(self, log: TransparencyLog) -> None:
        self.log = log
        with log.database.read() as connection:
            self.rows = {
                table.name: [dict(row._mapping) for row in connection.execute(select(table))] for table in TABLES
            }

    @property
    def checkpoints(self) -> list[dict[str, Any]]:
        return self.rows["audit_checkpoints"]

    @property
    def nodes(self) -> list[dict[str, Any]]:
        return self.rows["audit_nodes"]

    def entry_bytes(self, index: int) -> bytes:
        return bytes(self.rows["audit_entries"][index]["entry"])

    def restore(self) -> None:
        with self.log.database.write() as connection:
            for table in TABLES:
                connection.execute(delete(table))
            for table in TABLES:
                connection.execute(insert(table), self.rows[table.name])

    def broken(self, change: Callable[[Any], None]) -> LogBroken:
        with self.log.database.write() as connection:
            change(connection)
        try:
            with pytest.raises(LogBroken) as caught:
                self.log.verify()
        finally:
            self.restore()
        return caught.value


@pytest.fixture
def tampered(open_log: OpenLog, clock: FixedClock) -> Tampered:
    log = open_log(clock)
    for n in range(TAMPER_SIZE):
        if n % 9 == 0:
            clock.advance(5)
        log.append_now({"kind": "test", "n": n, "note": f"entry number {n}"}, exchange_id=f"ex-{n}")
    clock.advance(5)
    log.current_checkpoint()  # a checkpoint covers the very last entries too
    sizes = checkpoint_sizes(log)
    assert sizes[-1] == TAMPER_SIZE and len(sizes) > 3
    assert log.verify() == TAMPER_SIZE
    return Tampered(log)


TAMPER_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)


def test_untouched_log_verifies_and_counts(tampered: Tampered) -> None:
    calls: list[int] = []
    assert tampered.log.verify(progress=calls.append) == TAMPER_SIZE
    assert sum(calls) == TAMPER_SIZE


def test_flipping_any_byte_of_any_entry_is_caught_at_that_entry(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(index=st.integers(0, TAMPER_SIZE - 1), data=st.data())
    def check(index: int, data: st.DataObject) -> None:
        original = tampered.entry_bytes(index)
        position = data.draw(st.integers(0, len(original) - 1))
        bit = data.draw(st.integers(0, 7))
        changed = original[:position] + bytes([original[position] ^ (1 << bit)]) + original[position + 1 :]
        error = tampered.broken(
            lambda c: c.execute(update(audit_entries).where(audit_entries.c.idx == index).values(entry=changed))
        )
        assert error.index == index

    check()
    assert tampered.log.verify() == TAMPER_SIZE


def test_deleting_any_entry_is_caught(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(index=st.one_of(st.integers(0, TAMPER_SIZE - 1), st.sampled_from([TAMPER_SIZE - 1, TAMPER_SIZE - 2])))
    def check(index: int) -> None:
        error = tampered.broken(lambda c: c.execute(delete(audit_entries).where(audit_entries.c.idx == index)))
        assert error.index == index

    check()
    assert tampered.log.verify() == TAMPER_SIZE


def test_deleting_the_last_entries_with_their_nodes_is_caught_by_the_checkpoint(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(count=st.integers(1, 8))
    def check(count: int) -> None:
        first = TAMPER_SIZE - count

        leaves = sorted((node["idx"], bytes(node["hash"])) for node in tampered.nodes if node["level"] == 0)
        root = root_from_leaf_hashes([value for _index, value in leaves[:first]])

        def truncate(connection: Any) -> None:  # a consistent shorter tree: only the signed checkpoint tells
            connection.execute(delete(audit_entries).where(audit_entries.c.idx >= first))
            connection.execute(delete(audit_nodes).where(audit_nodes.c.leaf_end >= first))
            connection.execute(update(audit_head).values(size=first, root=root))

        tampered.broken(truncate)

    check()


def test_swapping_two_entries_is_caught_at_the_lower_one(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(pair=st.lists(st.integers(0, TAMPER_SIZE - 1), min_size=2, max_size=2, unique=True))
    def check(pair: list[int]) -> None:
        low, high = sorted(pair)

        def swap(connection: Any) -> None:
            for index, other in ((low, high), (high, low)):
                connection.execute(
                    update(audit_entries).where(audit_entries.c.idx == index).values(entry=tampered.entry_bytes(other))
                )

        assert tampered.broken(swap).index == low

    check()


def test_changing_any_stored_node_hash_is_caught(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(node=st.sampled_from(tampered.nodes), position=st.integers(0, 31))
    def check(node: dict[str, Any], position: int) -> None:
        value = bytearray(node["hash"])
        value[position] ^= 0x80
        error = tampered.broken(
            lambda c: c.execute(
                update(audit_nodes)
                .where(audit_nodes.c.level == node["level"], audit_nodes.c.idx == node["idx"])
                .values(hash=bytes(value))
            )
        )
        assert error.index == node["idx"] << node["level"]

    check()


def test_changing_a_checkpoint_size_or_root_line_is_caught(tampered: Tampered) -> None:
    @TAMPER_SETTINGS
    @given(checkpoint=st.sampled_from(tampered.checkpoints), line=st.sampled_from([1, 2]), data=st.data())
    def check(checkpoint: dict[str, Any], line: int, data: st.DataObject) -> None:
        lines = checkpoint["note"].split("\n")
        if line == 1:
            replacement = str(data.draw(st.integers(0, TAMPER_SIZE).filter(lambda n: n != checkpoint["size"])))
        else:
            other = data.draw(st.binary(min_size=32, max_size=32).filter(lambda r: r != checkpoint["root"]))
            replacement = base64.b64encode(other).decode()
        lines[line] = replacement
        note = "\n".join(lines)
        tampered.broken(
            lambda c: c.execute(
                update(audit_checkpoints).where(audit_checkpoints.c.size == checkpoint["size"]).values(note=note)
            )
        )

    check()


def test_changing_the_head_is_caught(tampered: Tampered) -> None:
    tampered.broken(lambda c: c.execute(update(audit_head).values(root=sha256(b"forged"))))
    tampered.broken(lambda c: c.execute(update(audit_head).values(size=TAMPER_SIZE - 3)))


def test_cli_verify_names_the_tampered_entry_and_passes_when_intact(
    tampered: Tampered, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("TONGBAN_"):
            monkeypatch.delenv(name)
    env = {"TONGBAN_VAR_DIR": str(tmp_path / "var"), "TONGBAN_DATABASE_URL": database_url}
    intact = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output
    assert f"intact: {TAMPER_SIZE} entries" in intact.stdout

    with tampered.log.database.write() as connection:
        connection.execute(update(audit_entries).where(audit_entries.c.idx == 17).values(entry=b'{"kind":"forged"}'))
    try:
        broken = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    finally:
        tampered.restore()
    assert broken.exit_code != 0
    assert broken.stderr.startswith("tongban: ") and broken.stderr.count("\n") == 1
    assert "entry 17" in broken.stderr


# ---- bodies ---------------------------------------------------------------------------------------


PLAINTEXT = json.dumps({"holder": "91440300MA5FXXXX0X", "类型": "营业执照", "secret": "do not store me"}).encode()


def test_kept_body_decrypts_back_and_is_not_stored_in_clear(open_log: OpenLog) -> None:
    log = open_log()
    log.append_now({"kind": "test"}, exchange_id="ex-body", body=BodyToKeep("request", PLAINTEXT))
    assert log.body("ex-body", "request") == PLAINTEXT
    assert log.body("ex-body", "response") is None
    with log.database.read() as connection:
        row = connection.execute(select(audit_bodies).where(audit_bodies.c.exchange_id == "ex-body")).one()
    assert PLAINTEXT not in bytes(row.ciphertext)
    assert b"do not store me" not in bytes(row.ciphertext)
    assert len(bytes(row.nonce)) == 12


def test_kept_body_does_not_open_with_another_key_or_under_another_exchange(open_log: OpenLog) -> None:
    log = open_log()
    log.append_now({"kind": "test"}, exchange_id="ex-body", body=BodyToKeep("response", PLAINTEXT))
    other_key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(BodyUnreadable):
        open_log(audit_body_key=other_key).body("ex-body", "response")
    with log.database.read() as connection:
        row = connection.execute(select(audit_bodies)).one()
    with pytest.raises(BodyUnreadable):
        log.body_cipher.open("ex-other", "response", bytes(row.ciphertext), bytes(row.nonce))
    with pytest.raises(BodyUnreadable):
        log.body_cipher.open("ex-body", "request", bytes(row.ciphertext), bytes(row.nonce))


def test_bodies_are_purged_after_retention_and_the_tree_still_verifies(
    open_log: OpenLog, clock: FixedClock, tmp_path: Path
) -> None:
    log = open_log(clock)
    days = default_settings(tmp_path).audit_body_retention_days
    log.append_now({"kind": "test", "n": 0}, exchange_id="ex-old", body=BodyToKeep("request", PLAINTEXT))
    clock.advance(timedelta(days=days - 1).total_seconds())
    log.append_now({"kind": "test", "n": 1}, exchange_id="ex-new", body=BodyToKeep("request", b"{}"))
    assert log.purge_bodies() == 0
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert log.purge_bodies() == 1
    assert log.body("ex-old", "request") is None
    assert log.body("ex-new", "request") == b"{}"
    assert log.entries_for("ex-old") == [(0, {"kind": "test", "n": 0})]
    assert log.verify() == 2


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.text()
    | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_canonical_entry_is_rfc8785_whichever_road_it_takes(entry: dict[str, Any]) -> None:
    import rfc8785

    try:
        expected = rfc8785.dumps(entry)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017
            canonical_entry(entry)
        return
    assert canonical_entry(entry) == expected


# ---- spent tokens travel with the entries ---------------------------------------------------------


def test_a_token_is_spent_once_with_its_entry_and_never_after_its_lifetime(
    open_log: OpenLog, clock: FixedClock
) -> None:
    from gateway.audit import TokenToSpend
    from gateway.errors import ReplayedToken, TokenExpired

    log = open_log(clock=clock)
    token = TokenToSpend("442000.zsgov.window", "jti-0001", clock.now() + timedelta(seconds=60))

    async def append(n: int, spend: TokenToSpend) -> Any:
        return await log.append({"kind": "test", "n": n}, exchange_id=f"ex-{n}", token=spend)

    first = asyncio.run(append(1, token))
    assert first is not None and first.index == 0
    with pytest.raises(ReplayedToken):
        asyncio.run(append(2, token))
    assert log.size() == 1  # the replay left no entry
    # Two copies in one batch: exactly one goes through.
    twin = TokenToSpend("442000.zsgov.window", "jti-0002", clock.now() + timedelta(seconds=60))

    async def both() -> list[Any]:
        return await asyncio.gather(append(3, twin), append(4, twin), return_exceptions=True)

    outcomes = asyncio.run(both())
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AuditReceipt", "ReplayedToken"]
    # A token whose lifetime ended before its exchange reached the log is refused, and not stored
    # (stored, the clean-up could forget it at once and a second copy would pass).
    late = TokenToSpend("442000.zsgov.window", "jti-0003", clock.now() - timedelta(seconds=1))
    with pytest.raises(TokenExpired):
        asyncio.run(append(5, late))
    # Only an entry-less spend: the token alone.
    alone = TokenToSpend("442000.zsgov.window", "jti-0004", clock.now() + timedelta(seconds=60))
    assert asyncio.run(log.append(None, exchange_id=None, token=alone)) is None
    with pytest.raises(ReplayedToken):
        asyncio.run(log.append(None, exchange_id=None, token=alone))
    assert log.verify() == 2
