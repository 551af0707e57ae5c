"""Hohhot (呼和浩特, 150100) adapter: its REST/JSON systems and public-resource trading centre.

Snake_case keys in UTF-8, dates as yyyy-MM-dd, times as yyyy-MM-dd HH:mm:ss in Beijing time,
Hohhot's code tables and its {"code", "msg", "data"} envelope (adapters/hohhot/_wire.py).

mapping   HohhotMapping: pure, field-map-driven to_partner / from_partner
client    HohhotClient: httpx I/O to the licence, credit, affair, e-seal and trading-centre systems
sandbox   create_app(): a Starlette server behaving as Hohhot's systems, with seeded data, including
          the public-resource trading centre's remote-evaluation projects and its expert pool
"""

from __future__ import annotations

from adapters.hohhot._exceptions import PartnerError, PartnerRejected, PartnerUnavailable
from adapters.hohhot.client import DEFAULT_TIMEOUT, HohhotClient
from adapters.hohhot.mapping import CITY, HohhotMapping, MalformedPartnerData, expert_from_partner
from adapters.hohhot.sandbox import MAIN_VENUE, RemoteEvaluation, create_app, seed_affairs, seed_trading_centre

__all__ = [
    "CITY",
    "DEFAULT_TIMEOUT",
    "HohhotClient",
    "HohhotMapping",
    "MAIN_VENUE",
    "MalformedPartnerData",
    "PartnerError",
    "PartnerRejected",
    "PartnerUnavailable",
    "RemoteEvaluation",
    "create_app",
    "expert_from_partner",
    "seed_affairs",
    "seed_trading_centre",
]
