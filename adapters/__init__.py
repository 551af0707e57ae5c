"""Adapters: the only code that knows a partner city's wire format (one sub-package per city).

Each city has pure mapping functions driven by the data in catalogs/, a client doing the I/O,
and a sandbox: a real server behaving as that city's systems do, with seeded fictional data.
"""

from __future__ import annotations

from adapters._base import CanonicalRecord, PartnerClient, PartnerMapping

__all__ = ["CanonicalRecord", "PartnerClient", "PartnerMapping"]
