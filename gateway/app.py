"""The app factory: the one place where settings, storage, keys, audit, pipeline and faces are wired."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

import trust
from gateway import errors
from gateway.faces import SigningMiddleware
from gateway.faces.rest import install_error_handlers, read_body, rest_router, target_uri
from gateway.faces.soap import soap_router
from gateway.logs import configure_logging
from gateway.logs import log as logger
from gateway.partners import PartnerDirectory
from gateway.pipeline import Pipeline
from gateway.runtime import Runtime
from gateway.services import domain_services
from gateway.settings import Settings, load_settings

__all__ = ["create_app"]

PURGE_EVERY_SECONDS = 3600.0

DESCRIPTION = """\
Tongban (通办): the signed, audited gateway between the partner systems of Shenzhen, Zhongshan and
other cities. Callers authenticate with a JWT client assertion and, on writes, an RFC 9421 message
signature; every answer is signed by the gateway (keys at /.well-known/jwks.json); errors are
RFC 9457 problem+json with a stable `code` and the `exchange_id`.
"""


async def _housekeeping(runtime: Runtime) -> None:
    """Checkpoint the audit tree when it grew (at most once per interval, in whichever process
    gets there first) and delete message bodies past their retention period."""
    log = runtime.transparency_log
    if log is None:
        return
    interval = runtime.settings.audit_checkpoint_interval_seconds
    last_purge = 0.0
    while True:
        await asyncio.sleep(interval)
        try:
            await runtime.in_thread(log.current_checkpoint)
            if time.monotonic() - last_purge > PURGE_EVERY_SECONDS:
                last_purge = time.monotonic()
                removed = await runtime.in_thread(log.purge_bodies)
                if removed:
                    logger.info("removed %d message bodies past their retention period", removed)
        except Exception:  # housekeeping must outlive a passing database hiccup
            logger.exception("audit housekeeping failed; trying again")


class _GuardedClient:
    """A city's adapter client whose failures become the gateway's own errors: the one place
    where adapter exceptions are translated."""

    def __init__(self, inner: Any, unavailable: tuple[type[Exception], ...], rejected: tuple[type[Exception], ...]):
        self.inner, self.unavailable, self.rejected = inner, unavailable, rejected
        self.city = inner.city

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except self.unavailable as exc:
                raise errors.UpstreamUnavailable(
                    f"the {self.city} partner system is unavailable", internal=repr(exc)
                ) from exc
            except self.rejected as exc:
                raise errors.UpstreamFailed(
                    f"the {self.city} partner system refused the call", internal=repr(exc)
                ) from exc
            except ValueError as exc:  # the partner's answer did not map into the canonical model
                raise errors.UpstreamFailed(
                    f"the {self.city} partner system answered malformed data", internal=repr(exc)
                ) from exc

        return guarded


def partner_directory(settings: Settings) -> PartnerDirectory:
    """The cities' adapters, wired by city code from settings.partner_urls."""
    from adapters import hohhot, shenzhen, zhongshan

    known = {
        "440300": (shenzhen.ShenzhenClient, (shenzhen.PartnerUnavailable,), (shenzhen.PartnerRejected,)),
        "442000": (zhongshan.ZhongshanClient, (zhongshan.PartnerUnavailable,), (zhongshan.PartnerRejected,)),
        "150100": (hohhot.HohhotClient, (hohhot.PartnerUnavailable,), (hohhot.PartnerRejected,)),
    }
    factories = {}
    for city, url in settings.partner_urls.items():
        if city not in known:
            raise errors.ConfigurationError(f"partner_urls names city {city}, for which there is no adapter")
        client_class, unavailable, rejected = known[city]
        factories[city] = lambda client_class=client_class, url=url, unavailable=unavailable, rejected=rejected: (
            _GuardedClient(client_class(url), unavailable, rejected)
        )
    return PartnerDirectory(factories)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the gateway. With no arguments (uvicorn workers), settings come from the environment."""
    # `trust` loads each name on first use, for a quick command line; a server loads them all now,
    # so that no request pays for importing the PDF and XML libraries, and no import runs in a thread.
    for name in trust.__all__:
        getattr(trust, name)
    if runtime is None:
        settings = settings or load_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        runtime = Runtime.build(settings)
    if runtime.partners is None:
        runtime.partners = partner_directory(runtime.settings)
    services = domain_services()
    for service in services:
        if service.setup is not None and service.name not in runtime.services:
            runtime.services[service.name] = service.setup(runtime)
    pipeline = Pipeline(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        tasks = [asyncio.create_task(_housekeeping(runtime)), asyncio.create_task(runtime.keep_registry_fresh())]
        tasks += [asyncio.create_task(service.background(runtime)) for service in services if service.background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for service in services:
                if service.shutdown is not None:
                    try:
                        await service.shutdown(runtime)
                    except Exception:  # one service failing to close must not keep the others open
                        logger.exception("%s did not shut down cleanly", service.name)
            await runtime.stop()

    # No /docs or /redoc: their default pages load scripts from a CDN, which government
    # intranets cannot reach. /openapi.json is served.
    app = FastAPI(
        title="Tongban gateway",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(rest_router(runtime, pipeline))
    app.include_router(soap_router(runtime, pipeline, read_body, target_uri))
    app.add_middleware(SigningMiddleware, runtime=runtime)
    return app
