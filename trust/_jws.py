"""Licences as signed JSON credentials: a W3C VC in a compact JWS, the signer's chain in `x5c` (JAdES B-B style).

The shape (VC-JOSE-COSE with JAdES's header parameters):

    protected header  {"alg": "ES256" | "EdDSA", "typ": "vc+jwt", "cty": "vc",
                       "x5c": [signer, intermediates...], "x5t#S256": sha-256 of the signer's DER,
                       "sigT": "2026-03-01T08:00:00Z", "crit": ["sigT"]}
    payload           the credential, as RFC 8785 (JCS) canonical JSON
    signature         ES256: r || s (64 bytes); EdDSA: the Ed25519 signature

The examiner proves only that the token is well formed and that the signature holds over header
and payload with the key of the first `x5c` certificate. Whether that certificate is trusted, was
valid at the claimed time or is revoked is the validation engine's question. It refuses rather
than guesses:

- only ES256 (P-256) and EdDSA / Ed25519; `none`, HMAC, RSA and anything else are refused, and the
  algorithm must be the one the certificate's key is for (no key confusion);
- the key comes only from `x5c`; `jwk`, `jku` and `x5u` are refused, and `x5t#S256`, when present,
  must name the `x5c` signer;
- base64url must be canonical (no padding, no stray bits), JSON must have no duplicate member
  names, and every `crit` member must be one we understand (`sigT` only), so that no two different
  tokens decode to the same signed content and no header we ignore can change the meaning.

Every refusal is a SignatureFailure with a fixed message: FORMAT_FAILURE for anything malformed,
CRYPTO_CONSTRAINTS_FAILURE for an algorithm or key we do not accept, NO_SIGNING_CERTIFICATE_FOUND
when `x5t#S256` names another certificate, SIG_CRYPTO_FAILURE when the signature does not verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from trust._certificates import load_der_certificate, require_certificate_of, signer_public_key
from trust._errors import InvalidCertificate, UnsupportedKey
from trust._json import JsonRejected, parse_json
from trust._jwk import NotCanonicalBase64url, b64url, b64url_decode_strict, ecdsa_der, ecdsa_raw
from trust._report import MAX_CARRIED_CERTIFICATES, SignatureEvidence, SignatureFailure, SubIndication
from trust._time import utc_seconds_text

__all__ = ["JWS_FORMAT", "JWS_TYPE", "examine_jws", "sign_jws_credential"]

JWS_FORMAT = "JAdES/JWS"
JWS_TYPE = "vc+jwt"
"""The `typ` we write (VC-JOSE-COSE); we also accept `vc+ld+jwt` and the `application/` forms."""

DEFAULT_MAX_TOKEN_BYTES = 16 * 1024 * 1024
_ACCEPTED_TYPES = frozenset({"vc+jwt", "vc+ld+jwt", "application/vc+jwt", "application/vc+ld+jwt"})
_ACCEPTED_ALGORITHMS = frozenset({"ES256", "EdDSA", "Ed25519"})  # Ed25519: RFC 9864's fully specified name
_UNDERSTOOD_CRITICAL = frozenset({"sigT"})
# RFC 7515 §4.1.11: registered header parameters must not be listed in crit.
_REGISTERED = frozenset(
    {"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip", "b64"}
)
_REFUSED_KEY_SOURCES = ("jwk", "jku", "x5u")
_SIG_T = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _fail(sub_indication: SubIndication, message: str) -> SignatureFailure:
    return SignatureFailure(sub_indication, message)


def _b64url_strict(part: str, what: str) -> bytes:
    """Decode unpadded base64url, refusing any other spelling of the same bytes."""
    try:
        return b64url_decode_strict(part)
    except NotCanonicalBase64url as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS {what} is not canonical base64url") from exc
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS {what} is not base64url") from exc


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate member name")
        result[key] = value
    return result


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = parse_json(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, JsonRejected) as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS {what} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS {what} is not a JSON object")
    return value


def _algorithm_for(key: Any) -> str:
    """The JOSE algorithm a key signs with; UnsupportedKey for any key but P-256 and Ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise UnsupportedKey("licence credentials are signed with ECDSA P-256 (ES256) or Ed25519 (EdDSA) keys")


