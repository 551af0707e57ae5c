"""The Hohhot client's errors, translated in one place (HohhotClient._send) from httpx and Hohhot's envelope.

    PartnerError
    ├── PartnerUnavailable   no answer (refused, reset, timeout), HTTP 5xx, or envelope code 5xx:
    │                        a retry may help
    └── PartnerRejected      HTTP 4xx (a wrong route), or an envelope code 4xx other than 404:
                             a retry will not help
    MalformedPartnerData     (adapters.hohhot.mapping; a ValueError) the answer is not Hohhot's
                             envelope or a record the field map can read

Both PartnerErrors carry the HTTP `status` (None without an answer) and Hohhot's integer envelope
`code` when there was one. "No such record" (envelope code 404) is not an error: get_* return None.
"""

from __future__ import annotations

__all__ = ["PartnerError", "PartnerRejected", "PartnerUnavailable"]


class PartnerError(Exception):
    """Base of the errors a Hohhot partner call raises."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PartnerUnavailable(PartnerError):
    """Hohhot's systems could not be reached or failed; a retry may help."""

    retryable = True


class PartnerRejected(PartnerError):
    """Hohhot's systems refused the request; do not retry."""
