"""Times as signatures and trust lists write them: xsd:dateTime (RFC 3339 profile) in UTC, and reading them back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__: list[str] = []

_XSD_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


class NotXsdDateTime(ValueError):
    """Text that is not an xsd:dateTime with a time zone (a zone-less time is no instant)."""


def utc_text(moment: datetime, *, timespec: str = "auto") -> str:
    """An xsd:dateTime in UTC with a Z (2026-12-01T08:00:00Z); `timespec` as for datetime.isoformat."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_seconds_text(moment: datetime) -> str:
    """An xsd:dateTime in UTC to the second, with a Z: the one form JAdES sigT and VC validFrom both take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xsd_datetime(text: str) -> datetime:
    """The instant an xsd:dateTime with a time zone names, in UTC; fractions beyond microseconds are cut.

    Raises NotXsdDateTime (a ValueError) for text of another form, ValueError for an impossible time.
    """
    match = _XSD_DATETIME.fullmatch(text)
    if match is None:
        raise NotXsdDateTime("not an xsd:dateTime with a time zone")
    whole, fraction, zone = match.groups()
    micro = (fraction or ".")[1:7].ljust(6, "0")
    return datetime.fromisoformat(f"{whole}.{micro}{'+00:00' if zone == 'Z' else zone}").astimezone(UTC)
