"""The signed relay under load, beside a bare pass-through proxy, in one run on one machine.

On loopback it starts a trivial partner system (bench/_upstream.py), the gateway (`tongban serve`,
SQLite under a scratch folder; PostgreSQL too when a URL is given) and a bare aiohttp pass-through
proxy (bench/_bare_proxy.py), each with the same number of worker processes. wrk replays
pre-signed requests (bench/replay.lua): every gateway request carries its own jti and RFC 9421
signature, so none is refused as a replay. Each target is loaded at concurrency 1 and 32.

Measured per target: requests per second, p50/p99 latency, CPU milliseconds per request (every
process of the target, from /proc), peak RSS per worker; for the gateway also the SOAP face
(ListMembers with WS-Security) and the checkpoint lag under load (from an entry being durable to
a signed checkpoint covering it).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = ["HEADLINE", "LoadResult", "TargetResult", "ensure_wrk", "format_table", "machine", "main", "run"]

HERE = Path(__file__).resolve().parent
LUA = HERE / "replay.lua"
PROVIDER = "440300.bench.provider"
CLIENT = "442000.bench.window"
SOAP_CLIENT = "442000.bench.soap"
SERVICE_CODE = "echo"
HEADLINE = (
    "full_rps",
    "bare_rps",
    "ratio",
    "added_p50_ms",
    "added_p99_ms",
    "soap_rps",
    "checkpoint_lag_s",
    "peak_rss_mb_per_worker",
    "cpu_ms_per_request",
    "postgres_full_rps",
    "postgres_vs_sqlite",
    "machine",
)
BODY_BYTES = 1024


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_ms_per_request: float | None = None


@dataclass
class TargetResult:
    name: str
    loads: dict[int, LoadResult] = field(default_factory=dict)
    peak_rss_mb_per_worker: float | None = None


# ---- machine and tools ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "python": sys.version.split()[0]}


def ensure_wrk() -> str:
    """The wrk binary; installed from the distribution's packages when missing (root, apt-get)."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        _say("wrk is missing: installing it with apt-get")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench: wrk is needed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0, trust_env=False).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {seconds} s")


# ---- processes and their CPU ---------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    queue.extend(int(child) for child in (task / "children").read_text().split())
    return found


