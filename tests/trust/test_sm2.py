"""SM2 and SM3: published vectors, both backends, key formats, tampering, and OpenSSL interop."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import load_vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from trust._errors import InvalidSignature, UnsupportedKey
from trust._sm2 import (
    SM2_SIGNER_ID,
    GmsslSm2Backend,
    N,
    ReferenceSm2Backend,
    Remembered,
    Sm2PrivateKey,
    Sm2PublicKey,
    _der_pair,
    _SignatureValue,
    decode_signature,
    encode_signature,
    sm2_z,
    sm3,
    verify_remembered,
)

VECTORS = load_vectors("gm-sm2-sm3.json")
SIGN = VECTORS["sm2_sign"]
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@pytest.fixture(scope="module")
def vector_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.from_bytes(bytes.fromhex(SIGN["private_key_hex"]))


@pytest.fixture(scope="module")
def key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.mark.parametrize("case", VECTORS["sm3"], ids=lambda case: case["message_ascii"][:8])
def test_sm3_matches_the_published_digests(case: dict[str, str]) -> None:
    assert sm3(case["message_ascii"].encode("ascii")).hex() == case["digest_hex"]


def test_the_vector_public_key_is_derived_from_its_private_key(vector_key: Sm2PrivateKey) -> None:
    expected = bytes.fromhex("04" + SIGN["public_key_x_hex"] + SIGN["public_key_y_hex"])
    assert vector_key.public_key().to_bytes() == expected


def test_z_matches_the_published_value(vector_key: Sm2PrivateKey) -> None:
    signer_id = SIGN["signer_id_ascii"].encode("ascii")
    assert sm2_z(vector_key.public_key(), signer_id).hex().upper() == SIGN["z_hex"]
    assert vector_key.public_key().z(signer_id) == sm2_z(vector_key.public_key().to_bytes(), signer_id)


@pytest.mark.parametrize("backend", [GmsslSm2Backend(), ReferenceSm2Backend()], ids=["gmssl", "reference"])
def test_the_published_signature_verifies(vector_key: Sm2PrivateKey, backend: object) -> None:
    signature = encode_signature(int(SIGN["r_hex"], 16), int(SIGN["s_hex"], 16))
    public = Sm2PublicKey.from_bytes(vector_key.public_key().to_bytes(), backend)  # type: ignore[arg-type]
    public.verify(signature, SIGN["message_ascii"].encode("ascii"), SIGN["signer_id_ascii"].encode("ascii"))
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"message digesT")


def test_the_reference_backend_reproduces_r_and_s_with_the_published_nonce(vector_key: Sm2PrivateKey) -> None:
    backend = ReferenceSm2Backend(nonce=lambda: int(SIGN["nonce_k_hex"], 16))
    key = Sm2PrivateKey.from_bytes(vector_key.to_bytes(), backend)
    signature = key.sign(SIGN["message_ascii"].encode("ascii"), SIGN["signer_id_ascii"].encode("ascii"))
    assert signature == encode_signature(int(SIGN["r_hex"], 16), int(SIGN["s_hex"], 16))


@settings(max_examples=25, deadline=None)
@given(message=st.binary(max_size=300), signer_id=st.binary(max_size=40))
def test_round_trip_across_backends(key: Sm2PrivateKey, message: bytes, signer_id: bytes) -> None:
    signature = key.sign(message, signer_id)
    key.public_key().verify(signature, message, signer_id)
    ReferenceSm2Backend().verify(key.public_key().to_bytes(), message, signature, signer_id)
    reference_key = Sm2PrivateKey.from_bytes(key.to_bytes(), ReferenceSm2Backend())
    key.public_key().verify(reference_key.sign(message, signer_id), message, signer_id)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_tampered_message_or_signature_is_refused(key: Sm2PrivateKey, data: st.DataObject) -> None:
    message = data.draw(st.binary(min_size=1, max_size=100))
    signature = key.sign(message)
    which = data.draw(st.sampled_from(["message", "signature", "signer_id"]))
    if which == "message":
        position = data.draw(st.integers(0, len(message) - 1))
        message = message[:position] + bytes([message[position] ^ 0x01]) + message[position + 1 :]
        signer_id = SM2_SIGNER_ID
    elif which == "signature":
        # The signature's length varies with the random nonce: draw from a fixed range, so runs replay.
        position = data.draw(st.integers(0, 71)) % len(signature)
        bit = data.draw(st.integers(0, 7))
        signature = signature[:position] + bytes([signature[position] ^ (1 << bit)]) + signature[position + 1 :]
        signer_id = SM2_SIGNER_ID
    else:
        signer_id = b"1234567812345679"
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, message, signer_id)


def test_another_key_does_not_verify(key: Sm2PrivateKey) -> None:
    other = Sm2PrivateKey.generate()
    with pytest.raises(InvalidSignature):
        other.public_key().verify(key.sign(b"hello"), b"hello")


def test_signatures_must_be_strict_der(key: Sm2PrivateKey) -> None:
    signature = key.sign(b"hello")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature + b"\x00", b"hello")
    r_and_s = signature[2:]
    long_form = b"\x30\x81" + bytes([len(r_and_s)]) + r_and_s  # BER length: same r and s, other bytes
    with pytest.raises(InvalidSignature):
        key.public_key().verify(long_form, b"hello")


def test_key_generation_takes_its_randomness_as_a_parameter() -> None:
    def fixed(n: int) -> bytes:
        return b"\x11" * n

    assert Sm2PrivateKey.generate(fixed) == Sm2PrivateKey.generate(fixed)
    assert Sm2PrivateKey.generate(fixed).to_bytes() == b"\x11" * 32


def test_keys_round_trip_through_pem_and_der(key: Sm2PrivateKey) -> None:
    assert Sm2PrivateKey.from_pem(key.to_pem()) == key
    assert Sm2PrivateKey.from_der(key.to_der()) == key
    assert Sm2PublicKey.from_pem(key.public_key().to_pem()) == key.public_key()
    assert Sm2PublicKey.from_bytes(key.public_key().to_bytes()[1:]) == key.public_key()


def test_points_off_the_curve_and_bad_scalars_are_refused(key: Sm2PrivateKey) -> None:
    point = bytearray(key.public_key().to_bytes())
    point[-1] ^= 0x01
    with pytest.raises(UnsupportedKey):
        Sm2PublicKey.from_bytes(bytes(point))
    with pytest.raises(UnsupportedKey):
        Sm2PrivateKey.from_bytes(b"\x00" * 32)
    with pytest.raises(UnsupportedKey):
        Sm2PrivateKey.from_bytes(b"\xff" * 32)
    with pytest.raises(UnsupportedKey):
        Sm2PublicKey.from_der(b"\x30\x00")


# ---- OpenSSL interop ---------------------------------------------------------------------------------


def _openssl(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *arguments], cwd=cwd, capture_output=True, timeout=30, check=False)


@needs_openssl
def test_an_openssl_key_and_signature_verify_with_ours(tmp_path: Path) -> None:
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", "key.pem", cwd=tmp_path).returncode == 0
    (tmp_path / "message").write_bytes(b"cross-city licence")
    signed = _openssl(
        "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", "key.pem", "-in", "message",
        "-pkeyopt", "distid:1234567812345678", "-out", "signature",
        cwd=tmp_path,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    key = Sm2PrivateKey.from_pem((tmp_path / "key.pem").read_bytes())
    signature = (tmp_path / "signature").read_bytes()
    key.public_key().verify(signature, b"cross-city licence")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"cross-city licencE")


@needs_openssl
def test_our_key_and_signature_verify_with_openssl(tmp_path: Path, key: Sm2PrivateKey) -> None:
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "public.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "message").write_bytes(b"cross-city licence")
    (tmp_path / "signature").write_bytes(key.sign(b"cross-city licence"))
    described = _openssl("pkey", "-in", "key.pem", "-noout", "-text", cwd=tmp_path)
    assert described.returncode == 0 and b"SM2" in described.stdout
    # OpenSSL 3.0's pkeyutl takes the verifier's id as -pkeyopt (it has no -vfyopt).
    verify = (
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", "public.pem",
        "-in", "message", "-sigfile", "signature", "-pkeyopt",
    )  # fmt: skip
    verified = _openssl(*verify, "distid:1234567812345678", cwd=tmp_path)
    assert verified.returncode == 0 and b"Verified Successfully" in verified.stdout, verified.stdout + verified.stderr
    other_id = _openssl(*verify, "distid:1234567812345679", cwd=tmp_path)
    assert other_id.returncode != 0


class _CountingBackend(GmsslSm2Backend):
    """GmSSL, counting the verifications it computes."""

    def __init__(self) -> None:
        self.verified = 0

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        self.verified += 1
        super().verify(public_key, message, signature, signer_id)


def test_a_remembered_verification_vouches_for_exactly_that_signature_and_no_failure_is_remembered() -> None:
    backend = _CountingBackend()
    key = Sm2PrivateKey.generate(backend=backend)
    public = key.public_key()
    signature = key.sign(b"the seal")
    verify_remembered(public, signature, b"the seal")
    verify_remembered(public, signature, b"the seal")
    assert backend.verified == 1  # the second time it was remembered
    other_signature = key.sign(b"the seal")  # a fresh nonce: another valid signature, computed afresh
    verify_remembered(public, other_signature, b"the seal")
    assert backend.verified == 2
    # Anything else in the key is computed afresh, and refused.
    stranger = Sm2PrivateKey.generate(backend=backend).public_key()
    for attempt in (
        lambda: verify_remembered(public, signature, b"the seaL"),
        lambda: verify_remembered(public, signature, b"the seal", b"1234567812345679"),
        lambda: verify_remembered(stranger, signature, b"the seal"),
        lambda: verify_remembered(public, signature[:-1] + bytes([signature[-1] ^ 1]), b"the seal"),
    ):
        with pytest.raises(InvalidSignature):
            attempt()
    assert backend.verified == 6
    with pytest.raises(InvalidSignature):  # a failure was not remembered: checked (and refused) again
        verify_remembered(stranger, signature, b"the seal")
    assert backend.verified == 7
    # Another backend is another key: what one backend verified is not taken on trust by another.
    reference = Sm2PublicKey.from_bytes(public.to_bytes(), ReferenceSm2Backend())
    verify_remembered(reference, signature, b"the seal")
    assert backend.verified == 7


def test_remembered_verifications_are_bounded() -> None:
    remembered = Remembered(2)
    for item in ("a", "b", "c"):
        remembered.add(item)
    assert len(remembered) == 2 and "a" not in remembered and "b" in remembered and "c" in remembered
    assert "b" in remembered  # used last: "c" now goes first
    remembered.add("d")
    assert "c" not in remembered and "b" in remembered


def _decode_by_asn1crypto(signature: bytes) -> tuple[int, int] | None:
    """decode_signature as it was written with asn1crypto: the oracle for the written-out reader."""
    try:
        value = _SignatureValue.load(signature, strict=True)
        r, s = int(value["r"].native), int(value["s"].native)
    except (ValueError, TypeError, KeyError):
        return None
    if not (1 <= r < N and 1 <= s < N) or encode_signature(r, s) != signature:
        return None
    return r, s


@settings(max_examples=300, deadline=None)
@given(
    r=st.integers(0, 2**256 - 1),
    s=st.integers(0, 2**256 - 1),
    edits=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), max_size=2),
    cut=st.integers(-3, 3),
)
def test_the_signature_reader_accepts_exactly_the_der_asn1crypto_accepts(
    r: int, s: int, edits: list[tuple[int, int]], cut: int
) -> None:
    assert _der_pair(r, s) == encode_signature(r, s)
    signature = bytearray(encode_signature(r, s))
    for position, value in edits:
        if position < len(signature):
            signature[position] = value
    candidate = bytes(signature[: len(signature) + cut] if cut < 0 else signature + b"\x00" * cut)
    expected = _decode_by_asn1crypto(candidate)
    if expected is None:
        with pytest.raises(InvalidSignature):
            decode_signature(candidate)
    else:
        assert decode_signature(candidate) == expected
