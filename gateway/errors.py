"""The one error hierarchy: every failure a caller can see, with its code, status and fault.

    TongbanError                           gateway.error
    ├── RequestError                   400 request.error (4xx: the caller can fix it)
    │   ├── MalformedRequest               400 request.malformed
    │   ├── MethodNotAllowed               405 request.method_not_allowed
    │   ├── PayloadTooLarge                413 request.too_large
    │   ├── InvalidContent                 422 request.invalid
    │   ├── PurposeRequired                422 request.purpose_required
    │   ├── IdempotencyKeyReused           422 idempotency.key_reused
    │   ├── NotFound                       404 request.not_found
    │   │   ├── UnknownService             404 service.unknown
    │   │   └── UnknownMember              404 member.unknown
    │   ├── Conflict                       409 request.conflict
    │   │   ├── AlreadyRegistered          409 registry.exists
    │   │   ├── IdempotencyInProgress      409 idempotency.in_progress
    │   │   └── IllegalTransition          409 state.illegal_transition
    │   ├── QuotaExceeded                  429 quota.exceeded
    │   ├── AccessDenied                   403 access.denied
    │   │   ├── ConsentRequired            403 consent.required
    │   │   └── ConsentInvalid             403 consent.invalid
    │   └── AuthenticationFailed           401 auth.failed
    │       ├── MissingToken, MalformedToken, AlgorithmNotAllowed, UnknownIssuer,
    │       │   BadTokenSignature, TokenExpired, TokenNotYetValid, TokenLifetimeTooLong,
    │       │   WrongAudience, ReplayedToken, InvalidClaims           auth.*
    │       └── MissingMessageSignature, BadMessageSignature, StaleMessageSignature,
    │           ContentDigestMismatch                                 auth.*
    ├── UpstreamError                  502 upstream.error (502/503/504: the partner failed; may be retried)
    │   ├── UpstreamFailed                 502 upstream.failed
    │   ├── UpstreamUnreachable            502 upstream.unreachable
    │   ├── UpstreamBadSignature           502 upstream.bad_signature
    │   ├── UpstreamUnavailable            503 upstream.unavailable
    │   ├── CircuitOpen                    503 upstream.circuit_open
    │   └── UpstreamTimeout                504 upstream.timeout
    ├── AuditUnavailable                   503 audit.unavailable (fail closed: nothing forwarded)
    ├── TrustListUnavailable               503 trust.list_unavailable (fail closed: no list, or past next-update)
    ├── ServiceUnavailable                 503 gateway.unavailable
    ├── InternalError                      500 gateway.internal
    └── ConfigurationError                 (start-up and CLI only) config.invalid

A caller sees `code`, `title`, `status`, `detail` (safe to show) and the exchange id; the
`internal` story goes to the log and the audit record only.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AlgorithmNotAllowed",
    "AlreadyRegistered",
    "AuditUnavailable",
    "AuthenticationFailed",
    "BadMessageSignature",
    "BadTokenSignature",
    "CircuitOpen",
    "ConfigurationError",
    "Conflict",
    "ConsentInvalid",
    "ConsentRequired",
    "ContentDigestMismatch",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "InternalError",
    "InvalidClaims",
    "InvalidContent",
    "MalformedRequest",
    "MalformedToken",
    "MethodNotAllowed",
    "MissingMessageSignature",
    "MissingToken",
    "NotFound",
    "PayloadTooLarge",
    "PurposeRequired",
    "QuotaExceeded",
    "ReplayedToken",
    "RequestError",
    "ServiceUnavailable",
    "StaleMessageSignature",
    "TokenExpired",
    "TokenLifetimeTooLong",
    "TokenNotYetValid",
    "TongbanError",
    "TrustListUnavailable",
    "UnknownIssuer",
    "UnknownMember",
    "UnknownService",
    "UpstreamBadSignature",
    "UpstreamError",
    "UpstreamFailed",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "UpstreamUnreachable",
    "WrongAudience",
    "all_error_classes",
]


class TongbanError(Exception):
    """Root of every error the gateway turns into problem+json or a SOAP fault."""

    code: ClassVar[str] = "gateway.error"
    title: ClassVar[str] = "Gateway error"
    status: ClassVar[int] = 500
    soap_fault: ClassVar[str] = "Server"  # SOAP 1.1 faultcode; "Receiver" in SOAP 1.2
    retryable: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, *, internal: str | None = None, retry_after: int | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.internal = internal
        self.retry_after = retry_after

    def problem(self, exchange_id: str | None) -> dict[str, object]:
        """The RFC 9457 body a caller sees."""
        body: dict[str, object] = {
            "type": f"urn:tongban:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            "retryable": self.retryable,
        }
        if exchange_id:
            body["exchange_id"] = exchange_id
        return body


# ---- 4xx: the caller can fix it -------------------------------------------------------------


class RequestError(TongbanError):
    code = "request.error"
    title = "Bad request"
    status = 400
    soap_fault = "Client"


class MalformedRequest(RequestError):
    code = "request.malformed"
    title = "Malformed request"


class MethodNotAllowed(RequestError):
    code = "request.method_not_allowed"
    title = "Method not allowed"
    status = 405


class PayloadTooLarge(RequestError):
    code = "request.too_large"
    title = "Request body too large"
    status = 413


class InvalidContent(RequestError):
    code = "request.invalid"
    title = "Invalid request content"
    status = 422


class PurposeRequired(RequestError):
    code = "request.purpose_required"
    title = "X-Tongban-Purpose is required for this service"
    status = 422


class IdempotencyKeyReused(RequestError):
    code = "idempotency.key_reused"
    title = "Idempotency-Key reused for a different request"
    status = 422


class NotFound(RequestError):
    code = "request.not_found"
    title = "Not found"
    status = 404


class UnknownService(NotFound):
    code = "service.unknown"
    title = "Unknown service"


class UnknownMember(NotFound):
    code = "member.unknown"
    title = "Unknown member"


class Conflict(RequestError):
    code = "request.conflict"
    title = "Conflict"
    status = 409


class AlreadyRegistered(Conflict):
    code = "registry.exists"
    title = "Already registered"


class IdempotencyInProgress(Conflict):
    code = "idempotency.in_progress"
    title = "A request with this Idempotency-Key is still being processed"
    retryable = True


class IllegalTransition(Conflict):
    """A state change that the resource's state machine does not allow from where it stands
    (an application, an evaluation session): the detail names both states."""

    code = "state.illegal_transition"
    title = "Illegal state transition"


class QuotaExceeded(RequestError):
    code = "quota.exceeded"
    title = "Quota exceeded"
    status = 429
    retryable = True


class AccessDenied(RequestError):
    code = "access.denied"
    title = "No access right for this service"
    status = 403


class ConsentRequired(AccessDenied):
    code = "consent.required"
    title = "The holder's authorisation (a signed consent token) is required"


class ConsentInvalid(AccessDenied):
    code = "consent.invalid"
    title = "The holder's consent token is not valid for this request"


class AuthenticationFailed(RequestError):
    code = "auth.failed"
    title = "Authentication failed"
    status = 401


class MissingToken(AuthenticationFailed):
    code = "auth.missing_token"
    title = "Authorization: Bearer <client assertion> is required"


class MalformedToken(AuthenticationFailed):
    code = "auth.malformed_token"
    title = "The client assertion is not a well-formed JWT"


class AlgorithmNotAllowed(AuthenticationFailed):
    code = "auth.algorithm_not_allowed"
    title = "Signature algorithm not allowed"


class UnknownIssuer(AuthenticationFailed):
    code = "auth.unknown_issuer"
    title = "The token's issuer is not a registered member"


class BadTokenSignature(AuthenticationFailed):
    code = "auth.bad_token_signature"
    title = "The client assertion's signature does not verify"


class InvalidClaims(AuthenticationFailed):
    code = "auth.invalid_claims"
    title = "The client assertion's claims are missing or inconsistent"


class TokenExpired(AuthenticationFailed):
    code = "auth.token_expired"
    title = "The client assertion has expired"


class TokenNotYetValid(AuthenticationFailed):
    code = "auth.token_not_yet_valid"
    title = "The client assertion was issued in the future"


class TokenLifetimeTooLong(AuthenticationFailed):
    code = "auth.token_lifetime_too_long"
    title = "The client assertion lives longer than allowed"


class WrongAudience(AuthenticationFailed):
    code = "auth.wrong_audience"
    title = "The client assertion is not addressed to this gateway"


class ReplayedToken(AuthenticationFailed):
    code = "auth.replayed_token"
    title = "The client assertion's jti was used before"


class MissingMessageSignature(AuthenticationFailed):
    code = "auth.missing_signature"
    title = "Write requests need an RFC 9421 message signature"


class BadMessageSignature(AuthenticationFailed):
    code = "auth.bad_signature"
    title = "The message signature does not verify"


class StaleMessageSignature(AuthenticationFailed):
    code = "auth.stale_signature"
    title = "The message signature was created too long ago or in the future"


class ContentDigestMismatch(AuthenticationFailed):
    code = "auth.content_digest_mismatch"
    title = "The body does not match its Content-Digest"


# ---- the partner system failed ---------------------------------------------------------------


class UpstreamError(TongbanError):
    code = "upstream.error"
    title = "The partner system failed"
    status = 502
    retryable = True


class UpstreamFailed(UpstreamError):
    code = "upstream.failed"
    title = "The partner system answered with a server error"


class UpstreamUnreachable(UpstreamError):
    code = "upstream.unreachable"
    title = "The partner system could not be reached"


class UpstreamBadSignature(UpstreamError):
    code = "upstream.bad_signature"
    title = "The partner system's answer failed signature verification"
    retryable = False


class UpstreamUnavailable(UpstreamError):
    code = "upstream.unavailable"
    title = "The partner system is unavailable"
    status = 503


class CircuitOpen(UpstreamError):
    code = "upstream.circuit_open"
    title = "The partner system is failing; calls are paused"
    status = 503


class UpstreamTimeout(UpstreamError):
    code = "upstream.timeout"
    title = "The partner system did not answer in time"
    status = 504


# ---- the gateway itself ------------------------------------------------------------------------


class AuditUnavailable(TongbanError):
    code = "audit.unavailable"
    title = "The audit log cannot be written; nothing was forwarded"
    status = 503
    retryable = True


class TrustListUnavailable(TongbanError):
    code = "trust.list_unavailable"
    title = "No current trust list for the issuing city; nothing can be recognised until it is refreshed"
    status = 503
    retryable = True


class ServiceUnavailable(TongbanError):
    code = "gateway.unavailable"
    title = "The gateway is not ready"
    status = 503
    retryable = True


class InternalError(TongbanError):
    code = "gateway.internal"
    title = "Internal error"


class ConfigurationError(TongbanError):
    code = "config.invalid"
    title = "Invalid configuration"


def all_error_classes() -> list[type[TongbanError]]:
    """Every class in the hierarchy, root included (for mapping checks and the README table)."""
    found: list[type[TongbanError]] = []
    pending: list[type[TongbanError]] = [TongbanError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
