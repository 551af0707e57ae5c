"""JWKs and RFC 7638 thumbprints: published vectors (RFC 7638, RFC 8037), key kinds, round trips."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.client import public_key_from_jwk
from trust import UnsupportedKey, b64url, b64url_decode, key_kind, public_jwk, thumbprint

# RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1 and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_E = "AQAB"
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

# RFC 8037 appendix A.1 (private d, public x) and A.3 (the thumbprint of the public key).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def rfc7638_key() -> rsa.RSAPublicKey:
    n = int.from_bytes(b64url_decode(RFC7638_N), "big")
    e = int.from_bytes(b64url_decode(RFC7638_E), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def rfc8037_key() -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(RFC8037_X))


# ---- published vectors --------------------------------------------------------------------------


def test_rfc7638_rsa_thumbprint_vector() -> None:
    assert thumbprint(rfc7638_key()) == RFC7638_THUMBPRINT


def test_rfc7638_key_is_2048_bit_with_exponent_65537() -> None:
    key = rfc7638_key()
    assert key.key_size == 2048
    assert key.public_numbers().e == 65537


def test_rfc7638_rsa_members_are_the_published_ones() -> None:
    jwk = public_jwk(rfc7638_key())
    assert (jwk["kty"], jwk["n"], jwk["e"]) == ("RSA", RFC7638_N, RFC7638_E)
    assert jwk["kid"] == RFC7638_THUMBPRINT
    assert jwk["alg"] == "RS256"


def test_rfc8037_ed25519_thumbprint_vector() -> None:
    assert thumbprint(rfc8037_key()) == RFC8037_THUMBPRINT


def test_rfc8037_private_key_derives_the_published_public_key() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert b64url(raw) == RFC8037_X
    assert thumbprint(private.public_key()) == RFC8037_THUMBPRINT


def test_rfc8037_thumbprint_input_is_the_canonical_json() -> None:
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": RFC8037_X}, separators=(",", ":")).encode()
    assert canonical == b'{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}'
    assert b64url(hashlib.sha256(canonical).digest()) == RFC8037_THUMBPRINT


def test_ed25519_jwk_members_are_the_published_ones() -> None:
    jwk = public_jwk(rfc8037_key())
    assert jwk == {
        "crv": "Ed25519",
        "kty": "OKP",
        "x": RFC8037_X,
        "kid": RFC8037_THUMBPRINT,
        "alg": "EdDSA",
        "use": "sig",
    }


def test_thumbprint_depends_on_the_key_bytes() -> None:
    raw = bytearray(b64url_decode(RFC8037_X))
    raw[0] ^= 1
    assert thumbprint(ed25519.Ed25519PublicKey.from_public_bytes(bytes(raw))) != RFC8037_THUMBPRINT


def test_explicit_kid_and_use_are_kept() -> None:
    jwk = public_jwk(rfc8037_key(), kid="gw-2026", use="enc")
    assert (jwk["kid"], jwk["use"]) == ("gw-2026", "enc")


# ---- key kinds --------------------------------------------------------------------------------------


def test_key_kind_ed25519() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    for key in (private, private.public_key()):
        kind = key_kind(key)
        assert (kind.jose_alg, kind.http_sig_alg) == ("EdDSA", "ed25519")


def test_key_kind_p256() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    for key in (private, private.public_key()):
        kind = key_kind(key)
        assert (kind.jose_alg, kind.http_sig_alg) == ("ES256", "ecdsa-p256-sha256")


def test_key_kind_rsa_2048() -> None:
    kind = key_kind(rfc7638_key())
    assert (kind.jose_alg, kind.http_sig_alg) == ("RS256", "rsa-v1_5-sha256")


def test_p384_is_unsupported() -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(UnsupportedKey, match="P-256"):
        key_kind(private.public_key())
    with pytest.raises(UnsupportedKey):
        key_kind(private)
    with pytest.raises(UnsupportedKey):
        public_jwk(private.public_key())


def test_rsa_1024_is_unsupported() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(UnsupportedKey, match="2048"):
        key_kind(private.public_key())
    with pytest.raises(UnsupportedKey):
        key_kind(private)


def test_non_signing_keys_are_unsupported() -> None:
    with pytest.raises(UnsupportedKey):
        key_kind(x25519.X25519PrivateKey.generate().public_key())
    with pytest.raises(UnsupportedKey):
        key_kind(b"not a key")


# ---- round trips ------------------------------------------------------------------------------------


def test_ed25519_public_jwk_round_trips_through_the_client() -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    back = public_key_from_jwk(public_jwk(key))
    assert isinstance(back, ed25519.Ed25519PublicKey)
    assert back.public_bytes(Encoding.Raw, PublicFormat.Raw) == key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert thumbprint(back) == thumbprint(key)


def test_p256_public_jwk_round_trips_through_the_client() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    back = public_key_from_jwk(public_jwk(key))
    assert isinstance(back, ec.EllipticCurvePublicKey)
    assert back.public_numbers() == key.public_numbers()
    assert thumbprint(back) == thumbprint(key)


def _p256_key_with_short_coordinate() -> ec.EllipticCurvePublicKey:
    # A coordinate below 2**248 would be 31 bytes if not padded; RFC 7518 section 6.2.1.2 wants 32.
    for secret in range(1, 10_000):
        public = ec.derive_private_key(secret, ec.SECP256R1()).public_key()
        numbers = public.public_numbers()
        if numbers.x < 2**248 or numbers.y < 2**248:
            return public
    raise AssertionError("no short coordinate found")  # pragma: no cover


def test_p256_coordinates_are_always_32_bytes() -> None:
    key = _p256_key_with_short_coordinate()
    jwk = public_jwk(key)
    assert len(b64url_decode(jwk["x"])) == 32
    assert len(b64url_decode(jwk["y"])) == 32
    assert public_key_from_jwk(jwk).public_numbers() == key.public_numbers()


def test_client_refuses_unsupported_jwks() -> None:
    with pytest.raises(ValueError):
        public_key_from_jwk(public_jwk(rfc7638_key()))
    with pytest.raises(ValueError):
        public_key_from_jwk({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"})


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=80))
def test_b64url_round_trips_without_padding(data: bytes) -> None:
    text = b64url(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
