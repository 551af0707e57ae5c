"""Reading a catalogue search from request parameters (REST query or SOAP elements alike), and the
local operations the SOAP face runs through the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from catalogs.service_items import MODES, SECTORS
from gateway import errors
from gateway.operations import MAX_PAGE, MAX_PAGE_SIZE, LocalOperation, whole_number
from gateway.services.catalog._store import CatalogueQuery, item_by_code, search_items

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = [
    "MAX_QUERY_LENGTH",
    "SUBJECTS",
    "catalogue_query",
    "get_item_operation",
    "item_or_404",
    "search_operation",
    "search_page",
]

SUBJECTS = ("enterprise", "person")
MAX_QUERY_LENGTH = 100
_CITY_LENGTH = 6


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise errors.InvalidContent(f"{name} must be one of {', '.join(allowed)}")
    return value


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_QUERY_LENGTH:
        raise errors.InvalidContent(f"{name} is at most {MAX_QUERY_LENGTH} characters")
    return value or None


def catalogue_query(params: Mapping[str, str]) -> CatalogueQuery:
    """A search from its parameters, each checked (InvalidContent, 422, otherwise)."""
    city = params.get("city")
    if city is not None and not (len(city) == _CITY_LENGTH and city.isascii() and city.isdigit()):
        raise errors.InvalidContent("city is a GB/T 2260 code of six digits, e.g. 440300")
    return CatalogueQuery(
        q=_text("q", params.get("q")),
        city=city,
        mode=_one_of("mode", params.get("mode"), MODES),
        subject=_one_of("subject", params.get("subject"), SUBJECTS),
        sector=_one_of("sector", params.get("sector"), SECTORS),
        department=_text("department", params.get("department")),
        page=whole_number(params.get("page", "1"), "page", low=1, high=MAX_PAGE),
        page_size=whole_number(params.get("page_size", "50"), "page_size", low=1, high=MAX_PAGE_SIZE),
    )


def search_page(runtime: Runtime, query: CatalogueQuery) -> dict[str, Any]:
    """The contract's collection shape: {"items", "total", "page", "page_size"}."""
    with runtime.database.read() as connection:
        items, total = search_items(connection, query)
    return {"items": items, "total": total, "page": query.page, "page_size": query.page_size}


def item_or_404(runtime: Runtime, code: str) -> dict[str, Any]:
    with runtime.database.read() as connection:
        item = item_by_code(connection, code)
    if item is None:
        raise errors.NotFound(f"no service item {code} in the catalogue")
    return item.model_dump(mode="json")


def _params(exchange: Exchange) -> dict[str, str]:
    found = parse_qs(exchange.request.query, keep_blank_values=False)
    repeated = sorted(name for name, values in found.items() if len(values) > 1)
    if repeated:
        raise errors.InvalidContent(f"{', '.join(repeated)} given more than once")
    return {name: values[0] for name, values in found.items()}


def get_item_operation(code: str) -> LocalOperation:
    """A metadata read over SOAP: authenticated like every SOAP call, not audited."""
    return LocalOperation(name="catalog.item", compute=lambda runtime, exchange: item_or_404(runtime, code))


def search_operation() -> LocalOperation:
    return LocalOperation(
        name="catalog.search",
        compute=lambda runtime, exchange: search_page(runtime, catalogue_query(_params(exchange))),
    )
