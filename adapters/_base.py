"""What every city adapter offers: pure mapping both ways, and a client that does the I/O."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from gateway.canonical import ApplicationStatus, CreditSubject, Licence, Seal, TradingProject
from gateway.partners import PartnerClient

__all__ = ["CanonicalRecord", "PartnerClient", "PartnerMapping"]

CanonicalRecord = TypeVar("CanonicalRecord", Licence, CreditSubject, ApplicationStatus, Seal, TradingProject)


class PartnerMapping(Protocol):
    """Pure functions, driven by catalogs/ (field maps, code tables): no I/O, no clock."""

    city: str  # GB/T 2260 code of the city whose format this is

    def to_partner(self, record: Licence | CreditSubject | ApplicationStatus | Seal | TradingProject) -> Any:
        """The partner's representation: a JSON-ready dict (REST cities) or an lxml element (SOAP)."""

    def from_partner(self, data: Any, record_type: type[CanonicalRecord]) -> CanonicalRecord:
        """The canonical record; raises ValueError (catalogs.CatalogError) naming the bad field."""


# The client side is the core's own interface (gateway.partners), re-exported for adapter authors.