def _cpu_seconds(pids: Sequence[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def _process(arguments: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[int]:
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(arguments, env=env, stdout=output, stderr=output, start_new_session=True)
    try:
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if log:
            output.close()  # type: ignore[union-attr]


# ---- requests ------------------------------------------------------------------------------------


def _body(number: int) -> bytes:
    """A 1 KiB JSON application, different for every request."""
    head = json.dumps({"application": number, "item": "企业设立登记", "note": ""}, ensure_ascii=False).encode()
    return head[:-2] + b"x" * (BODY_BYTES - len(head)) + head[-2:]


def _raw_request(method: str, host: str, path: str, headers: Any, body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _sign_rest_batch(arguments: tuple[bytes, str, str, str, int, int]) -> list[bytes]:
    from cryptography.hazmat.primitives import serialization

    from gateway.client import MemberCredentials

    key_pem, host, path, audience, start, count = arguments
    key = serialization.load_pem_private_key(key_pem, password=None)
    credentials = MemberCredentials(CLIENT, key)  # type: ignore[arg-type]
    url = f"http://{host}{path}"
    out = []
    for number in range(start, start + count):
        body = _body(number)
        headers = credentials.signed_headers(
            "POST", url, body, audience=audience, headers={"content-type": "application/json"}
        )
        out.append(_raw_request("POST", host, path, headers, body))
    return out


def _sign_soap_batch(arguments: tuple[bytes, bytes, str, int]) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from lxml import etree

    from trust import sign_envelope

    key_pem, cert_pem, host, count = arguments
    key = serialization.load_pem_private_key(key_pem, password=None)
    certificate = x509.load_pem_x509_certificate(cert_pem)
    out = []
    for _ in range(count):
        envelope = etree.fromstring(
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            b'xmlns:tb="urn:tongban:gateway:v1"><soap:Body><tb:ListMembers/></soap:Body></soap:Envelope>'
        )
        sign_envelope(envelope, private_key=key, certificate=certificate, now=datetime.now(UTC))  # type: ignore[arg-type]
        body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"ListMembers"'}
        out.append(_raw_request("POST", host, "/soap", headers, body))
    return out


def _write_request_files(prefix: Path, requests: list[bytes], threads: int) -> None:
    for number in range(threads):
        mine = requests[number::threads]
        prefix.with_name(f"{prefix.name}.{number}").write_bytes(b"\0".join(mine) + b"\0")


def _parallel(function: Any, jobs: list[Any]) -> list[bytes]:
    with multiprocessing.get_context("fork").Pool(min(len(jobs), os.cpu_count() or 1)) as pool:
        return [request for batch in pool.map(function, jobs) for request in batch]


# ---- wrk -----------------------------------------------------------------------------------------


def _wrk(wrk: str, url: str, *, concurrency: int, seconds: float, prefix: Path | None) -> dict[str, Any]:
    threads = min(concurrency, 2)
    arguments = [
        wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    if prefix is not None:
        arguments += ["--", str(prefix)]
    completed = subprocess.run(arguments, capture_output=True, text=True, check=False)
    match = re.search(r"^WRK-JSON (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed: {completed.stdout}\n{completed.stderr}")
    return dict(json.loads(match.group(1)))


def _load(
    wrk: str,
    url: str,
    pids: Sequence[int],
    *,
    concurrency: int,
    seconds: float,
    prefix: Path | None,
) -> LoadResult:
    before = _cpu_seconds(pids)
    raw = _wrk(wrk, url, concurrency=concurrency, seconds=seconds, prefix=prefix)
    cpu = _cpu_seconds(pids) - before
    requests = int(raw["requests"])
    socket_errors = sum(int(raw[k]) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))
    return LoadResult(
        concurrency=concurrency,
        requests=requests,
        seconds=round(raw["seconds"], 3),
        rps=round(requests / raw["seconds"], 1),
        p50_ms=round(raw["p50_us"] / 1000, 3),
        p99_ms=round(raw["p99_us"] / 1000, 3),
        non_2xx=int(raw["errors_status"]),
        socket_errors=socket_errors,
        cpu_ms_per_request=round(cpu * 1000 / requests, 3) if requests else None,
    )


# ---- the gateway ---------------------------------------------------------------------------------


def _gateway_env(folder: Path, port: int, workers: int, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TONGBAN_VAR_DIR": str(folder / "var"),
            "TONGBAN_DATABASE_URL": database_url,
            "TONGBAN_PORT": str(port),
            "TONGBAN_WORKERS": str(workers),
            "TONGBAN_LOG_LEVEL": "WARNING",
            "TONGBAN_TRUST_LIST_URLS": "{}",
            "TONGBAN_PARTNER_URLS": "{}",
        }
    )
    env.pop("TONGBAN_CONFIG", None)
    return env


def _register(env: dict[str, str], upstream_url: str) -> tuple[bytes, bytes, bytes]:
    """Members, the echo service and the right to call it; (client key, SOAP key, SOAP cert) PEMs."""
    from gateway.client import make_member_certificate
    from gateway.registry import add_member, add_service, grant
    from gateway.settings import load_settings
    from gateway.storage import Database

    settings = load_settings(**{"var_dir": env["TONGBAN_VAR_DIR"], "database_url": env["TONGBAN_DATABASE_URL"]})
    database = Database(settings.database_url)
    database.migrate()
    now = datetime.now(UTC)
    client_key, client_cert = make_member_certificate(CLIENT)
    _provider_key, provider_cert = make_member_certificate(PROVIDER)
    soap_key, soap_cert = make_member_certificate(SOAP_CLIENT, algorithm="ecdsa-p256")
    try:
        with database.write() as connection:
            add_member(connection, PROVIDER, provider_cert, now=now)
            add_member(connection, CLIENT, client_cert, now=now)
            add_member(connection, SOAP_CLIENT, soap_cert, now=now)
            add_service(connection, PROVIDER, SERVICE_CODE, url=upstream_url, now=now)
            grant(connection, CLIENT, f"{PROVIDER}/{SERVICE_CODE}", now=now)
    finally:
        database.dispose()
    return client_key, soap_key, soap_cert


def _audit_size(database_url: str) -> int:
    from sqlalchemy import select

    from gateway.storage import Database, audit_head

    database = Database(database_url)
    try:
        with database.read() as connection:
            return int(connection.execute(select(audit_head.c.size)).scalar_one())
    finally:
        database.dispose()


def _checkpoint_size(url: str) -> int:
    text = httpx.get(f"{url}/v1/audit/checkpoint", timeout=5.0, trust_env=False).text
    return int(text.split("\n")[1])


def _watch_checkpoint_lag(url: str, database_url: str, stop: threading.Event, lags: list[float]) -> None:
    """Until stopped: note the durable log size, then time how long until a checkpoint covers it."""
    while not stop.is_set():
        size = _audit_size(database_url)
        noted = time.monotonic()
        while not stop.is_set() and time.monotonic() - noted < 30:
            with contextlib.suppress(httpx.HTTPError, ValueError, IndexError):
                if _checkpoint_size(url) >= size:
                    lags.append(time.monotonic() - noted)
                    break
            time.sleep(0.05)  # light: the watcher's own calls land on the gateway under test
        stop.wait(0.5)


def _measure_gateway(
    name: str,
    wrk: str,
    folder: Path,
    database_url: str,
    upstream_url: str,
    *,
    workers: int,
    seconds: float,
    expected_rps: float,
    soap: bool,
) -> tuple[TargetResult, dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    host = f"127.0.0.1:{port}"
    env = _gateway_env(folder, port, workers, database_url)
    client_key, soap_key, soap_cert = _register(env, upstream_url)
    tongban = str(Path(sys.executable).with_name("tongban"))
    result = TargetResult(name)
    extra: dict[str, Any] = {}
    with _process([tongban, "serve"], env=env, log=folder / f"{name}.log") as pid:
        _wait_for(f"http://{host}/readyz")
        audience = httpx.get(f"http://{host}/.well-known/tongban", trust_env=False).json()["gateway_id"]
        path = f"/v1/exchange/{PROVIDER}/{SERVICE_CODE}/applications"
        for concurrency in (1, 32):
            # Enough unique requests for the whole run at the expected rate, with room to spare.
            count = int(max(expected_rps if concurrency > 1 else expected_rps / 4, 200) * seconds * 1.5) + 100
            _say(f"  {name}: signing {count} requests for c={concurrency}")
            per_job = max(1, count // (os.cpu_count() or 1))
            jobs = [(client_key, host, path, audience, start, per_job) for start in range(0, count, per_job)]
            prefix = folder / f"{name}-c{concurrency}.req"
            _write_request_files(prefix, _parallel(_sign_rest_batch, jobs), min(concurrency, 2))
            stop, lags = threading.Event(), list[float]()
            watcher = threading.Thread(
                target=_watch_checkpoint_lag, args=(f"http://{host}", database_url, stop, lags), daemon=True
            )
            if concurrency > 1:
                watcher.start()
            load = _load(
                wrk, f"http://{host}", _descendants(pid), concurrency=concurrency, seconds=seconds, prefix=prefix
            )
            stop.set()
            if watcher.is_alive():
                watcher.join()
            result.loads[concurrency] = load
            if concurrency > 1:
                extra["checkpoint_lag_s"] = round(max(lags), 3) if lags else None
            _say(f"  {name}: c={concurrency} {load.rps} req/s, p50 {load.p50_ms} ms, non-2xx {load.non_2xx}")
        if soap:
            count = int(max(expected_rps / 2, 200) * seconds * 1.5) + 100
            _say(f"  {name}: signing {count} SOAP requests")
            per_job = max(1, count // (os.cpu_count() or 1))
            soap_jobs = [(soap_key, soap_cert, host, per_job) for _ in range(0, count, per_job)]
            prefix = folder / f"{name}-soap.req"
            _write_request_files(prefix, _parallel(_sign_soap_batch, soap_jobs), 2)
            soap_load = _load(wrk, f"http://{host}", _descendants(pid), concurrency=32, seconds=seconds, prefix=prefix)
            extra["soap"] = asdict(soap_load)
            _say(f"  {name}: SOAP c=32 {soap_load.rps} req/s, non-2xx {soap_load.non_2xx}")
        workers_pids = [p for p in _descendants(pid) if p != pid]
        rss = [_peak_rss_mb(p) for p in workers_pids]
        result.peak_rss_mb_per_worker = round(max(rss), 1) if rss else None
    return result, extra


def _measure_plain(
    name: str, wrk: str, url: str, pid: int, *, seconds: float, body_prefix: Path, workers: int
) -> TargetResult:
    result = TargetResult(name)
    for concurrency in (1, 32):
        result.loads[concurrency] = _load(
            wrk, url, _descendants(pid), concurrency=concurrency, seconds=seconds, prefix=body_prefix
        )
        _say(f"  {name}: c={concurrency} {result.loads[concurrency].rps} req/s")
    rss = [_peak_rss_mb(p) for p in _descendants(pid) if p != pid] if workers > 1 else [_peak_rss_mb(pid)]
    result.peak_rss_mb_per_worker = round(max(rss), 1) if rss else None
    return result


def _plain_requests(folder: Path, host: str, name: str) -> Path:
    """Unsigned POSTs of the same body for the direct and bare-proxy runs (replays do not matter there)."""
    path = f"/v1/exchange/{PROVIDER}/{SERVICE_CODE}/applications"
    requests = [
        _raw_request("POST", host, path, {"Content-Type": "application/json"}, _body(number)) for number in range(1000)
    ]
    prefix = folder / f"{name}.req"
    _write_request_files(prefix, requests, 2)
    return prefix


# ---- the run -------------------------------------------------------------------------------------


def run(
    *, seconds: float = 10.0, workers: int = 2, postgres_url: str | None = None, soap: bool = True
) -> dict[str, Any]:
    wrk = ensure_wrk()
    python = sys.executable
    results: dict[str, Any] = {"machine": machine(), "workers": workers, "seconds_per_load": seconds}
    targets: list[TargetResult] = []
    with tempfile.TemporaryDirectory(prefix="tongban-bench-relay-") as scratch:
        folder = Path(scratch)
        upstream_port = free_port()
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        with _process([python, "-m", "bench._upstream", str(upstream_port)], log=folder / "upstream.log") as up_pid:
            _wait_for(upstream_url)
            _say("direct (the partner system, no proxy)")
            direct = _measure_plain(
                "direct",
                wrk,
                upstream_url,
                up_pid,
                seconds=min(seconds, 5),
                body_prefix=_plain_requests(folder, f"127.0.0.1:{upstream_port}", "direct"),
                workers=1,
            )
            targets.append(direct)
            bare_port = free_port()
            bare_url = f"http://127.0.0.1:{bare_port}"
            arguments = [python, "-m", "bench._bare_proxy", str(bare_port), upstream_url, str(workers)]
            with _process(arguments, log=folder / "bare.log") as bare_pid:
                _wait_for(bare_url + "/")
                _say("bare proxy (aiohttp pass-through)")
                bare = _measure_plain(
                    "bare_proxy",
                    wrk,
                    bare_url,
                    bare_pid,
                    seconds=seconds,
                    body_prefix=_plain_requests(folder, f"127.0.0.1:{bare_port}", "bare"),
                    workers=workers,
                )
                targets.append(bare)
            _say("gateway, SQLite")
            gateway, extra = _measure_gateway(
                "gateway_sqlite",
                wrk,
                folder / "sqlite",
                f"sqlite:///{folder / 'sqlite' / 'var' / 'tongban.db'}",
                upstream_url,
                workers=workers,
                seconds=seconds,
                expected_rps=bare.loads[32].rps,
                soap=soap,
            )
            targets.append(gateway)
            if postgres_url:
                from bench.audit import scratch_database

                with scratch_database(postgres_url) as url:
                    _say("gateway, PostgreSQL")
                    pg, pg_extra = _measure_gateway(
                        "gateway_postgres",
                        wrk,
                        folder / "postgres",
                        url,
                        upstream_url,
                        workers=workers,
                        seconds=seconds,
                        expected_rps=bare.loads[32].rps,
                        soap=False,
                    )
                    targets.append(pg)
                    results["postgres_full_rps"] = pg.loads[32].rps
                    results["postgres_checkpoint_lag_s"] = pg_extra.get("checkpoint_lag_s")
    full, bare_result, direct_result = gateway.loads, targets[1].loads, targets[0].loads
    results.update(
        {
            "full_rps": full[32].rps,
            "bare_rps": bare_result[32].rps,
            "ratio": round(full[32].rps / bare_result[32].rps, 3) if bare_result[32].rps else None,
            "added_p50_ms": round(full[1].p50_ms - direct_result[1].p50_ms, 3),
            "added_p99_ms": round(full[1].p99_ms - direct_result[1].p99_ms, 3),
            "added_over_bare_p50_ms": round(full[1].p50_ms - bare_result[1].p50_ms, 3),
            "soap_rps": extra.get("soap", {}).get("rps"),
            "checkpoint_lag_s": extra.get("checkpoint_lag_s"),
            "peak_rss_mb_per_worker": gateway.peak_rss_mb_per_worker,
            "cpu_ms_per_request": full[32].cpu_ms_per_request,
            "bare_cpu_ms_per_request": bare_result[32].cpu_ms_per_request,
            "non_2xx": sum(load.non_2xx for load in full.values()),
            "targets": {target.name: asdict(target) for target in targets},
        }
    )
    if "postgres_full_rps" in results and results["full_rps"]:
        results["postgres_vs_sqlite"] = round(results["postgres_full_rps"] / results["full_rps"], 3)
    return results


def format_table(results: dict[str, Any]) -> str:
    rows = [
        f"{'target':<18} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10} {'non-2xx':>8}",
    ]
    for name, target in results["targets"].items():
        for concurrency, load in sorted(target["loads"].items(), key=lambda item: int(item[0])):
            cpu = load["cpu_ms_per_request"]
            rows.append(
                f"{name:<18} {concurrency:>3} {load['rps']:>9.1f} {load['p50_ms']:>8.2f} {load['p99_ms']:>8.2f} "
                f"{(f'{cpu:.3f}' if cpu is not None else '-'):>10} {load['non_2xx']:>8}"
            )
    rows.append("")
    for key in HEADLINE:
        if key in results:
            rows.append(f"{key:<24} {results[key]}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench relay", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each proxy (default 2)")
    parser.add_argument("--postgres", default=os.environ.get("TONGBAN_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-soap", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    options = parser.parse_args(argv)
    results = run(
        seconds=options.seconds, workers=options.workers, postgres_url=options.postgres, soap=not options.no_soap
    )
    print(format_table(results))
    if options.out:
        options.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
