"""The Zhongshan client's errors, translated in one place (ZhongshanClient._call) from httpx, zeep and SOAP faults.

    PartnerError
    ├── PartnerUnavailable   the service could not be reached, failed (soap:Server) or answered
    │                        something that is not a well-formed Zhongshan answer: a retry may help
    └── PartnerRejected      the service refused the request (soap:Client fault): a retry will not help

Both carry the Zhongshan error code from the fault detail (`code`, e.g. "ZS-E1002") when there is one.
"""

from __future__ import annotations

__all__ = ["PartnerError", "PartnerRejected", "PartnerUnavailable"]


class PartnerError(Exception):
    """Base of the errors a Zhongshan partner call raises."""

    retryable = False

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PartnerUnavailable(PartnerError):
    """Zhongshan's service is unreachable, failed, or answered malformed data."""

    retryable = True


class PartnerRejected(PartnerError):
    """Zhongshan's service refused the request with a client fault."""
