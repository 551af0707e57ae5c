"""What every city adapter offers: pure mapping both ways, and a client that does the I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, Self, TypeVar

import httpx
from pydantic import BaseModel

from catalogs import code_table
from gateway.canonical import ApplicationStatus, CreditSubject, Licence, Seal, TradingProject
from gateway.partners import PartnerClient

if TYPE_CHECKING:
    from adapters._json_mapping import JsonMapping

__all__ = ["CanonicalRecord", "DEFAULT_TIMEOUT", "JsonHttpClient", "PartnerClient", "PartnerMapping"]

CanonicalRecord = TypeVar("CanonicalRecord", Licence, CreditSubject, ApplicationStatus, Seal, TradingProject)

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0)
"""How long a REST/JSON city's client waits for a partner: 3 s to connect, 10 s for each read or write."""


class PartnerMapping(Protocol):
    """Pure functions, driven by catalogs/ (field maps, code tables): no I/O, no clock."""

    city: str  # GB/T 2260 code of the city whose format this is

    def to_partner(self, record: Licence | CreditSubject | ApplicationStatus | Seal | TradingProject) -> Any:
        """The partner's representation: a JSON-ready dict (REST cities) or an lxml element (SOAP)."""

    def from_partner(self, data: Any, record_type: type[CanonicalRecord]) -> CanonicalRecord:
        """The canonical record; raises ValueError (catalogs.CatalogError) naming the bad field."""


# The client side is the core's own interface (gateway.partners), re-exported for adapter authors.


class JsonHttpClient:
    """The httpx plumbing of a REST/JSON city's client: one AsyncClient at the partner's base URL.

    Only the plumbing: each city's subclass reads its own envelope and translates httpx's errors into
    its own in its `_send`. The proxy settings of the environment are ignored (`trust_env=False`).
    """

    mapping_type: ClassVar[Callable[[], JsonMapping]]  # the city's mapping; its field map names the parameters too

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._mapping = type(self).mapping_type()
        self._map = self._mapping.field_map
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            trust_env=False,
            headers={"Accept": "application/json"},
        )

    def _name(self, record_type: type[BaseModel], field: str) -> str:
        """The city's name for a canonical field: what its query parameters are called too."""
        return self._map.record(record_type).field(field).name or ""

    def _code(self, record_type: type[BaseModel], field: str, canonical_code: str) -> str:
        """The city's code for a canonical code of a field (for query parameters); UnknownCode if none."""
        table = self._map.record(record_type).field(field).code_table or ""
        return code_table(table).to_city(self._map.city, canonical_code)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
