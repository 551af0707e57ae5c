"""The partner systems the gateway reaches through adapters, as the core sees them: by city, in the
canonical model. The app factory wires in the adapters; the core imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, cast

from gateway import errors
from gateway.canonical import (
    ApplicationStatus,
    ApplicationSubmission,
    CreditSubject,
    Licence,
    Seal,
    TradingProject,
)

__all__ = ["HandlingSystem", "PartnerClient", "PartnerDirectory"]


class PartnerClient(Protocol):
    """The I/O to one city's partner systems. Failures are raised as gateway errors
    (UpstreamUnavailable, UpstreamFailed) by the wiring that builds the directory."""

    city: str

    async def get_licence(self, licence_number: str) -> Licence | None: ...

    async def find_licences(self, holder_id: str, licence_type: str | None = None) -> list[Licence]: ...

    async def get_credit_subject(self, uscc: str) -> CreditSubject | None: ...

    async def get_application_status(self, application_id: str) -> ApplicationStatus | None: ...

    async def get_seals(self, holder_uscc: str) -> list[Seal]:
        """The electronic seals the seal platform holds for this organisation ([] if none or unknown)."""
        ...

    async def get_seal(self, seal_code: str) -> Seal | None:
        """One seal by its code, with its current status at the platform that made it; None if unknown."""
        ...

    async def find_trading_projects(self, status: str | None = None) -> list[TradingProject]:
        """The trading centre's projects, optionally only those in one canonical status (trading_project_status;
        an unknown status is a catalogs.UnknownCode, raised before anything is sent)."""
        ...

    async def aclose(self) -> None: ...


class HandlingSystem(Protocol):
    """A city's service-handling system that takes applications received in another city (异地代收代办).
    Not every city's adapter has one (it is apart from PartnerClient for that reason)."""

    city: str

    async def submit_application(self, submission: ApplicationSubmission) -> ApplicationStatus:
        """Hand the application over (收件); sending it again answers where it stands."""
        ...


class PartnerDirectory:
    """City code -> a client for that city's systems, made on first use."""

    def __init__(self, factories: Mapping[str, Callable[[], PartnerClient]]) -> None:
        self._factories = dict(factories)
        self._clients: dict[str, PartnerClient] = {}

    @property
    def cities(self) -> list[str]:
        return sorted(self._factories)

    def client_for(self, city: str) -> PartnerClient:
        if city not in self._factories:
            raise errors.NotFound(f"no partner systems are configured for city {city}; known: {', '.join(self.cities)}")
        if city not in self._clients:
            self._clients[city] = self._factories[city]()
        return self._clients[city]

    def handling_system(self, city: str) -> HandlingSystem:
        """The city's service-handling system; 404 when the city has none configured, 503 when its
        adapter cannot take applications."""
        client = self.client_for(city)
        if not hasattr(client, "submit_application"):
            raise errors.ServiceUnavailable(f"the adapter of city {city} cannot hand over applications")
        return cast(HandlingSystem, client)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
