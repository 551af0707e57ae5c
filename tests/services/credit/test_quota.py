"""The credit quota is exact across processes: each process has its own engine, the count is one
row per (member, purpose, window) in the shared database, taken with a conditional UPDATE."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from gateway import errors
from gateway.services.credit._store import charge_quota
from gateway.storage import Database

NOW = datetime(2026, 12, 7, 10, 15, 30, tzinfo=UTC)


def test_concurrent_charges_from_several_engines_never_exceed_the_limit(database_url: str) -> None:
    engines = [Database(database_url) for _ in range(3)]
    engines[0].migrate()
    try:

        def charge(index: int) -> int:
            try:
                charge_quota(
                    engines[index % 3], "440300.bank.loans", "financing", 1, limit=20, window_seconds=3600, now=NOW
                )
            except errors.QuotaExceeded:
                return 0
            return 1

        with ThreadPoolExecutor(max_workers=12) as pool:
            granted = sum(pool.map(charge, range(60)))
        assert granted == 20
        with pytest.raises(errors.QuotaExceeded) as refused:
            charge_quota(engines[1], "440300.bank.loans", "financing", 1, limit=20, window_seconds=3600, now=NOW)
        assert refused.value.retry_after == 3600 - (15 * 60 + 30)
        # The next window starts afresh; another purpose counts on its own.
        later = charge_quota(
            engines[2], "440300.bank.loans", "financing", 3, limit=20, window_seconds=3600, now=NOW.replace(hour=11)
        )
        assert (later.limit, later.remaining) == (20, 17)
        assert (
            charge_quota(
                engines[0], "440300.bank.loans", "supervision", 20, limit=20, window_seconds=3600, now=NOW
            ).remaining
            == 0
        )
    finally:
        for engine in engines:
            engine.engine.dispose()
