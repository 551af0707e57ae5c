"""The Zhongshan client's errors, translated in one place (ZhongshanClient._call) from httpx, zeep and SOAP faults.

    PartnerError
    ├── PartnerUnavailable     the service could not be reached or failed (soap:Server fault, HTTP error
    │                          without a readable SOAP answer): a retry may help
    ├── PartnerRejected        the service refused the request (soap:Client fault): a retry will not help
    └── MalformedPartnerData   the service answered, but not a well-formed Zhongshan answer (not XML, not a
                               SOAP envelope, no response element, a record the field map cannot read):
                               also a ValueError, so the gateway reports "partner answered nonsense" (502),
                               not "retry" (503); a retry will not help

Each carries the Zhongshan error code from the fault detail (`code`, e.g. "ZS-E1002") when there is one.
"""

from __future__ import annotations

__all__ = ["MalformedPartnerData", "PartnerError", "PartnerRejected", "PartnerUnavailable"]


class PartnerError(Exception):
    """Base of the errors a Zhongshan partner call raises."""

    retryable = False

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PartnerUnavailable(PartnerError):
    """Zhongshan's service is unreachable or failed."""

    retryable = True


class PartnerRejected(PartnerError):
    """Zhongshan's service refused the request with a client fault."""


class MalformedPartnerData(PartnerError, ValueError):
    """Zhongshan's service answered something that is not its format; the message says what was wrong."""