def sign_compact(header: dict[str, Any], payload: bytes, private_key: SigningKey) -> str:
    """A compact JWS: the header as RFC 8785 JSON, `payload` as given, signed with EdDSA or ES256 (r || s).

    The header's `alg` is the caller's to set; it must be the key's.
    """
    signing_input = (b64url(rfc8785.dumps(header)) + "." + b64url(payload)).encode("ascii")
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(signing_input)
    else:
        signature = ecdsa_raw(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return signing_input.decode("ascii") + "." + b64url(signature)


def split_compact(text: str) -> tuple[str, str, str]:
    """The header, payload and signature parts of a compact JWS; ValueError unless there are exactly three."""
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise ValueError("a compact JWS has three parts separated by dots")
    return parts[0], parts[1], parts[2]


def sign_jws_credential(
    payload: dict[str, Any],
    private_key: SigningKey,
    certificate_chain: list[bytes],
    signing_time: datetime,
) -> str:
    """Sign a credential as a compact JWS (ES256 for P-256 keys, EdDSA for Ed25519 keys).

    `certificate_chain` is DER, the signer's certificate first; it goes into `x5c` as it is.
    The payload is written as RFC 8785 canonical JSON, so equal credentials give equal payloads.
    `signing_time` (timezone-aware) becomes the JAdES `sigT` header, to the second. Raises
    UnsupportedKey for other keys and ValueError when the first certificate is not the key's.
    """
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    if not certificate_chain:
        raise ValueError("the certificate chain needs at least the signer's certificate")
    algorithm = _algorithm_for(private_key)
    require_certificate_of(certificate_chain[0], private_key)
    header = {
        "alg": algorithm,
        "typ": JWS_TYPE,
        "cty": "vc",
        "x5c": [base64.b64encode(der).decode("ascii") for der in certificate_chain],
        "x5t#S256": b64url(hashlib.sha256(certificate_chain[0]).digest()),
        "sigT": utc_seconds_text(signing_time),
        "crit": ["sigT"],
    }
    return sign_compact(header, rfc8785.dumps(payload), private_key)


# ---- examination -------------------------------------------------------------------------------------


def _split(token: bytes | str, max_bytes: int) -> tuple[str, str, str]:
    if isinstance(token, bytes):
        if len(token) > max_bytes:
            raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS is larger than {max_bytes} bytes")
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise _fail(SubIndication.FORMAT_FAILURE, "a compact JWS is ASCII") from exc
    elif isinstance(token, str):
        text = token
        if len(text) > max_bytes:
            raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS is larger than {max_bytes} bytes")
    else:
        raise TypeError("examine_jws takes the compact JWS as bytes or str")
    try:
        return split_compact(text)
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, str(exc)) from exc


def _certificates(header: dict[str, Any]) -> list[bytes]:
    chain = header.get("x5c")
    if chain is None:
        raise _fail(SubIndication.FORMAT_FAILURE, "the JWS header has no x5c certificate chain")
    if not isinstance(chain, list) or not chain or len(chain) > MAX_CARRIED_CERTIFICATES:
        raise _fail(SubIndication.FORMAT_FAILURE, f"x5c must list 1 to {MAX_CARRIED_CERTIFICATES} certificates")
    certificates = []
    for item in chain:
        # RFC 7515 §4.1.6: standard base64 (not base64url), DER.
        if not isinstance(item, str):
            raise _fail(SubIndication.FORMAT_FAILURE, "an x5c entry is not a base64 string")
        try:
            der = base64.b64decode(item, validate=True)
            load_der_certificate(der)
        except (binascii.Error, ValueError, InvalidCertificate) as exc:
            raise _fail(SubIndication.FORMAT_FAILURE, "an x5c entry is not a base64 DER X.509 certificate") from exc
        certificates.append(der)
    return certificates


