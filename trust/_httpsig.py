"""RFC 9421 HTTP message signatures and RFC 9530 Content-Digest.

Signatures over the components the gateway uses (@method, @target-uri, @status and plain header
fields) are made and checked here directly: the signature base is a few lines of text, and building it through
http-message-signatures' structured-field machinery cost about ten times the signature itself on
the request path. Anything else (component parameters such as ;sf or ;req, other derived
components) goes through http-message-signatures, and the tests check both against each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import http_sf
import httpx
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.digests import ContentDigest
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


# ---- the direct path --------------------------------------------------------------------------

# Components whose value is the message's own text, unparsed. @path, @query, @authority and the
# like need the URL parsed and normalised exactly as RFC 9421 says: the library does that.
_DERIVED = frozenset({"@method", "@target-uri", "@status"})
_TOKEN_STRING = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")  # sf-string content needing no escapes
_FIELD_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
_LABEL = re.compile(r"^[a-z*][a-z0-9_*.-]*$")


class _Unsupported(Exception):
    """The direct path does not handle this message; the library does."""


def _derived(message: RequestView | ResponseView, name: str) -> str:
    if name == "@status":
        if not isinstance(message, ResponseView):
            raise _Unsupported(name)
        return str(message.status_code)
    if not isinstance(message, RequestView):
        raise _Unsupported(name)  # request components of a response need ;req: the library
    if name == "@method":
        return message.method.upper()
    return message.url  # @target-uri


def _component_value(message: RequestView | ResponseView, name: str) -> str:
    if name in _DERIVED:
        return _derived(message, name)
    if not _FIELD_NAME.match(name):
        raise _Unsupported(name)
    values = message.headers.get_list(name)
    if not values:
        raise KeyError(name)
    return ", ".join(value.strip() for value in values)


def _sf_string(value: str) -> str:
    if not _TOKEN_STRING.match(value):
        raise _Unsupported("a string that needs escaping")
    return f'"{value}"'


def _signature_params(components: Sequence[str], params: Sequence[tuple[str, Any]]) -> str:
    inner = " ".join(_sf_string(name) for name in components)
    text = f"({inner})"
    for key, value in params:
        if type(value) is int:
            text += f";{key}={value}"
        elif isinstance(value, str):
            text += f";{key}={_sf_string(value)}"
        else:
            raise _Unsupported(f"parameter {key}")
    return text


def _signature_base(message: RequestView | ResponseView, components: Sequence[str], params_text: str) -> bytes:
    lines = [f'"{name}": {_component_value(message, name)}' for name in components]
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines).encode("utf-8")


def _raw_sign(private_key: Any, base: bytes) -> bytes:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(base)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private_key.sign(base, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    raise _Unsupported("key type")


def _raw_verify(public_key: Any, signature: bytes, base: bytes) -> None:
    """Raise cryptography's InvalidSignature unless it verifies."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, base)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if len(signature) != 64:
            raise _CryptoInvalidSignature()
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public_key.verify(der, base, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise _Unsupported("key type")


def _sign_directly(
    message: RequestView | ResponseView,
    private_key: Any,
    keyid: str,
    components: Sequence[str],
    created: datetime,
    label: str,
) -> None:
    if not _LABEL.match(label):
        raise _Unsupported("label")
    alg = key_kind(private_key).http_sig_alg
    params_text = _signature_params(components, (("created", int(created.timestamp())), ("keyid", keyid), ("alg", alg)))
    signature = _raw_sign(private_key, _signature_base(message, components, params_text))
    message.headers["signature-input"] = f"{label}={params_text}"
    message.headers["signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"


def _verify_directly(
    message: RequestView | ResponseView,
    label: str,
    *,
    public_key: PublicKey,
    required_components: Sequence[str],
    now: datetime,
    max_age: timedelta,
) -> VerifiedSignature:
    try:
        inputs: Any = http_sf.parse(message.headers["signature-input"].encode("ascii"), tltype="dictionary")
        signatures: Any = http_sf.parse(message.headers["signature"].encode("ascii"), tltype="dictionary")
        inner, raw_params = inputs[label]
        value, _value_params = signatures[label]
        if not isinstance(inner, list) or not isinstance(value, bytes):
            raise ValueError("not an inner list and a byte sequence")
        components = []
        for name, item_params in inner:
            if not isinstance(name, str) or item_params:
                raise _Unsupported("component parameters")
            components.append(name)
        params = list(dict(raw_params).items())
    except (UnicodeEncodeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature("the message signature does not verify") from exc
    param_names = {key for key, _ in params}
    if not param_names <= {"created", "expires", "keyid", "alg", "nonce", "tag"}:
        raise _Unsupported("signature parameters")
    named = dict(params)
    _check_times(named, now, max_age)
    missing = [name for name in required_components if name not in components]
    if missing:
        raise InvalidSignature(f"the signature does not cover {', '.join(missing)}")
    alg = named.get("alg")
    if alg is not None and alg != key_kind(public_key).http_sig_alg:
        raise InvalidSignature("the message signature does not verify")
    try:
        base = _signature_base(message, components, _signature_params(components, params))
        _raw_verify(public_key, value, base)
    except (_CryptoInvalidSignature, KeyError, ValueError) as exc:  # binascii.Error is a ValueError
        raise InvalidSignature("the message signature does not verify") from exc
    created = datetime.fromtimestamp(int(named["created"]), tz=now.tzinfo)
    return VerifiedSignature(label=label, keyid=str(named.get("keyid")), created=created, covered=tuple(components))


def _check_times(params: dict[str, Any], now: datetime, max_age: timedelta) -> None:
    created = params.get("created")
    if type(created) is not int:
        raise SignatureOutOfTime("the signature has no integer created parameter")
    if abs(created) > 2**40:
        raise SignatureOutOfTime("created is not a plausible time")
    age = now.timestamp() - created
    if age > max_age.total_seconds() or -age > max_age.total_seconds():
        raise SignatureOutOfTime(f"created is {int(age)} s from now; allowed ±{int(max_age.total_seconds())} s")
    expires = params.get("expires")
    if type(expires) is int and expires < now.timestamp():
        raise SignatureOutOfTime("the signature has expired")


# ---- through http-message-signatures -------------------------------------------------------------


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
    try:
        _sign_directly(message, private_key, keyid, components, created, label)
        return
    except _Unsupported:
        pass
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
        _check_times(dict(sig_input.params), self._now, self._max_age)


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
    try:
        verified = _verify_directly(
            message, label, public_key=public_key, required_components=required_components, now=now, max_age=max_age
        )
    except _Unsupported:
        pass
    else:
        # As the library does: a body must be vouched for by a signed Content-Digest, unless it is
        # empty and no digest is sent.
        if body is not None and (body or "content-digest" in message.headers):
            if "content-digest" not in verified.covered:
                raise InvalidSignature("the message body requires a signed Content-Digest")
            try:  # as strict as the library's own check: known algorithms, right lengths, no duplicates
                ContentDigest.verify(message.headers.get("content-digest", ""), body)
            except (_LibraryInvalidSignature, HTTPMessageSignaturesException, ValueError) as exc:
                raise InvalidSignature("the message signature does not verify") from exc
        return verified
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
