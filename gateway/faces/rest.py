"""The REST face: routes that turn HTTP requests into Exchanges and replies into responses."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import errors
from gateway.audit_operations import (
    MAX_ENTRY_INDEX,
    MAX_TREE_SIZE,
    consistency_operation,
    cosign_operation,
    entry_operation,
    evidence_operation,
    proof_operation,
)
from gateway.exchange import Exchange, InboundRequest, Message, Operation
from gateway.logs import log
from gateway.metrics import CONTENT_TYPE_LATEST, render
from gateway.operations import MAX_PAGE, MAX_PAGE_SIZE, list_members_operation, list_services_operation
from gateway.pipeline import Pipeline
from gateway.relay import RelayOperation
from gateway.runtime import Runtime
from gateway.services import ServiceFace, domain_services

__all__ = ["install_error_handlers", "problem_response", "rest_router"]

RELAY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
PROBLEM_JSON = "application/problem+json"


def problem_response(error: errors.TongbanError, exchange_id: str | None) -> JSONResponse:
    headers: dict[str, str] = {}
    retry_after = error.retry_after if error.retry_after is not None else (1 if error.retryable else None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(error.problem(exchange_id), status_code=error.status, headers=headers, media_type=PROBLEM_JSON)


def _exchange_id(request: Request) -> str | None:
    return getattr(request.state, "exchange_id", None)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure leaves as problem+json; malformed input is 4xx, never 5xx."""

    async def tongban_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.TongbanError)
        if exc.status >= 500:
            log.warning("answered %s %s", exc.status, exc.code, extra={"internal": exc.internal})
        return problem_response(exc, _exchange_id(request))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return problem_response(errors.InvalidContent(problems), _exchange_id(request))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error: errors.TongbanError = errors.NotFound(f"no such endpoint: {request.url.path}")
        elif exc.status_code == 405:
            error = errors.MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        else:
            error = errors.MalformedRequest(str(exc.detail))
        return problem_response(error, _exchange_id(request))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(errors.InternalError(), _exchange_id(request))

    app.add_exception_handler(errors.TongbanError, tongban_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it passes `limit`, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise errors.MalformedRequest("Content-Length must be a number")
        if int(declared) > limit:
            raise errors.PayloadTooLarge(f"the body has {declared} bytes; the limit is {limit}")
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def target_uri(request: Request) -> str:
    """The URI the caller addressed, percent-encoding intact (what RFC 9421 @target-uri covers)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode("ascii")
    query = request.scope.get("query_string") or b""
    uri = f"{request.url.scheme}://{request.url.netloc}{raw_path.decode('latin-1')}"
    return uri + (f"?{query.decode('latin-1')}" if query else "")


def raw_relay_path(request: Request) -> str:
    """What follows /v1/exchange/{provider}/{code}/ in the raw path: forwarded as the caller wrote it."""
    raw_path = (request.scope.get("raw_path") or request.url.path.encode("ascii")).decode("latin-1")
    parts = raw_path.split("/", 5)
    return parts[5] if len(parts) > 5 else ""


def _reply_response(reply: Message) -> Response:
    if reply.stream is not None:
        return StreamingResponse(reply.stream, status_code=reply.status, headers=dict(reply.headers.multi_items()))
    return Response(content=reply.body, status_code=reply.status, headers=dict(reply.headers.multi_items()))


# Every number a caller may send, with its range. The operations check the same bounds; these
# declarations put them in /openapi.json and refuse out-of-range values with 422 up front.


def _page() -> Any:
    return Query(1, ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE}")


def _page_size() -> Any:
    return Query(50, ge=1, le=MAX_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}")


def _entry_index() -> Any:
    return Path(ge=0, le=MAX_ENTRY_INDEX, description=f"0 to {MAX_ENTRY_INDEX}; past the log's end: 404")


def _tree_size(default: Any = ...) -> Any:
    return Query(default, ge=0, le=MAX_TREE_SIZE, description=f"0 to {MAX_TREE_SIZE}")


def rest_router(runtime: Runtime, pipeline: Pipeline) -> APIRouter:
    router = APIRouter()
    settings = runtime.settings

    async def run(request: Request, operation: Operation, limit: int | None = None) -> Response:
        body = await read_body(request, limit or settings.max_body_bytes)
        inbound = InboundRequest(
            method=request.method,
            url=target_uri(request),
            path=request.url.path,
            query=(request.scope.get("query_string") or b"").decode("latin-1"),
            headers=httpx.Headers(request.headers.raw),
            body=body,
            client_address=request.client.host if request.client else "",
        )
        exchange = Exchange(
            id=request.state.exchange_id,
            received_at=runtime.clock.now(),
            request=inbound,
            operation=operation,
        )
        reply = await pipeline.run(exchange)
        return _reply_response(reply)

    # The relay first: it carries the traffic, and the router tries routes in order.
    async def relay(request: Request, provider_member_id: str, service_code: str, path: str = "") -> Response:
        service_id = f"{provider_member_id}/{service_code}"
        service = await runtime.registry.service(service_id, runtime.in_thread)
        operation = RelayOperation(service_id=service_id, service=service, path=raw_relay_path(request))
        return await run(request, operation, limit=operation.max_body_bytes)

    for method in RELAY_METHODS:
        for suffix, name in (("", "relay"), ("/{path:path}", "relay_path")):
            router.add_api_route(
                "/v1/exchange/{provider_member_id}/{service_code}" + suffix,
                relay,
                methods=[method],
                tags=["exchange"],
                summary="Relay a call to a member's published service" + (" (sub-path)" if suffix else ""),
                name=f"{name}_{method.lower()}",
                operation_id=f"{name}_{method.lower()}",
            )

    @router.get("/healthz", tags=["metadata"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", tags=["metadata"], summary="Readiness: database reachable and keys loaded")
    async def readyz() -> Response:
        checks: dict[str, str] = {}
        try:
            await runtime.in_thread(runtime.database.ping)
            checks["database"] = "ok" if await runtime.in_thread(runtime.database.is_current) else "schema not migrated"
        except Exception as exc:  # readiness reports, it does not raise
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            checks["keys"] = "ok" if runtime.signing_key() else "missing"
        except Exception as exc:
            checks["keys"] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
        )

    @router.get("/metrics", tags=["metadata"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/.well-known/tongban", tags=["metadata"], summary="Who this gateway is and what it speaks")
    async def well_known() -> dict[str, Any]:
        return {
            "gateway_id": settings.gateway_id,
            "city": settings.city,
            "public_url": settings.public_url,
            "algorithms": {
                "client_assertion": ["EdDSA", "ES256"],
                "http_message_signatures": ["ed25519", "ecdsa-p256-sha256"],
                "gateway_signature": runtime.signing_key().kind.http_sig_alg,
                "content_digest": ["sha-256", "sha-512"],
            },
            "audit_origin": settings.audit_origin,
            "audit_key": runtime.transparency_log.signer.verifier_key() if runtime.transparency_log else None,
            "token_max_lifetime_seconds": settings.token_max_lifetime_seconds,
            "signature_max_age_seconds": settings.signature_max_age_seconds,
            "max_body_bytes": settings.max_body_bytes,
            "response_signature_components": ["@status", "content-digest", "x-tongban-exchange-id"],
            "endpoints": {
                "jwks": "/.well-known/jwks.json",
                "openapi": "/openapi.json",
                "members": "/v1/members",
                "services": "/v1/services",
                "exchange": "/v1/exchange/{provider_member_id}/{service_code}/{path}",
                "health": "/healthz",
                "ready": "/readyz",
                "metrics": "/metrics",
                "audit_checkpoint": "/v1/audit/checkpoint",
                "audit_entry": "/v1/audit/entries/{index}",
                "audit_proof": "/v1/audit/entries/{index}/proof?tree_size=",
                "audit_consistency": "/v1/audit/consistency?first=&second=",
                "audit_evidence": "/v1/audit/exchanges/{exchange_id}/evidence",
                "soap": "/soap",
                "wsdl": "/soap?wsdl",
            }
            | {name: path for service in domain_services() for name, path in service.endpoints.items()},
            "signature_formats": [
                "JAdES/JWS",
                "XML-DSig (XAdES-BES)",
                "PAdES",
                "OFD/SES (GB/T 38540 v4, GM/T 0031 v1)",
            ],
        }

    @router.get("/.well-known/jwks.json", tags=["metadata"], summary="Gateway public keys, current first")
    async def jwks() -> dict[str, Any]:
        # Always look: another process may already sign with a key this one has not loaded yet.
        return await runtime.in_thread(runtime.jwks)

    @router.get("/v1/members", tags=["registry"], summary="Registered partner systems")
    async def members(request: Request, page: int = _page(), page_size: int = _page_size()) -> Response:
        return await run(request, list_members_operation())

    @router.get("/v1/services", tags=["registry"], summary="Published services and gateway operations")
    async def services(
        request: Request, allowed: bool = False, page: int = _page(), page_size: int = _page_size()
    ) -> Response:
        return await run(request, list_services_operation())

    @router.get(
        "/v1/audit/checkpoint",
        tags=["audit"],
        summary="Latest signed checkpoint (C2SP signed note), public",
        response_class=PlainTextResponse,
    )
    async def audit_checkpoint() -> PlainTextResponse:
        log = runtime.transparency_log
        if log is None:
            raise errors.ServiceUnavailable("this gateway keeps no transparency log")
        checkpoint = await runtime.in_thread(log.current_checkpoint)
        return PlainTextResponse(checkpoint.note, media_type="text/plain; charset=utf-8")

    @router.post("/v1/audit/checkpoint/cosignatures", tags=["audit"], summary="A witness's countersigned checkpoint")
    async def audit_cosign(request: Request, size: int = _tree_size()) -> Response:
        return await run(request, cosign_operation())

    @router.get("/v1/audit/entries/{index}", tags=["audit"], summary="One audit entry and its leaf hash")
    async def audit_entry(request: Request, index: int = _entry_index()) -> Response:
        return await run(request, entry_operation(index))

    @router.get("/v1/audit/entries/{index}/proof", tags=["audit"], summary="Inclusion proof (RFC 9162)")
    async def audit_proof(
        request: Request, index: int = _entry_index(), tree_size: int | None = _tree_size(None)
    ) -> Response:
        return await run(request, proof_operation(index))

    @router.get("/v1/audit/consistency", tags=["audit"], summary="Consistency proof between two tree sizes")
    async def audit_consistency(request: Request, first: int = _tree_size(), second: int = _tree_size()) -> Response:
        return await run(request, consistency_operation())

    @router.get(
        "/v1/audit/exchanges/{exchange_id}/evidence",
        tags=["audit"],
        summary="Evidence bundle: entries, inclusion proofs, signed checkpoint, kept messages",
    )
    async def audit_evidence(request: Request, exchange_id: str) -> Response:
        return await run(request, evidence_operation(exchange_id))

    face = ServiceFace(runtime=runtime, run=run)
    for service in domain_services():
        if service.routes is not None:
            router.include_router(service.routes(face))

    return router
