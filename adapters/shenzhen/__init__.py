"""Shenzhen (440300) adapter: REST/JSON in UTF-8, camelCase keys, ISO 8601 times, Shenzhen's code tables.

mapping   ShenzhenMapping: pure, field-map-driven to_partner / from_partner
client    ShenzhenClient: httpx I/O to the licence registry, credit platform and service handling
sandbox   create_app(): a Starlette server behaving as Shenzhen's systems, with seeded data
"""

from __future__ import annotations

from adapters.shenzhen.client import DEFAULT_TIMEOUT, PartnerRejected, PartnerUnavailable, ShenzhenClient
from adapters.shenzhen.mapping import (
    CITY,
    NOT_FOUND_CODE,
    OK_CODE,
    MalformedPartnerData,
    ShenzhenMapping,
    expert_from_partner,
    expert_to_partner,
)
from adapters.shenzhen.sandbox import create_app, seed_application_statuses

__all__ = [
    "CITY",
    "DEFAULT_TIMEOUT",
    "MalformedPartnerData",
    "NOT_FOUND_CODE",
    "OK_CODE",
    "PartnerRejected",
    "PartnerUnavailable",
    "ShenzhenClient",
    "ShenzhenMapping",
    "create_app",
    "expert_from_partner",
    "expert_to_partner",
    "seed_application_statuses",
]
