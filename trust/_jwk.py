"""Public keys as JWKs (RFC 7517/8037) and their RFC 7638 thumbprints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from trust._errors import UnsupportedKey

__all__ = ["KeyKind", "b64url", "b64url_decode", "key_kind", "public_jwk", "thumbprint"]

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class KeyKind:
    """What a key is good for: its JOSE algorithm and its RFC 9421 algorithm."""

    jose_alg: str  # EdDSA, ES256, RS256
    http_sig_alg: str  # ed25519, ecdsa-p256-sha256, rsa-v1_5-sha256


ED25519 = KeyKind("EdDSA", "ed25519")
ES256 = KeyKind("ES256", "ecdsa-p256-sha256")
RS256 = KeyKind("RS256", "rsa-v1_5-sha256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class NotCanonicalBase64url(ValueError):
    """Base64url that decodes, but is not the one spelling of its bytes (stray bits in the last character)."""


def b64url_decode_strict(text: str, *, canonical: bool = True) -> bytes:
    """Decode unpadded base64url (RFC 7515 section 2): nothing outside its alphabet, no padding.

    Raises ValueError for anything else and, with `canonical`, NotCanonicalBase64url (a ValueError)
    for another spelling of the same bytes, so that no two texts decode alike.
    """
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if canonical and b64url(data) != text:
        raise NotCanonicalBase64url("not canonical base64url")
    return data


def ecdsa_raw(der_signature: bytes, size: int = 32) -> bytes:
    """An ECDSA signature as the fixed-length r || s of JOSE and XML-DSig 1.1, from cryptography's DER."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_der(raw_signature: bytes) -> bytes:
    """The DER of a fixed-length r || s ECDSA (or SM2) signature; its two halves are r and s."""
    half = len(raw_signature) // 2
    return encode_dss_signature(
        int.from_bytes(raw_signature[:half], "big"), int.from_bytes(raw_signature[half:], "big")
    )


def key_kind(key: Any) -> KeyKind:
    """The algorithms a public or private key can be used with; raises UnsupportedKey."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return ED25519
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ES256
        raise UnsupportedKey(f"EC curve {key.curve.name} is not supported; use P-256")
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise UnsupportedKey(f"RSA keys need at least 2048 bits, this one has {key.key_size}")
        return RS256
    raise UnsupportedKey(f"{type(key).__name__} keys are not supported; use Ed25519, ECDSA P-256 or RSA")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def _required_members(key: PublicKey) -> dict[str, str]:
    if isinstance(key, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return {"crv": "Ed25519", "kty": "OKP", "x": b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(_int_bytes(numbers.x, 32)),
            "y": b64url(_int_bytes(numbers.y, 32)),
        }
    rsa_numbers = key.public_numbers()
    return {"e": b64url(_int_bytes(rsa_numbers.e)), "kty": "RSA", "n": b64url(_int_bytes(rsa_numbers.n))}


def thumbprint(key: PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the key's stable id."""
    members = _required_members(key)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest())


def public_jwk(key: PublicKey, *, kid: str | None = None, use: str = "sig") -> dict[str, Any]:
    """The public JWK of a key, with kid (default: its thumbprint), alg and use."""
    kind = key_kind(key)
    jwk: dict[str, Any] = dict(_required_members(key))
    jwk.update({"kid": kid or thumbprint(key), "alg": kind.jose_alg, "use": use})
    return jwk
