"""Stage 1: who is calling? A JWT client assertion, plus an RFC 9421 signature on writes."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from jwt.algorithms import OKPAlgorithm

from gateway import errors
from gateway.audit import TokenToSpend
from gateway.registry import Member
from trust import (
    DigestMismatch,
    InvalidSignature,
    MissingSecurityHeader,
    RequestView,
    SignatureMissing,
    SignatureOutOfTime,
    StaleTimestamp,
    UnsupportedAlgorithm,
    WsSecurityError,
    b64url_decode,
    parse_json,
    thumbprint,
    verify_content_digest,
    verify_envelope,
    verify_message,
)

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = ["REQUIRED_REQUEST_COMPONENTS", "authenticate"]

# "Ed25519" is the fully specified name RFC 9864 gives EdDSA over Ed25519; both are accepted.
ALGORITHMS_FOR_KEY = {"EdDSA": frozenset({"EdDSA", "Ed25519"}), "ES256": frozenset({"ES256"})}
ALLOWED_ALGORITHMS = frozenset().union(*ALGORITHMS_FOR_KEY.values())
_JWS = jwt.PyJWS()
_JWS.register_algorithm("Ed25519", OKPAlgorithm())
REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti")
REQUIRED_REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest")


def _bearer_token(exchange: Exchange) -> str:
    header = exchange.request.headers.get("authorization")
    if not header:
        raise errors.MissingToken()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.MissingToken("the Authorization header must be 'Bearer <client assertion>'")
    return token.strip()


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and claims, read (not verified) with the bounded JSON reader."""
    segments = token.split(".")
    if len(segments) != 3:
        raise errors.MalformedToken()
    try:
        header, claims = (parse_json(b64url_decode(segment)) for segment in segments[:2])
    except ValueError as exc:  # not base64url, not JSON, or nested too deeply
        raise errors.MalformedToken() from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise errors.MalformedToken()
    return header, claims


def _check_times(claims: dict[str, Any], now: datetime, runtime: Runtime) -> datetime:
    settings = runtime.settings
    iat, exp = claims["iat"], claims["exp"]
    if (
        not isinstance(iat, int | float)
        or not isinstance(exp, int | float)
        or isinstance(iat, bool)
        or isinstance(exp, bool)
    ):
        raise errors.InvalidClaims("iat and exp must be NumericDates (seconds since the epoch)")
    if not 0 < iat < 2**40 or not 0 < exp < 2**40:
        raise errors.InvalidClaims("iat and exp must be plausible NumericDates")
    if exp - iat > settings.token_max_lifetime_seconds:
        raise errors.TokenLifetimeTooLong(
            f"exp is {int(exp - iat)} s after iat; at most {settings.token_max_lifetime_seconds} s is allowed"
        )
    if exp <= iat:
        raise errors.InvalidClaims("exp must be after iat")
    current = now.timestamp()
    if current >= exp + settings.clock_skew_seconds:
        raise errors.TokenExpired(f"the token expired {int(current - exp)} s ago")
    if iat > current + settings.clock_skew_seconds:
        raise errors.TokenNotYetValid(f"iat is {int(iat - current)} s in the future")
    return datetime.fromtimestamp(exp + settings.clock_skew_seconds, tz=now.tzinfo)


def _unverified_issuer(token: str) -> tuple[str, str]:
    """(alg, iss) of a token not yet verified, after the checks that need no key."""
    unverified_header, unverified_claims = _unverified_parts(token)
    algorithm = unverified_header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
        raise errors.AlgorithmNotAllowed(f"alg {algorithm!r} is not allowed; use EdDSA (or Ed25519) or ES256")
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in unverified_claims]
    if missing:
        raise errors.InvalidClaims(f"missing claims: {', '.join(missing)}")
    issuer = unverified_claims["iss"]
    if not isinstance(issuer, str):
        raise errors.InvalidClaims("iss must be a member id")
    return algorithm, issuer


def _verify_token(
    token: str, algorithm: str, issuer: str, member: Member | None, runtime: Runtime, now: datetime
) -> tuple[Member, dict[str, Any], datetime]:
    if member is None:
        raise errors.UnknownIssuer(f"{issuer!r} is not a registered member")
    if algorithm not in ALGORITHMS_FOR_KEY.get(member.certificate.kind.jose_alg, frozenset()):
        raise errors.AlgorithmNotAllowed(
            f"alg {algorithm} does not match the member's registered {member.certificate.kind.jose_alg} key"
        )
    try:
        # Only the signature is checked here; times against our clock and the audience below.
        payload = _JWS.decode_complete(token, key=member.certificate.public_key, algorithms=[algorithm])["payload"]
        claims = parse_json(payload)
    except jwt.InvalidSignatureError as exc:
        raise errors.BadTokenSignature(
            "the client assertion is not signed with the key of the member's registered certificate"
        ) from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise errors.MalformedToken() from exc
    if not isinstance(claims, dict):
        raise errors.MalformedToken()
    if claims["sub"] != issuer:
        raise errors.InvalidClaims("sub must equal iss (the member id)")
    audience = claims["aud"]
    audiences = audience if isinstance(audience, list) else [audience]
    if runtime.settings.gateway_id not in audiences:
        raise errors.WrongAudience(f"aud must be {runtime.settings.gateway_id!r}")
    if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 200:
        raise errors.InvalidClaims("jti must be a unique string of 8 to 200 characters")
    keep_until = _check_times(claims, now, runtime)
    return member, claims, keep_until


