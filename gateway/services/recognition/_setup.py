"""Recognition's state in a running gateway: the cities' trust lists and licence formats, built once
per process, and the schedule that keeps the trust lists fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives import serialization

import trust
from gateway import errors
from gateway.logs import log as logger
from gateway.services.recognition._recognition import Recognition, http_fetch
from gateway.settings import Settings
from gateway.storage import Database

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["recognition_for", "refresh_trust_lists", "setup", "shutdown"]

RETRY_TRUST_LISTS_SECONDS = 5.0


def recognition_for(
    settings: Settings, now: Callable[[], datetime], database: Database | None = None
) -> Recognition | None:
    """Trust lists (one per configured city whose operator certificate we hold) and the cities'
    licence formats; None when no city can be trusted (the endpoints then answer 503)."""
    from cryptography import x509

    from adapters.licence_formats import licence_formats

    sources, untrusted = [], []
    for city, url in sorted(settings.trust_list_urls.items()):
        path = settings.trust_list_operator_path(city)
        if not path.is_file():
            if city in settings.trust_list_operators:
                raise errors.ConfigurationError(f"trust_list_operators: {path} (city {city}) does not exist")
            untrusted.append(city)
            continue
        try:
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError as exc:
            raise errors.ConfigurationError(f"{path} is not a PEM certificate (trust-list operator of {city})") from exc
        sources.append(trust.TrustListSource(city, url, certificate.public_bytes(serialization.Encoding.DER)))
    if not sources:
        logger.warning("no trust-list operator certificates: licence and seal recognition is off")
        return None
    http = httpx.AsyncClient(timeout=settings.trust_fetch_timeout_seconds, trust_env=False)

    async def fetch(url: str) -> bytes:
        return await http_fetch(http, url, timeout=settings.trust_fetch_timeout_seconds)

    return Recognition(
        trust_lists=trust.TrustLists(sources),
        revocation=trust.RevocationChecker(fetch),
        fetch=fetch,
        formats=licence_formats(),
        clock_now=now,
        untrusted_cities=tuple(untrusted),
        fetch_timeout_seconds=settings.trust_fetch_timeout_seconds,
        database=database,
        http=http,
    )


def setup(runtime: Runtime) -> Recognition | None:
    return recognition_for(runtime.settings, runtime.clock.now, runtime.database)


async def refresh_trust_lists(runtime: Runtime) -> None:
    """Refresh the cities' trust lists on a schedule; sooner while a city has no good list yet.
    First take up the lists an earlier run stored: the gateway keeps working on them until their
    next-update even if no publisher answers now."""
    recognition = runtime.services.get("recognition")
    if recognition is None:
        return
    every_seconds = runtime.settings.trust_list_refresh_seconds
    try:
        restored = await asyncio.to_thread(recognition.restore)
        if restored:
            logger.info("trust lists taken up from the database: %s", ", ".join(restored))
    except Exception:  # a database hiccup must not stop the refresher
        logger.exception("stored trust lists could not be read")
    while True:
        try:
            results = await recognition.refresh()
        except Exception:  # the refresher must outlive any one bad fetch
            logger.exception("trust-list refresh failed; trying again")
            results = ()
        failed = [result for result in results if result.outcome in ("fetch_failed", "rejected")]
        for result in failed:
            logger.warning("trust list of %s not refreshed (%s): %s", result.city, result.outcome, result.detail)
        await asyncio.sleep(min(every_seconds, RETRY_TRUST_LISTS_SECONDS) if failed or not results else every_seconds)


async def shutdown(runtime: Runtime) -> None:
    recognition = runtime.services.get("recognition")
    if recognition is not None:
        await recognition.aclose()
