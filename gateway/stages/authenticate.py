"""Stage 1: who is calling? A JWT client assertion, plus an RFC 9421 signature on writes."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from gateway import errors
from gateway.registry import Member, find_member, find_member_by_key
from gateway.storage import seen_tokens
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
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise errors.MalformedToken() from exc
    if not isinstance(claims, dict):
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


def _verify_token(token: str, runtime: Runtime, now: datetime) -> tuple[Member, dict[str, Any], datetime]:
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
    member = _lookup_member(runtime, issuer)
    if member is None:
        raise errors.UnknownIssuer(f"{issuer!r} is not a registered member")
    if algorithm not in ALGORITHMS_FOR_KEY.get(member.certificate.kind.jose_alg, frozenset()):
        raise errors.AlgorithmNotAllowed(
            f"alg {algorithm} does not match the member's registered {member.certificate.kind.jose_alg} key"
        )
    try:
        # Only the signature is checked here; times against our clock and the audience below.
        payload = _JWS.decode_complete(token, key=member.certificate.public_key, algorithms=[algorithm])["payload"]
        claims = json.loads(payload)
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


def _remember_token_id(runtime: Runtime, issuer: str, jti: str, keep_until: datetime, now: datetime) -> None:
    """Record the jti; a second use within its lifetime fails on the primary key, in any process."""
    try:
        with runtime.database.write() as connection:
            connection.execute(insert(seen_tokens).values(issuer=issuer, jti=jti, expires_at=keep_until))
            if random.random() < 0.01:
                connection.execute(delete(seen_tokens).where(seen_tokens.c.expires_at < now))
    except IntegrityError as exc:
        raise errors.ReplayedToken(f"jti {jti!r} was already used") from exc


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


def _authenticate_soap(exchange: Exchange, runtime: Runtime, now: datetime) -> None:
    """WS-Security: an X.509 BinarySecurityToken signature over Body and Timestamp, by a member's key."""
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
    key_id = thumbprint(verified.certificate.public_key())  # type: ignore[arg-type]  # RSA or P-256 here
    with runtime.database.read() as connection:
        member = find_member_by_key(connection, key_id)
    if member is None:
        raise errors.UnknownIssuer("the signing certificate's key is not a registered member's")
    # The signature value is single-use within its timestamp's lifetime, as a jti is.
    signature_id = "wss:" + hashlib.sha256(verified.signature_value).hexdigest()[:48]
    keep_until = verified.expires + timedelta(seconds=runtime.settings.clock_skew_seconds)
    _remember_token_id(runtime, member.id, signature_id, keep_until, now)
    exchange.caller = member
    exchange.token_id = signature_id
    exchange.caller_signature = {"ws_security": base64.b64encode(verified.signature_value).decode("ascii")}


async def authenticate(exchange: Exchange, runtime: Runtime) -> None:
    now = runtime.clock.now()
    if exchange.soap is not None:
        await runtime.in_thread(_authenticate_soap, exchange, runtime, now)
        return
    token = _bearer_token(exchange)
    member, claims, keep_until = await runtime.in_thread(_verify_token, token, runtime, now)
    # The message signature is checked before the jti is spent, so a caller whose signature was
    # wrong can retry with the same token.
    signature = _verify_message_signature(exchange, member, runtime, now)
    await runtime.in_thread(_remember_token_id, runtime, member.id, claims["jti"], keep_until, now)
    exchange.caller = member
    exchange.token_id = claims["jti"]
    exchange.caller_signature = signature


def _lookup_member(runtime: Runtime, member_id: str) -> Member | None:
    with runtime.database.read() as connection:
        return find_member(connection, member_id)
