"""RFC 9421 HTTP message signatures and RFC 9530 Content-Digest, on top of http-message-signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import http_sf
import httpx
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from http_message_signatures.exceptions import InvalidSignature as _LibraryInvalidSignature

from trust._errors import DigestMismatch, InvalidSignature, SignatureMissing, SignatureOutOfTime
from trust._jwk import PublicKey, key_kind

__all__ = [
    "RequestView",
    "ResponseView",
    "VerifiedSignature",
    "content_digest",
    "sign_message",
    "signature_parameters",
    "verify_content_digest",
    "verify_message",
]

_ALGORITHMS: dict[str, type[algorithms.HTTPSignatureAlgorithm]] = {
    "ed25519": algorithms.ED25519,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
}
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


@dataclass
class RequestView:
    """The parts of a request a signature covers (the shape http-message-signatures reads)."""

    method: str
    url: str
    headers: httpx.Headers = field(default_factory=httpx.Headers)


@dataclass
class ResponseView:
    """The parts of a response a signature covers."""

    status_code: int
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    request: RequestView | None = None


@dataclass(frozen=True)
class VerifiedSignature:
    """What a verified signature vouches for."""

    label: str
    keyid: str
    created: datetime
    covered: tuple[str, ...]


def _parse_dictionary(value: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """A Structured Field Dictionary: member name -> (value, parameters). Raises ValueError."""
    try:
        parsed: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except UnicodeEncodeError as exc:
        raise ValueError("structured fields are ASCII") from exc
    return {name: (member[0], dict(member[1])) for name, member in parsed.items()}


def signature_parameters(headers: httpx.Headers) -> dict[str, dict[str, Any]]:
    """Label -> unverified parameters of each signature in Signature-Input; {} if absent or malformed."""
    try:
        return {
            label: params for label, (_value, params) in _parse_dictionary(headers.get("signature-input", "")).items()
        }
    except ValueError:
        return {}


def content_digest(body: bytes) -> str:
    """The RFC 9530 Content-Digest field value (sha-256) for a body."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def verify_content_digest(unverified_value: str | None, body: bytes) -> None:
    """Raise DigestMismatch unless the field holds a sha-256 (or sha-512) digest equal to the body's."""
    if not unverified_value:
        raise DigestMismatch("Content-Digest is missing")
    try:
        members = _parse_dictionary(unverified_value)
    except ValueError as exc:
        raise DigestMismatch("Content-Digest is not a structured dictionary") from exc
    known = {name: value for name, (value, _params) in members.items() if name in _DIGESTS}
    if "sha-256" not in known and "sha-512" not in known:
        raise DigestMismatch("Content-Digest has no sha-256 or sha-512 member")
    for name, expected in known.items():
        if not isinstance(expected, bytes) or not hmac.compare_digest(expected, _DIGESTS[name](body).digest()):
            raise DigestMismatch(f"Content-Digest {name} does not match the body")


class _SingleKey(HTTPSignatureKeyResolver):
    def __init__(self, keyid: str, public_key: Any = None, private_key: Any = None) -> None:
        self.keyid, self.public_key, self.private_key = keyid, public_key, private_key

    def resolve_public_key(self, key_id: str) -> Any:
        return self.public_key if key_id == self.keyid else None

    def resolve_private_key(self, key_id: str) -> Any:
        if key_id != self.keyid or self.private_key is None:
            raise KeyError(key_id)
        return self.private_key


def sign_message(
    message: RequestView | ResponseView,
    *,
    private_key: Any,
    keyid: str,
    components: Sequence[str],
    created: datetime,
    label: str = "tongban",
) -> None:
    """Add Signature-Input and Signature to the message's headers (replacing any there)."""
    algorithm = _ALGORITHMS[key_kind(private_key).http_sig_alg]
    signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=_SingleKey(keyid, private_key=private_key))
    signer.sign(
        message,
        key_id=keyid,
        created=created,
        label=label,
        covered_component_ids=tuple(components),
        use_existing_digest="content-digest" in message.headers,
    )


def _signature_labels(headers: httpx.Headers) -> dict[str, dict[str, Any]]:
    """Label -> signature parameters, from Signature-Input (unverified)."""
    raw = headers.get("signature-input")
    if raw is None or "signature" not in headers:
        raise SignatureMissing("Signature-Input and Signature are required")
    try:
        parsed = _parse_dictionary(raw)
    except ValueError as exc:
        raise InvalidSignature("Signature-Input is malformed") from exc
    return {label: params for label, (_value, params) in parsed.items()}


def _only_label(message: RequestView | ResponseView, label: str) -> RequestView | ResponseView:
    # The library needs a single signature unless a signed tag selects one; the label we
    # choose by its signed keyid, so hand it a view holding just that member.
    headers = httpx.Headers(message.headers)
    for name in ("signature-input", "signature"):
        parsed: Any = http_sf.parse(headers[name].encode("ascii"), tltype="dictionary")
        headers[name] = http_sf.ser({label: parsed[label]}) if label in parsed else ""
    if isinstance(message, RequestView):
        return RequestView(message.method, message.url, headers)
    return ResponseView(message.status_code, headers, message.request)


class _ClockedVerifier(HTTPMessageVerifier):
    """The library's verifier with our clock and our freshness window instead of its own."""

    require_created = True

    def __init__(self, *, now: datetime, max_age: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._now, self._max_age = now, max_age

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        created = sig_input.params.get("created")
        if type(created) is not int:
            raise SignatureOutOfTime("the signature has no integer created parameter")
        if abs(created) > 2**40:
            raise SignatureOutOfTime("created is not a plausible time")
        age = self._now.timestamp() - created
        if age > self._max_age.total_seconds() or -age > self._max_age.total_seconds():
            raise SignatureOutOfTime(
                f"created is {int(age)} s from now; allowed ±{int(self._max_age.total_seconds())} s"
            )
        expires = sig_input.params.get("expires")
        if type(expires) is int and expires < self._now.timestamp():
            raise SignatureOutOfTime("the signature has expired")


def verify_message(
    message: RequestView | ResponseView,
    *,
    keyid: str,
    public_key: PublicKey,
    required_components: Sequence[str],
    now: datetime,
    max_age: timedelta,
    body: bytes | None = None,
) -> VerifiedSignature:
    """Verify the signature whose keyid is `keyid`; raise unless it holds and covers what is required.

    With `body`, the signed Content-Digest must match it as well.
    """
    labels = _signature_labels(message.headers)
    chosen = [label for label, params in labels.items() if params.get("keyid") == keyid]
    if not chosen:
        raise SignatureMissing(f"no signature with keyid {keyid!r}")
    label = chosen[0]
    algorithm = _ALGORITHMS[key_kind(public_key).http_sig_alg]
    verifier = _ClockedVerifier(
        now=now,
        max_age=max_age,
        signature_algorithm=algorithm,
        key_resolver=_SingleKey(keyid, public_key=public_key),
    )
    try:
        selected = _only_label(message, label)
        results = verifier.verify(selected, max_age=None, require_components=tuple(required_components), body=body)
    except SignatureOutOfTime:
        raise
    except (_LibraryInvalidSignature, HTTPMessageSignaturesException, ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature("the message signature does not verify") from exc
    result = results[0]
    created = datetime.fromtimestamp(int(result.parameters["created"]), tz=now.tzinfo)
    covered = tuple(name for name in result.covered_components if name != '"@signature-params"')
    return VerifiedSignature(label=label, keyid=keyid, created=created, covered=covered)
