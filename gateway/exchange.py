"""What flows through the pipeline: one Exchange per request, and the Operation it asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    from gateway.audit import TokenToSpend
    from gateway.registry import Member
    from gateway.runtime import Runtime

__all__ = ["Exchange", "InboundRequest", "Message", "Operation", "OutboundRequest", "SoapEnvelope"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class InboundRequest:
    """The request as the caller sent it; nothing here is trusted until authenticate has run."""

    method: str
    url: str  # absolute, as the caller addressed it (what @target-uri covers)
    path: str
    query: str
    headers: httpx.Headers
    body: bytes
    client_address: str = ""

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class OutboundRequest:
    """What the gateway sends to the partner system."""

    method: str
    url: str
    headers: httpx.Headers
    body: bytes


@dataclass
class Message:
    """A status, headers and body: the partner's answer, or the reply to the caller."""

    status: int
    headers: httpx.Headers
    body: bytes
    # A streamed reply (an evaluation's live events): `body` is empty, the head alone is signed, and
    # the stream writes the exchange's response entry itself when it closes.
    stream: AsyncIterator[bytes] | None = None


@dataclass
class SoapEnvelope:
    """A SOAP request as the SOAP face decoded it; the reply envelope is built by the operation
    and signed (WS-Security) by the sign stage."""

    version: str  # "1.1" or "1.2"
    envelope: Any  # the parsed request (lxml element), checked by authenticate
    operation: str  # PascalCase, e.g. ListMembers
    reply: Any = None  # the answer's envelope (lxml element), before signing


@dataclass
class Exchange:
    id: str
    received_at: datetime
    request: InboundRequest
    operation: Operation
    caller: Member | None = None
    token_id: str | None = None
    # Set by authenticate, recorded as spent with the first durable write of the exchange.
    token_to_spend: TokenToSpend | None = None
    caller_signature: dict[str, str] | None = None
    purpose: str | None = None
    idempotency_key: str | None = None
    outbound: OutboundRequest | None = None
    upstream: Message | None = None
    upstream_signature: dict[str, str] | None = None
    result: Any = None  # what a local operation computed, before it becomes a reply
    reply: Message | None = None
    replayed_from: str | None = None
    audit_indexes: list[int] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    soap: SoapEnvelope | None = None  # set by the SOAP face; None for REST

    @property
    def answered(self) -> bool:
        """A reply exists already (an idempotent replay): the forwarding stages are skipped."""
        return self.reply is not None


class Operation(Protocol):
    """One thing a caller can ask the gateway to do; the pipeline runs it through every stage."""

    @property
    def name(self) -> str:
        """e.g. "relay" or "members.list"."""

    @property
    def service_label(self) -> str:
        """For the audit record: the service id or the operation name, as the caller named it."""

    @property
    def metric_label(self) -> str:
        """For metrics, from a closed set: the operation name, the id of a service that exists in
        the registry, or `unmatched`; never a value a caller can make up."""

    @property
    def provider(self) -> str | None:
        """The member whose system answers (relays); None when the gateway answers itself."""

    @property
    def required_right(self) -> str | None:
        """The access right needed; None: any authenticated member."""

    @property
    def audited(self) -> bool:
        """Domain exchanges are audited; metadata reads are not."""

    @property
    def purpose_required(self) -> bool: ...

    @property
    def max_body_bytes(self) -> int | None: ...

    @property
    def not_found(self) -> str | None:
        """Set when the target does not exist: 404, but only after authentication."""

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        """Check the request's content (after authorisation), raising InvalidContent and friends."""

    async def translate_request(self, exchange: Exchange, runtime: Runtime) -> None:
        """Set exchange.outbound (relays) or leave it None (local operations)."""

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        """Send exchange.outbound and set exchange.upstream, or compute exchange.result locally."""

    async def verify_response(self, exchange: Exchange, runtime: Runtime) -> None:
        """Check the partner's answer (signature, digest) before anything of it is passed on."""

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        """Set exchange.reply from exchange.upstream or exchange.result."""
