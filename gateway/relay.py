"""The generic relay (X-Road style): forward a member's call to a REST service another member publishes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httpx

from gateway import errors
from gateway.exchange import Exchange, Message, OutboundRequest
from gateway.metrics import UNMATCHED, UPSTREAM_ERRORS
from gateway.registry import Service
from trust import (
    DigestMismatch,
    InvalidSignature,
    ResponseView,
    SignatureMissing,
    SignatureOutOfTime,
    verify_content_digest,
    verify_message,
)

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["RelayOperation"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# What may pass from the caller to the partner, and back. Everything else (credentials, the
# caller's signature, hop-by-hop headers) stays at the gateway.
FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "soapaction",
    "x-tongban-purpose",
    "idempotency-key",
)
RETURNED_RESPONSE_HEADERS = (
    "content-type",
    "content-language",
    "cache-control",
    "etag",
    "last-modified",
    "location",
)
PROVIDER_RESPONSE_COMPONENTS = ("@status", "content-digest")
# A segment still changing after this many rounds of percent-decoding is refused outright.
MAX_DECODING_ROUNDS = 4


def unsafe_segment(segment: str) -> bool:
    """True when a segment of the relayed path, as written or percent-decoded once or again (to
    catch double encoding such as %252e), contains '/' or '\\' or is '.' or '..' as a whole.

    The path is forwarded as written, and a provider that decodes %2F before it resolves dot
    segments (nginx, Python's http.server) would otherwise serve what lies outside its URL.
    """
    for _ in range(MAX_DECODING_ROUNDS + 1):
        if "/" in segment or "\\" in segment or segment in (".", ".."):
            return True
        decoded = unquote(segment, errors="strict") if "%" in segment else segment
        if decoded == segment:
            return False
        segment = decoded
    return True


@dataclass
class RelayOperation:
    service_id: str
    service: Service | None
    path: str = ""
    name: str = "relay"
    audited: bool = True
    not_found: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.service is None:
            self.not_found = f"no service {self.service_id}; GET /v1/services lists them"

    @property
    def service_label(self) -> str:
        return self.service_id

    @property
    def metric_label(self) -> str:
        return self.service.id if self.service else UNMATCHED

    @property
    def provider(self) -> str | None:
        return self.service.provider_id if self.service else None

    @property
    def required_right(self) -> str:
        return self.service_id

    @property
    def purpose_required(self) -> bool:
        return bool(self.service and self.service.purpose_required)

    @property
    def max_body_bytes(self) -> int | None:
        return self.service.max_body_bytes if self.service else None

    def _service(self) -> Service:
        assert self.service is not None, "authorise refuses unknown services"
        return self.service

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        try:
            unsafe = any(unsafe_segment(segment) for segment in self.path.split("/"))
        except UnicodeDecodeError as exc:
            raise errors.InvalidContent("the relayed path is not percent-encoded UTF-8") from exc
        if unsafe:
            raise errors.InvalidContent(
                "a segment of the relayed path may not be '.' or '..', nor hold '/' or '\\', "
                "however often percent-encoded"
            )

    async def translate_request(self, exchange: Exchange, runtime: Runtime) -> None:
        service = self._service()
        request = exchange.request
        url = service.url + (f"/{self.path}" if self.path else "") + (f"?{request.query}" if request.query else "")
        headers = httpx.Headers(
            {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
        )
        exchange.outbound = OutboundRequest(method=request.method, url=url, headers=headers, body=request.body)

    def _may_retry(self, exchange: Exchange) -> bool:
        return exchange.request.method in IDEMPOTENT_METHODS or exchange.idempotency_key is not None

    async def _send_once(self, exchange: Exchange, runtime: Runtime) -> Message:
        assert exchange.outbound is not None and runtime.http is not None
        outbound = exchange.outbound
        service = self._service()
        limit = max(service.max_body_bytes or 0, runtime.settings.max_body_bytes)
        timeout = None
        if service.timeout_seconds:
            timeout = httpx.Timeout(service.timeout_seconds, connect=runtime.settings.upstream_connect_timeout)
        request = runtime.http.build_request(
            outbound.method,
            outbound.url,
            headers=outbound.headers,
            content=outbound.body,
            timeout=timeout or httpx.USE_CLIENT_DEFAULT,
        )
        response = await runtime.http.send(request, stream=True)
        try:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise errors.UpstreamFailed(f"the partner's answer exceeds {limit} bytes", internal=outbound.url)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return Message(status=response.status_code, headers=response.headers, body=b"".join(chunks))

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        service = self._service()
        provider = service.provider_id
        breakers = runtime.breakers
        ticket = breakers.admit(provider) or await runtime.in_thread(breakers.claim_trial, provider)
        attempts = 1 + runtime.settings.upstream_retries
        may_retry = self._may_retry(exchange)
        failure: errors.UpstreamError | None = None
        for attempt in range(attempts):
            if attempt:
                jitter = 0.5 + int.from_bytes(runtime.entropy.token_bytes(2), "big") / 65535
                await asyncio.sleep(runtime.settings.upstream_retry_backoff_seconds * (2 ** (attempt - 1)) * jitter)
            try:
                answer = await self._send_once(exchange, runtime)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the partner: always safe to try again.
                failure = errors.UpstreamUnreachable(f"{provider} could not be reached", internal=repr(exc))
                UPSTREAM_ERRORS.labels(provider, "unreachable").inc()
                continue
            except httpx.TimeoutException as exc:
                failure = errors.UpstreamTimeout(f"{provider} did not answer in time", internal=repr(exc))
                UPSTREAM_ERRORS.labels(provider, "timeout").inc()
            except httpx.TransportError as exc:
                failure = errors.UpstreamUnreachable(f"the connection to {provider} failed", internal=repr(exc))
                UPSTREAM_ERRORS.labels(provider, "transport").inc()
            except errors.UpstreamError as exc:
                failure = exc
                UPSTREAM_ERRORS.labels(provider, "too_large").inc()
                break
            else:
                if answer.status < 500:
                    await runtime.in_thread(breakers.succeeded, ticket)
                    exchange.upstream = answer
                    return
                failure = self._server_error(provider, answer)
                UPSTREAM_ERRORS.labels(provider, f"http_{answer.status}").inc()
            if not may_retry:
                break
        await runtime.in_thread(breakers.failed, ticket)
        assert failure is not None
        raise failure

    @staticmethod
    def _server_error(provider: str, answer: Message) -> errors.UpstreamError:
        retry_after = answer.headers.get("retry-after")
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else None
        if answer.status == 503:
            return errors.UpstreamUnavailable(f"{provider} is unavailable (503)", retry_after=seconds)
        if answer.status == 504:
            return errors.UpstreamTimeout(f"{provider} answered 504")
        return errors.UpstreamFailed(f"{provider} answered {answer.status}", retry_after=seconds)

    async def verify_response(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.upstream is not None
        service = self._service()
        answer = exchange.upstream
        signed = "signature-input" in answer.headers
        if not signed:
            if service.response_signature == "required":
                raise errors.UpstreamBadSignature(f"{service.id} must sign its answers and did not")
            return
        provider = await runtime.registry.member(service.provider_id, runtime.in_thread)
        if provider is None:
            raise errors.UpstreamBadSignature(f"provider {service.provider_id} is no longer registered")
        try:
            if answer.body or "content-digest" in answer.headers:
                verify_content_digest(answer.headers.get("content-digest"), answer.body)
            verify_message(
                ResponseView(answer.status, answer.headers),
                keyid=service.provider_id,
                public_key=provider.certificate.public_key,
                required_components=PROVIDER_RESPONSE_COMPONENTS,
                now=runtime.clock.now(),
                max_age=timedelta(seconds=runtime.settings.signature_max_age_seconds),
                body=answer.body,
            )
        except (DigestMismatch, InvalidSignature, SignatureMissing, SignatureOutOfTime) as exc:
            raise errors.UpstreamBadSignature(f"{service.id}'s answer failed verification", internal=str(exc)) from exc
        exchange.upstream_signature = {
            "signature_input": answer.headers["signature-input"],
            "signature": answer.headers["signature"],
        }

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.upstream is not None
        answer = exchange.upstream
        headers = httpx.Headers(
            {name: answer.headers[name] for name in RETURNED_RESPONSE_HEADERS if name in answer.headers}
        )
        exchange.reply = Message(status=answer.status, headers=headers, body=answer.body)
