"""Operations answered by another city's partner systems, through its adapter and in the canonical
model: the caller never needs to know that city's format, protocol or codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway import errors
from gateway.exchange import Exchange
from gateway.operations import json_reply

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["LICENCE_LOOKUP_RIGHT", "LicenceLookup"]

LICENCE_LOOKUP_RIGHT = "licences.lookup"


@dataclass
class LicenceLookup:
    """One licence, by number, from the registry of the city that issued it."""

    issuing_city: str
    licence_number: str
    name: str = "licences.lookup"
    audited: bool = True
    purpose_required: bool = False
    max_body_bytes: int | None = None
    required_right: str | None = LICENCE_LOOKUP_RIGHT
    not_found: str | None = field(default=None)

    @property
    def service_label(self) -> str:
        return f"{self.name}/{self.issuing_city}"

    @property
    def metric_label(self) -> str:
        return self.name  # the city comes from the path: not a label value

    @property
    def provider(self) -> str | None:
        return None  # the registry is reached through the adapter, not as a relayed member

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        if not self.licence_number or len(self.licence_number) > 128:
            raise errors.InvalidContent("licence_number must be 1 to 128 characters")
        if runtime.partners is None:
            raise errors.ServiceUnavailable("no partner systems are configured")
        runtime.partners.client_for(self.issuing_city)  # NotFound for a city we do not reach

    async def translate_request(self, exchange: Exchange, runtime: Runtime) -> None:
        return None  # the query is already canonical; the adapter writes the city's format

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert runtime.partners is not None
        licence = await runtime.partners.client_for(self.issuing_city).get_licence(self.licence_number)
        if licence is None:
            raise errors.NotFound(f"the {self.issuing_city} registry has no licence {self.licence_number}")
        exchange.result = licence.model_dump(mode="json")

    async def verify_response(self, exchange: Exchange, runtime: Runtime) -> None:
        return None  # the adapter has validated the record into the canonical model

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        exchange.reply = json_reply(200, exchange.result)
