"""Prometheus metrics: requests, latency per service and stage, upstream errors.

Every label value comes from a closed set, never from the request as written: a route template
(or `unmatched`), a method the gateway serves (or `other`), a status code, a gateway operation
name, the id of a service or provider that exists in the registry, or `unmatched`. Made-up paths,
services, cities or methods therefore add no series, however many a caller sends.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "EXCHANGE_SECONDS",
    "REQUESTS",
    "STAGE_SECONDS",
    "UNMATCHED",
    "UPSTREAM_ERRORS",
    "method_label",
    "render",
]

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "tongban_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
EXCHANGE_SECONDS = Histogram(
    "tongban_exchange_seconds",
    "Time through the whole exchange pipeline, by service",
    ["service"],
    buckets=_BUCKETS,
)
STAGE_SECONDS = Histogram(
    "tongban_stage_seconds", "Time in each pipeline stage, by service", ["service", "stage"], buckets=_BUCKETS
)
UPSTREAM_ERRORS = Counter(
    "tongban_upstream_errors_total", "Failures of partner systems, by provider and kind", ["provider", "kind"]
)


def method_label(method: str) -> str:
    """The method as a label: HTTP lets a client invent any token, so unknown ones are `other`."""
    return method if method in _METHODS else "other"


def render() -> bytes:
    """The exposition text; aggregated over worker processes when they share a multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
