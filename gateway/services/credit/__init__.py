"""Public-credit report exchange (信用报告互认): a signed report on a subject, from the credit platform
of the city that registered it, releasing only the sections the purpose allows; verification
(valid, superseded, revoked, tampered); quotas per requester and purpose; the query trail.

Other services may use `verify_signed_report` and `identify_subject` from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what readers and type checkers see; at run time each name loads on first use
    from gateway.services.credit._operations import (
        CREDIT_QUERY_RIGHT,
        CREDIT_SUPERVISE_RIGHT,
        MAX_BATCH,
        verify_signed_report,
    )
    from gateway.services.credit._report import SECTION_KINDS, identify_subject
    from gateway.services.credit._service import SERVICE

__all__ = [
    "CREDIT_QUERY_RIGHT",
    "CREDIT_SUPERVISE_RIGHT",
    "MAX_BATCH",
    "SECTION_KINDS",
    "SERVICE",
    "identify_subject",
    "verify_signed_report",
]

# Loaded lazily (PEP 562): `tongban credit ...` imports this package for its cli.py, and the command
# line must not pay for FastAPI, SQLAlchemy and the signing code it does not use.
_HOMES = {
    "CREDIT_QUERY_RIGHT": "_operations",
    "CREDIT_SUPERVISE_RIGHT": "_operations",
    "MAX_BATCH": "_operations",
    "verify_signed_report": "_operations",
    "SECTION_KINDS": "_report",
    "identify_subject": "_report",
    "SERVICE": "_service",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