def _check_header(header: dict[str, Any]) -> str:
    """The algorithm, after every header rule but the key's fit; raises SignatureFailure."""
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise _fail(SubIndication.FORMAT_FAILURE, "the JWS header has no alg")
    if algorithm == "none":
        raise _fail(SubIndication.FORMAT_FAILURE, "an unsecured JWS (alg none) is not a signature")
    if algorithm not in _ACCEPTED_ALGORITHMS:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "the JWS algorithm is not accepted (ES256 or EdDSA)")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPES):
        raise _fail(SubIndication.FORMAT_FAILURE, "the JWS typ is not a verifiable credential type (vc+jwt)")
    for name in _REFUSED_KEY_SOURCES:
        if name in header:
            raise _fail(SubIndication.FORMAT_FAILURE, f"the JWS header carries {name}; the key comes only from x5c")
    if "b64" in header and header["b64"] is not True:
        raise _fail(SubIndication.FORMAT_FAILURE, "unencoded payloads (b64 false) are not accepted")
    if "crit" in header:
        critical = header["crit"]
        if not isinstance(critical, list) or not critical or not all(isinstance(name, str) for name in critical):
            raise _fail(SubIndication.FORMAT_FAILURE, "crit must be a non-empty list of header names")
        if len(set(critical)) != len(critical) or any(name in _REGISTERED for name in critical):
            raise _fail(SubIndication.FORMAT_FAILURE, "crit lists a registered or repeated header name")
        if any(name not in _UNDERSTOOD_CRITICAL or name not in header for name in critical):
            raise _fail(SubIndication.FORMAT_FAILURE, "crit lists a header parameter this examiner does not understand")
    return algorithm


def _claimed_signing_time(header: dict[str, Any], payload: dict[str, Any]) -> datetime | None:
    if "sigT" in header:
        value = header["sigT"]
        if not isinstance(value, str) or not _SIG_T.fullmatch(value):
            raise _fail(SubIndication.FORMAT_FAILURE, "sigT is not a UTC time of the form YYYY-MM-DDThh:mm:ssZ")
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise _fail(SubIndication.FORMAT_FAILURE, "sigT is not a real time") from exc
    issued_at = payload.get("iat")
    if issued_at is None:
        return None
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        raise _fail(SubIndication.FORMAT_FAILURE, "iat is not a NumericDate")
    try:
        return datetime.fromtimestamp(issued_at, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, "iat is not a real time") from exc


def _verify(certificate: x509.Certificate, algorithm: str, signature: bytes, signing_input: bytes) -> None:
    public_key = signer_public_key(certificate)
    try:
        expected = _algorithm_for(public_key)
    except UnsupportedKey as exc:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "the signer's key is neither P-256 nor Ed25519") from exc
    if expected != ("EdDSA" if algorithm == "Ed25519" else algorithm):
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the JWS algorithm does not fit the signer's key")
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, signing_input)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and len(signature) == 64:
            public_key.verify(ecdsa_der(signature), signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the JWS signature does not verify")
    except _CryptographyInvalidSignature as exc:
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the JWS signature does not verify") from exc


def examine_jws(token: bytes | str, *, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> SignatureEvidence:
    """Check a compact-JWS credential's form and signature; raise SignatureFailure unless both hold.

    The signer is the first `x5c` certificate, the others are returned as `certificates`;
    `signed_content` is the payload exactly as signed (UTF-8 JSON), `claimed_signing_time` the
    `sigT` header or else the payload's `iat`. Trust in the certificate is not examined here.
    """
    header_part, payload_part, signature_part = _split(token, max_bytes)
    header = _json_object(_b64url_strict(header_part, "header"), "header")
    payload_bytes = _b64url_strict(payload_part, "payload")
    payload = _json_object(payload_bytes, "payload")
    signature = _b64url_strict(signature_part, "signature")
    algorithm = _check_header(header)
    certificates = _certificates(header)
    thumbprint = header.get("x5t#S256")
    if thumbprint is not None and thumbprint != b64url(hashlib.sha256(certificates[0]).digest()):
        raise _fail(SubIndication.NO_SIGNING_CERTIFICATE_FOUND, "x5t#S256 names another certificate than x5c's first")
    signing_time = _claimed_signing_time(header, payload)
    signer = load_der_certificate(certificates[0])  # parsed once already, in _certificates
    _verify(signer, algorithm, signature, f"{header_part}.{payload_part}".encode("ascii"))
    details: dict[str, Any] = {"typ": header.get("typ")}
    if isinstance(header.get("kid"), str):
        details["kid"] = header["kid"]
    if "credentialStatus" in payload:
        # Where to look the credential's status up (trust._status_list.check_credential_status).
        details["credential_status"] = payload["credentialStatus"]
    return SignatureEvidence(
        format=JWS_FORMAT,
        signature_algorithm=algorithm,
        signer_certificate=certificates[0],
        certificates=tuple(certificates[1:]),
        claimed_signing_time=signing_time,
        signed_content=payload_bytes,
        content_type="application/json",
        details=details,
    )
