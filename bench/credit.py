"""Credit benchmark: signed credit reports issued, and verified, per second, in one process.

    python -m bench credit [--seconds S]

Starts the cities' sandboxes and a gateway (SQLite) on loopback in this process, registers a bank,
then for S seconds asks for reports one after another (POST /v1/credit/reports, purpose financing,
each Shenzhen, Zhongshan and Hohhot subject in turn), then for S seconds verifies them (POST
/v1/credit/reports/verify). Each request takes the whole path: the member's signed request checked,
the quota charged, the subject fetched from its city's sandbox credit platform through its adapter,
the report built, signed (ES256 JWS) and stored, the query trail and audit log written, the reply
signed; a verification checks the JWS and asks the platform whether the records are still current.
The client's signing and the sandboxes run in this process too, so the figure is what one core does
for the whole exchange, a floor for the gateway alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from catalogs import seed
from gateway.demo import own_gateway

__all__ = ["CreditMeasurement", "main", "measure"]

BANK = "442000.bench.bank"


@dataclass(frozen=True)
class CreditMeasurement:
    what: str  # "issue" or "verify"
    requests: int
    seconds: float
    cpu_seconds: float  # this process's CPU time over the same span (gateway, sandboxes and client)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.requests / self.cpu_seconds if self.cpu_seconds else 0.0


def _bank(settings: Any, keys: Path) -> Any:
    from gateway.client import MemberCredentials, make_member_certificate
    from gateway.clock import SystemClock
    from gateway.registry import add_member, grant
    from gateway.storage import Database

    key_pem, cert_pem = make_member_certificate(BANK)
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "bank.key").write_bytes(key_pem)
    database = Database(settings.database_url)
    database.migrate()
    try:
        with database.write() as connection:
            now = SystemClock().now()
            add_member(connection, BANK, cert_pem, name="bench", now=now)
            grant(connection, BANK, "credit.query", now=now)
    finally:
        database.dispose()
    return MemberCredentials.from_pem_file(BANK, keys / "bank.key")


def _run(
    http: httpx.Client,
    url: str,
    bank: Any,
    audience: str,
    path: str,
    bodies: list[bytes],
    seconds: float,
    limit: int | None,
) -> tuple[CreditMeasurement, list[dict[str, Any]]]:
    answers: list[dict[str, Any]] = []
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds and (limit is None or done < limit):
        body = bodies[done % len(bodies)]
        headers = bank.signed_headers(
            "POST", url + path, body, audience=audience, headers={"content-type": "application/json"}
        )
        response = http.post(url + path, headers=headers, content=body)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path}: HTTP {response.status_code} {response.text}")
        answers.append(response.json())
        done += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return CreditMeasurement(path.rsplit("/", 1)[-1], done, elapsed, cpu), answers


def measure(seconds: float = 5.0, limit: int | None = None) -> list[CreditMeasurement]:
    """Reports issued, then verified (each must verify valid): two measurements."""
    data = seed.generate()
    codes = [s.uscc for city in data.cities for s in city.credit_subjects]
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as scratch:
        var_dir = Path(scratch) / "var"
        quota = {"credit_quota_per_window": 10_000_000}  # the benchmark measures the work, not the quota
        with own_gateway(var_dir, **quota) as (url, settings), httpx.Client(timeout=30, trust_env=False) as http:
            bank = _bank(settings, var_dir / "bench-keys")
            audience = http.get(f"{url}/.well-known/tongban").json()["gateway_id"]
            asks = [json.dumps({"subject_code": code, "purpose": "financing"}).encode() for code in codes]
            issued, reports = _run(http, url, bank, audience, "/v1/credit/reports", asks, seconds, limit)
            checks = [json.dumps({"signed_report": report["signed_report"]}).encode() for report in reports]
            verified, verdicts = _run(http, url, bank, audience, "/v1/credit/reports/verify", checks, seconds, limit)
    not_valid = [verdict for verdict in verdicts if verdict["verdict"] != "valid"]
    if not_valid:
        raise RuntimeError(f"a report just issued did not verify valid: {not_valid[0]}")
    return [
        CreditMeasurement("issue", issued.requests, issued.seconds, issued.cpu_seconds),
        CreditMeasurement("verify", verified.requests, verified.seconds, verified.cpu_seconds),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench credit", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="for issuing, and again for verifying (default 5)")
    options = parser.parse_args(argv)
    results = measure(options.seconds)
    print(f"Tongban credit benchmark: one process, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'reports':<8} {'requests':>9} {'per second':>11} {'per CPU second':>15}")
    for result in results:
        print(f"{result.what:<8} {result.requests:>9} {result.rate:>11.1f} {result.cpu_rate:>15.1f}")
    return 0
