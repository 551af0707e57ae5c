"""Operations the gateway answers itself; they run through the same pipeline as the relay."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx

from gateway import errors
from gateway.exchange import Exchange, Message
from gateway.registry import (
    Member,
    Service,
    allowed_service_ids,
    gateway_rights,
    list_members,
    list_services,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from gateway.runtime import Runtime

__all__ = [
    "AnsweredByTheGateway",
    "LocalOperation",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "list_members_operation",
    "list_services_operation",
    "page_of",
    "whole_number",
]

# Every collection: page 1..MAX_PAGE, page_size 1..MAX_PAGE_SIZE (the README's limits).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500


def whole_number(value: str, name: str, *, low: int, high: int) -> int:
    """A number from the query, a path or a SOAP parameter, in [low, high]; InvalidContent otherwise.

    Only ASCII digits: int() would also take a sign, spaces, underscores and other scripts' digits.
    """
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)) or not low <= int(value) <= high:
        raise errors.InvalidContent(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def page_of(items: list[dict[str, Any]], query: str) -> dict[str, Any]:
    """The contract's collection shape: {"items", "total", "page", "page_size"}."""
    params = parse_qs(query)
    page = whole_number(params.get("page", ["1"])[0], "page", low=1, high=MAX_PAGE)
    page_size = whole_number(params.get("page_size", ["50"])[0], "page_size", low=1, high=MAX_PAGE_SIZE)
    start = (page - 1) * page_size
    return {
        "items": items[start : start + page_size],
        "total": len(items),
        "page": page,
        "page_size": page_size,
    }


def json_reply(status: int, data: Any) -> Message:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Message(status=status, headers=httpx.Headers({"content-type": "application/json"}), body=body)


class AnsweredByTheGateway:
    """What every operation the gateway answers itself shares (its own and the domain services'):
    labelled by its name, no provider, nothing to translate or verify on the way, a JSON reply of
    `exchange.result`. Subclasses (dataclasses) add their fields and `forward`, and override what
    differs."""

    name: str
    status: int = 200
    provider: str | None = None

    @property
    def service_label(self) -> str:
        return self.name

    @property
    def metric_label(self) -> str:
        return self.name

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        return None

    async def translate_request(self, exchange: Exchange, runtime: Runtime) -> None:
        return None

    async def verify_response(self, exchange: Exchange, runtime: Runtime) -> None:
        return None

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        exchange.reply = json_reply(self.status, exchange.result)


@dataclass
class LocalOperation(AnsweredByTheGateway):
    """An operation whose 'forward' is a query the gateway answers from its own database."""

    name: str
    compute: Callable[[Runtime, Exchange], Any]
    audited: bool = False
    required_right: str | None = None
    purpose_required: bool = False
    max_body_bytes: int | None = None
    not_found: str | None = None
    provider: str | None = None
    status: int = 200

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        exchange.result = await runtime.in_thread(self.compute, runtime, exchange)


def member_view(member: Member) -> dict[str, Any]:
    certificate = member.certificate
    return {
        "id": member.id,
        "city": member.city,
        "name": member.name,
        "algorithm": certificate.kind.jose_alg,
        "key_thumbprint": certificate.key_thumbprint,
        "certificate_subject": certificate.subject,
        "certificate_not_after": certificate.certificate.not_valid_after_utc.isoformat(),
        "registered_at": member.created_at.isoformat(),
    }


def service_view(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "kind": "relay",
        "provider": service.provider_id,
        "code": service.code,
        "protocol": service.protocol,
        "title": service.title,
        "purpose_required": service.purpose_required,
        "exchange_path": f"/v1/exchange/{service.provider_id}/{service.code}",
    }


def _members(runtime: Runtime, exchange: Exchange) -> dict[str, Any]:
    with runtime.database.read() as connection:
        found = list_members(connection)
    return page_of([member_view(member) for member in found], exchange.request.query)


def _services(runtime: Runtime, exchange: Exchange) -> dict[str, Any]:
    with runtime.database.read() as connection:
        return _services_in(connection, exchange)


def _services_in(connection: Connection, exchange: Exchange) -> dict[str, Any]:
    assert exchange.caller is not None
    items = [service_view(service) for service in list_services(connection)]
    items += [
        {"id": name, "kind": "operation", "title": description}
        for name, description in sorted(gateway_rights().items())
    ]
    allowed = parse_qs(exchange.request.query).get("allowed", ["false"])[0].lower()
    if allowed not in ("true", "false", "1", "0"):
        raise errors.InvalidContent("allowed must be true or false")
    if allowed in ("true", "1"):
        rights = allowed_service_ids(connection, exchange.caller.id)
        items = [item for item in items if item["id"] in rights]
    return page_of(items, exchange.request.query)


def list_members_operation() -> LocalOperation:
    return LocalOperation(name="members.list", compute=_members)


def list_services_operation() -> LocalOperation:
    return LocalOperation(name="services.list", compute=_services)
