"""The app factory: the one place where settings, storage, keys, audit, pipeline and faces are wired."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.faces import SigningMiddleware
from gateway.faces.rest import install_error_handlers, rest_router
from gateway.logs import configure_logging
from gateway.pipeline import Pipeline
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings

__all__ = ["create_app"]

DESCRIPTION = """\
Tongban (通办): the signed, audited gateway between the partner systems of Shenzhen, Zhongshan and
other cities. Callers authenticate with a JWT client assertion and, on writes, an RFC 9421 message
signature; every answer is signed by the gateway (keys at /.well-known/jwks.json); errors are
RFC 9457 problem+json with a stable `code` and the `exchange_id`.
"""


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the gateway. With no arguments (uvicorn workers), settings come from the environment."""
    if runtime is None:
        settings = settings or load_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        runtime = Runtime.build(settings)
    pipeline = Pipeline(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
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
    app.add_middleware(SigningMiddleware, runtime=runtime)
    return app
