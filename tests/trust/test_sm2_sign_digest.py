"""Signing a digest the caller computed (协同签名: the client hashes, the service signs): the signature
verifies over the message itself, with the published vector's key and with the reference backend."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trust
from trust._sm2 import PUBLISHED_SIGNATURE


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=300))
def test_a_signature_over_the_digest_verifies_over_the_message(message: bytes) -> None:
    key = trust.Sm2PrivateKey.generate()
    digest = trust.sm3(trust.sm2_z(key.public_key()) + message)
    signature = trust.sm2_sign_digest(key, digest)
    key.public_key().verify(signature, message)
    trust.ReferenceSm2Backend().verify(key.public_key().to_bytes(), message, signature, trust.SM2_SIGNER_ID)
    with pytest.raises(trust.InvalidSignature):
        key.public_key().verify(signature, message + b"x")


def test_the_digest_binds_the_signer_id_and_key() -> None:
    key = trust.Sm2PrivateKey.generate()
    message = PUBLISHED_SIGNATURE.message
    digest = trust.sm3(trust.sm2_z(key.public_key(), b"another id") + message)
    signature = trust.sm2_sign_digest(key, digest)
    key.public_key().verify(signature, message, b"another id")
    with pytest.raises(trust.InvalidSignature):
        key.public_key().verify(signature, message)  # the default id makes another Z


def test_only_a_32_byte_digest_is_signed() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        trust.sm2_sign_digest(trust.Sm2PrivateKey.generate(), b"\x00" * 31)
