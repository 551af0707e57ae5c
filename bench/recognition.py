"""Recognition benchmark: documents examined and validated per second, per document kind, on one core.

    python -m bench recognition [--seconds S] [--dir DIR]

Makes a sandbox (demo PKI, trust lists, CRLs, samples) in a scratch directory, loads the trust
lists, then verifies each city's valid sample of each kind over and over: examiner + path building
+ revocation (CRLs cached after the first fetch, as in the gateway) — not the HTTP face, not the
registry call. The figure is what one worker can recognise when the partners answer instantly.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trust
from adapters.sandbox_documents import prepare_sandbox
from catalogs import seed
from gateway.services.recognition import LICENCE_SERVICE_TYPES, SEAL_SERVICE_TYPES, examine_document
from gateway.settings import SANDBOX_TRUST_LIST_PATH

__all__ = ["RecognitionMeasurement", "main", "measure"]

BASE_URLS = {
    "440300": "http://sandbox.invalid:8081",
    "442000": "http://sandbox.invalid:8082",
    "150100": "http://sandbox.invalid:8083",
}


@dataclass(frozen=True)
class RecognitionMeasurement:
    kind: str  # e.g. "licence jws"
    documents: int
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time over the same span: steadier when others load the machine

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.documents / self.cpu_seconds if self.cpu_seconds else 0.0


def _fetcher(directory: Path) -> Callable[[str], Awaitable[bytes]]:
    async def fetch(url: str) -> bytes:  # the sandboxes' /pki files, read from disk
        for region, base in BASE_URLS.items():
            if url.startswith(f"{base}/pki/"):
                return (directory / "pki" / region / url[len(base) + len("/pki/") :]).read_bytes()
        raise OSError(f"not a sandbox URL: {url}")

    return fetch


async def _measure(directory: Path, seconds: float, limit: int | None) -> list[RecognitionMeasurement]:
    now = datetime.now(UTC)
    material = prepare_sandbox(directory, BASE_URLS, data=seed.generate(), now=now)
    fetch = _fetcher(directory)
    lists = trust.TrustLists(
        material.pki.trust_list_sources({r: f"{u}{SANDBOX_TRUST_LIST_PATH}" for r, u in BASE_URLS.items()})
    )
    await lists.refresh(fetch, now=now)
    revocation = trust.RevocationChecker(fetch)
    results = []
    kinds = sorted({(sample.kind, sample.format) for sample in material.samples})
    for kind, document_format in kinds:
        samples = [s for s in material.samples if (s.kind, s.format) == (kind, document_format) and s.case == "valid"]
        documents = [
            (
                (material.samples_dir / s.file).read_bytes(),
                (material.samples_dir / s.data_file).read_bytes() if s.data_file else None,
            )
            for s in samples
        ]
        types = SEAL_SERVICE_TYPES if kind == "seal" else LICENCE_SERVICE_TYPES
        done, started, cpu_started = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds and (limit is None or done < limit):
            document, data = documents[done % len(documents)]
            evidence = examine_document(document, document_format, data)
            report = await trust.validate_signature(
                evidence,
                trust_lists=lists,
                accepted_service_types=types,
                revocation=revocation,
                validation_time=datetime.now(UTC),
            )
            if not report.passed:
                raise RuntimeError(f"a valid sample did not pass: {report.messages}")
            done += 1
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        results.append(RecognitionMeasurement(f"{kind} {document_format}", done, elapsed, cpu))
    return results


def measure(
    seconds: float = 3.0, directory: Path | None = None, limit: int | None = None
) -> list[RecognitionMeasurement]:
    """One measurement per document kind (each city's valid sample in turn)."""
    if directory is not None:
        return asyncio.run(_measure(directory, seconds, limit))
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as scratch:
        return asyncio.run(_measure(Path(scratch), seconds, limit))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench recognition", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per document kind (default 3)")
    parser.add_argument("--dir", type=Path, default=None, help="keep the sandbox here (default: a scratch folder)")
    options = parser.parse_args(argv)
    results = measure(options.seconds, options.dir)
    print(f"Tongban recognition benchmark: one core, Python {platform.python_version()}, {platform.machine()}")
    print(f"SM2 verification: {trust.sm2_backend_in_use()} ({trust.SM2_BACKEND_VARIABLE}=auto|openssl|gmssl)")
    print(f"{'document':<14} {'verified':>9} {'per second':>11} {'per CPU second':>15}")
    for result in results:
        print(f"{result.kind:<14} {result.documents:>9} {result.rate:>11.1f} {result.cpu_rate:>15.1f}")
    return 0
