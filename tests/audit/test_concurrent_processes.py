"""Two `tongban serve` processes appending to one audit log at once: one entry per acknowledged step, a sound tree."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LoopbackServer, free_port
from sqlalchemy import create_engine, select

from gateway.audit import BodyCipher
from gateway.client import MemberCredentials
from gateway.storage import audit_entries, audit_head

BIN = Path(sys.executable).parent
CLIENT = "442000.zsgov.window"
PROVIDER = "440300.szamr.licence"
CALLS = 150
THREADS = 8


def _load_upstream() -> Any:
    """The loopback partner app of tests/gateway (that folder is on sys.path only when its tests are collected)."""
    if "upstream" not in sys.modules:
        spec = importlib.util.spec_from_file_location("upstream", Path(__file__).parents[1] / "gateway" / "upstream.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["upstream"] = module
        spec.loader.exec_module(module)
    return sys.modules["upstream"]


def tongban(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "tongban"), *args], env=env, capture_output=True, text=True, timeout=60)


class ServedGateway:
    """One `tongban serve --workers 1` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._output = log.open("w")
        self.process = subprocess.Popen(
            [str(BIN / "tongban"), "serve", "--workers", "1", "--port", str(self.port)],
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/readyz", trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"tongban serve on {self.port} did not become ready:\n{self.log.read_text()}")
            time.sleep(0.1)

    def interrupt(self, timeout: float = 20) -> int:
        """Ctrl-C, as an operator stops it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            self._output.close()


@pytest.fixture
def two_gateways(tmp_path: Path, database_url: str) -> Iterator[tuple[list[ServedGateway], dict[str, str]]]:
    """Two gateway processes with one database and one var directory (so one set of keys)."""
    env = {
        **os.environ,
        "TONGBAN_VAR_DIR": str(tmp_path / "var"),
        "TONGBAN_DATABASE_URL": database_url,
        "TONGBAN_LOG_LEVEL": "WARNING",
    }
    env.pop("TONGBAN_CONFIG", None)
    gateways: list[ServedGateway] = []
    try:
        # Both at once on a fresh var dir and database: they migrate and make the keys together.
        gateways.extend(ServedGateway(env, tmp_path / f"serve-{name}.log") for name in ("a", "b"))
        for gateway in gateways:
            gateway.wait_ready()
        yield gateways, env
    finally:
        for gateway in gateways:
            gateway.interrupt()


def _register(env: dict[str, str], tmp_path: Path, upstream_url: str) -> MemberCredentials:
    for member in (CLIENT, PROVIDER):
        keys = tmp_path / member
        made = tongban("members", "keygen", member, "--out", str(keys), env=env)
        assert made.returncode == 0, made.stderr
        added = tongban("members", "add", member, "--cert", str(keys / "cert.pem"), env=env)
        assert added.returncode == 0, added.stderr
    published = tongban("services", "add", PROVIDER, "licences", "--url", upstream_url, env=env)
    assert published.returncode == 0, published.stderr
    granted = tongban("access", "grant", CLIENT, f"{PROVIDER}/licences", env=env)
    assert granted.returncode == 0, granted.stderr
    return MemberCredentials.from_pem_file(CLIENT, tmp_path / CLIENT / "key.pem")


def _fire(urls: list[str], credentials: MemberCredentials, audience: str) -> list[tuple[int, str, str]]:
    """CALLS signed relay POSTs from THREADS threads, alternating gateways: (status, exchange id, gateway url)."""

    def one(number: int) -> tuple[int, str, str]:
        base = urls[number % len(urls)]
        url = f"{base}/v1/exchange/{PROVIDER}/licences/echo/{number}"
        body = json.dumps({"n": number, "类型": "营业执照"}, ensure_ascii=False).encode()
        headers = credentials.signed_headers(
            "POST", url, body, audience=audience, headers={"Content-Type": "application/json"}
        )
        response = httpx.post(url, headers=headers, content=body, timeout=30, trust_env=False)
        if response.status_code == 200:
            assert response.json()["body"].encode() == body
        return response.status_code, response.headers.get("x-tongban-exchange-id", ""), base

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(CALLS)))


def test_concurrent_appends_from_two_processes_keep_one_entry_per_step_and_a_sound_tree(
    two_gateways: tuple[list[ServedGateway], dict[str, str]],
    database_url: str,
    tmp_path: Path,
    serve: Callable[..., LoopbackServer],
) -> None:
    gateways, env = two_gateways
    upstream = _load_upstream().Upstream()
    partner = serve(upstream.app)
    credentials = _register(env, tmp_path, partner.url + "/api")
    audience = httpx.get(gateways[0].url + "/.well-known/tongban", trust_env=False).json()["gateway_id"]

    results = _fire([gateway.url for gateway in gateways], credentials, audience)

    statuses = Counter(status for status, _id, _url in results)
    acknowledged = [exchange_id for status, exchange_id, _url in results if status == 200]
    assert statuses == {200: CALLS}, f"not every call was answered: {statuses}"
    assert len(set(acknowledged)) == len(acknowledged)
    assert {url for status, _id, url in results if status == 200} == {g.url for g in gateways}
    assert upstream.calls.total() == CALLS

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(audit_entries.c.idx, audit_entries.c.exchange_id, audit_entries.c.kind).order_by(
                    audit_entries.c.idx
                )
            ).all()
            head = connection.execute(select(audit_head.c.size).where(audit_head.c.id == 1)).scalar_one()
    finally:
        engine.dispose()
    indexes = [row.idx for row in rows]
    assert indexes == list(range(len(rows))), "the log has gaps or duplicate indexes"
    assert head == len(rows)
    by_exchange: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        by_exchange[row.exchange_id].append((row.idx, row.kind))
    for exchange_id in acknowledged:
        steps = by_exchange[exchange_id]
        kinds = [kind for _idx, kind in steps]
        assert kinds == ["exchange.request", "exchange.response"], f"{exchange_id}: {steps}"
    assert len(rows) >= 2 * CALLS

    verified = tongban("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert f"{len(rows)} entries" in verified.stdout

    for gateway in gateways:
        assert gateway.interrupt() == 0, gateway.log.read_text()


def _first_start(barrier: Any, key_file: Path, results: Any) -> None:
    barrier.wait()
    try:
        cipher = BodyCipher.from_setting("", key_file)
        results.put(cipher.seal("exchange", "request", b"probe", bytes(12)).hex())
    except Exception as exc:
        results.put(repr(exc))


def test_processes_starting_together_share_one_audit_body_key(tmp_path: Path) -> None:
    """First start on a fresh var dir (two `serve`s, or the workers of `serve --workers N`): every process
    ends up with the one key that won, none reads a half-written file or dies on the other's file."""
    context = multiprocessing.get_context("fork")  # children start at once from one barrier
    for attempt in range(10):
        key_file = tmp_path / str(attempt) / "keys" / "audit-body.key"
        barrier, results = context.Barrier(4), context.Queue()
        children = [context.Process(target=_first_start, args=(barrier, key_file, results)) for _ in range(4)]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=30) for _ in children]
        for child in children:
            child.join(timeout=30)
        assert len(set(outcomes)) == 1 and "Error" not in outcomes[0], outcomes