def _verify_message_signature(
    exchange: Exchange, member: Member, runtime: Runtime, now: datetime
) -> dict[str, str] | None:
    request = exchange.request
    has_signature = "signature-input" in request.headers or "signature" in request.headers
    if not request.is_write and not has_signature:
        return None
    if not has_signature:
        raise errors.MissingMessageSignature(
            "POST, PUT, PATCH and DELETE need Signature-Input and Signature (RFC 9421) "
            "covering @method, @target-uri and content-digest, keyid = your member id"
        )
    if request.is_write or request.body or "content-digest" in request.headers:
        try:
            verify_content_digest(request.headers.get("content-digest"), request.body)
        except DigestMismatch as exc:
            raise errors.ContentDigestMismatch(str(exc)) from exc
    required = REQUIRED_REQUEST_COMPONENTS if request.is_write else ("@method", "@target-uri")
    view = RequestView(request.method, request.url, request.headers)
    try:
        verify_message(
            view,
            keyid=member.id,
            public_key=member.certificate.public_key,
            required_components=required,
            now=now,
            max_age=timedelta(seconds=runtime.settings.signature_max_age_seconds),
            body=request.body,
        )
    except SignatureMissing as exc:
        raise errors.MissingMessageSignature(f"no signature with keyid {member.id!r}") from exc
    except SignatureOutOfTime as exc:
        raise errors.StaleMessageSignature(str(exc)) from exc
    except InvalidSignature as exc:
        raise errors.BadMessageSignature(
            f"the signature must verify with your registered key and cover {', '.join(required)}"
        ) from exc
    return {"signature_input": request.headers["signature-input"], "signature": request.headers["signature"]}


def _verify_soap_signature(exchange: Exchange, runtime: Runtime, now: datetime) -> Any:
    """WS-Security: an X.509 BinarySecurityToken signature over Body and Timestamp."""
    assert exchange.soap is not None
    try:
        verified = verify_envelope(
            exchange.soap.envelope, now=now, max_skew_seconds=runtime.settings.signature_max_age_seconds
        )
    except MissingSecurityHeader as exc:
        raise errors.MissingMessageSignature(
            "SOAP requests need WS-Security: a BinarySecurityToken signature over Body and Timestamp"
        ) from exc
    except StaleTimestamp as exc:
        raise errors.StaleMessageSignature(str(exc)) from exc
    except UnsupportedAlgorithm as exc:
        raise errors.AlgorithmNotAllowed(str(exc)) from exc
    except WsSecurityError as exc:
        raise errors.BadMessageSignature(str(exc)) from exc
    return verified


async def _authenticate_soap(exchange: Exchange, runtime: Runtime, now: datetime) -> None:
    verified = await runtime.in_thread(_verify_soap_signature, exchange, runtime, now)
    key_id = thumbprint(verified.certificate.public_key())  # RSA or P-256 here
    member = await runtime.registry.member_by_key(key_id, runtime.in_thread)
    if member is None:
        raise errors.UnknownIssuer("the signing certificate's key is not a registered member's")
    # The signature value is single-use within its timestamp's lifetime, as a jti is.
    signature_id = "wss:" + hashlib.sha256(verified.signature_value).hexdigest()[:48]
    keep_until = verified.expires + timedelta(seconds=runtime.settings.clock_skew_seconds)
    exchange.caller = member
    exchange.token_id = signature_id
    exchange.token_to_spend = TokenToSpend(member.id, signature_id, keep_until)
    exchange.caller_signature = {"ws_security": base64.b64encode(verified.signature_value).decode("ascii")}


async def authenticate(exchange: Exchange, runtime: Runtime) -> None:
    """Verify who is calling. The token is spent (recorded as used) later, with the exchange's first
    durable write (stage audit_request): one commit for both, and nothing forwarded on a replay."""
    now = runtime.clock.now()
    if exchange.soap is not None:
        await _authenticate_soap(exchange, runtime, now)
        return
    token = _bearer_token(exchange)
    algorithm, issuer = _unverified_issuer(token)
    member = await runtime.registry.member(issuer, runtime.in_thread)
    # Ed25519 and P-256 verification take tens of microseconds: cheaper here than a thread hop.
    member, claims, keep_until = _verify_token(token, algorithm, issuer, member, runtime, now)
    signature = _verify_message_signature(exchange, member, runtime, now)
    exchange.caller = member
    exchange.token_id = claims["jti"]
    exchange.token_to_spend = TokenToSpend(member.id, claims["jti"], keep_until)
    exchange.caller_signature = signature
