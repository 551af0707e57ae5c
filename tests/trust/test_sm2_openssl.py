"""SM2 verification by the system's OpenSSL 3: vectors, agreement with gmssl-pyx, choice and fallback, leaks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from conftest import load_vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from trust._errors import InvalidSignature, Sm2BackendUnavailable
from trust._sm2 import (
    DEFAULT_BACKEND,
    PUBLISHED_SIGNATURE,
    SM2_BACKEND_VARIABLE,
    SM2_SIGNER_ID,
    AutoSm2Backend,
    GmsslSm2Backend,
    Sm2PrivateKey,
    encode_signature,
    sm2_backend_in_use,
)
from trust._sm2_openssl import OpenSslSm2Backend

SIGN = load_vectors("gm-sm2-sm3.json")["sm2_sign"]
MISSING_LIBRARY = ("tongban-no-such-libcrypto", "libtongban-no-such-crypto.so.3")

try:
    OPENSSL: OpenSslSm2Backend | None = OpenSslSm2Backend.load()
    WHY_NOT = ""
except Sm2BackendUnavailable as exc:  # pragma: no cover - only on machines without an SM2-capable libcrypto
    OPENSSL, WHY_NOT = None, str(exc)
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason=f"no SM2-capable OpenSSL 3 libcrypto here: {WHY_NOT}")
GMSSL = GmsslSm2Backend()


def _openssl() -> OpenSslSm2Backend:
    assert OPENSSL is not None
    return OPENSSL


@pytest.fixture(scope="module")
def key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate(backend=GMSSL)


def _outcome(backend: object, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> bool:
    try:
        backend.verify(public_key, message, signature, signer_id)  # type: ignore[attr-defined]
    except InvalidSignature:
        return False
    return True


def _flip(data: bytes, bit: int) -> bytes:
    position = bit // 8 % len(data)
    return data[:position] + bytes([data[position] ^ (1 << bit % 8)]) + data[position + 1 :]


def test_the_self_check_example_is_the_published_one() -> None:
    assert PUBLISHED_SIGNATURE.public_key.hex().upper() == "04" + SIGN["public_key_x_hex"] + SIGN["public_key_y_hex"]
    assert PUBLISHED_SIGNATURE.signer_id == SIGN["signer_id_ascii"].encode("ascii")
    assert PUBLISHED_SIGNATURE.message == SIGN["message_ascii"].encode("ascii")
    assert (PUBLISHED_SIGNATURE.r, PUBLISHED_SIGNATURE.s) == (int(SIGN["r_hex"], 16), int(SIGN["s_hex"], 16))


@needs_openssl
def test_the_published_signature_verifies_under_openssl_and_tampered_copies_do_not() -> None:
    public_key = bytes.fromhex("04" + SIGN["public_key_x_hex"] + SIGN["public_key_y_hex"])
    signature = encode_signature(int(SIGN["r_hex"], 16), int(SIGN["s_hex"], 16))
    message, signer_id = SIGN["message_ascii"].encode("ascii"), SIGN["signer_id_ascii"].encode("ascii")
    for backend in (_openssl(), GMSSL):
        assert _outcome(backend, public_key, message, signature, signer_id)
        assert not _outcome(backend, public_key, b"message digesT", signature, signer_id)
        assert not _outcome(backend, public_key, message, signature, b"1234567812345679")
        assert not _outcome(backend, public_key, message, _flip(signature, 300), signer_id)


@needs_openssl
@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=400), signer_id=st.binary(max_size=40), data=st.data())
def test_gmssl_signatures_verify_under_openssl_and_any_bit_flip_fails_under_both(
    key: Sm2PrivateKey, message: bytes, signer_id: bytes, data: st.DataObject
) -> None:
    point = key.public_key().to_bytes()
    signature = key.sign(message, signer_id)
    assert _outcome(_openssl(), point, message, signature, signer_id)
    assert _outcome(GMSSL, point, message, signature, signer_id)
    what = data.draw(st.sampled_from(["message", "signature", "key"] if message else ["signature", "key"]))
    bit = data.draw(st.integers(0, 8 * 72 - 1))
    if what == "message":
        message = _flip(message, bit)
    elif what == "signature":
        signature = _flip(signature, bit)
    else:
        point = point[:1] + _flip(point[1:], bit)  # the 0x04 prefix stays: a flipped point, not another format
    assert not _outcome(_openssl(), point, message, signature, signer_id)
    assert not _outcome(GMSSL, point, message, signature, signer_id)


@needs_openssl
def test_openssl_signatures_by_the_command_line_verify_under_both(tmp_path: Path) -> None:
    import shutil
    import subprocess

    command = shutil.which("openssl")
    if command is None:
        pytest.skip("the openssl command is not installed")
    run = [command, "genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem")]
    assert subprocess.run(run, capture_output=True, timeout=30, check=False).returncode == 0
    (tmp_path / "message").write_bytes(b"Zhongshan business licence")
    signed = subprocess.run(
        [command, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", str(tmp_path / "key.pem"),
         "-in", str(tmp_path / "message"), "-pkeyopt", "distid:1234567812345678", "-out", str(tmp_path / "signature")],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    point = Sm2PrivateKey.from_pem((tmp_path / "key.pem").read_bytes()).public_key().to_bytes()
    signature = (tmp_path / "signature").read_bytes()
    for backend in (_openssl(), GMSSL):
        assert _outcome(backend, point, b"Zhongshan business licence", signature, SM2_SIGNER_ID)
        assert not _outcome(backend, point, b"Zhongshan business licencE", signature, SM2_SIGNER_ID)


@needs_openssl
def test_signatures_must_be_strict_der_under_openssl_too(key: Sm2PrivateKey) -> None:
    signature = key.sign(b"seal")
    point = key.public_key().to_bytes()
    long_form = b"\x30\x81" + bytes([len(signature) - 2]) + signature[2:]  # BER: same r and s
    for candidate in (signature + b"\x00", long_form, b"", b"\x30\x00"):
        assert not _outcome(_openssl(), point, b"seal", candidate, SM2_SIGNER_ID)


# ---- choosing the backend ----------------------------------------------------------------------------


@needs_openssl
def test_auto_chooses_openssl_here_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    backend = AutoSm2Backend("auto")
    with caplog.at_level(logging.INFO, logger="tongban.trust"):
        assert type(backend.verifier()) is OpenSslSm2Backend
        backend.verifier()
    chosen = [record.getMessage() for record in caplog.records if "SM2 verification" in record.getMessage()]
    assert len(chosen) == 1 and "OpenSSL 3" in chosen[0]
    assert backend.name.startswith("openssl (OpenSSL 3")


def test_a_missing_library_falls_back_to_gmssl_and_says_so(
    caplog: pytest.LogCaptureFixture, key: Sm2PrivateKey
) -> None:
    backend = AutoSm2Backend("auto", openssl_names=MISSING_LIBRARY)
    with caplog.at_level(logging.INFO, logger="tongban.trust"):
        assert type(backend.verifier()) is GmsslSm2Backend
    assert backend.name == "gmssl"
    assert any("gmssl-pyx" in r.getMessage() and "not found" in r.getMessage() for r in caplog.records)
    signature = key.sign(b"licence")
    backend.verify(key.public_key().to_bytes(), b"licence", signature, SM2_SIGNER_ID)
    with pytest.raises(InvalidSignature):
        backend.verify(key.public_key().to_bytes(), b"licencE", signature, SM2_SIGNER_ID)


def test_forcing_openssl_when_it_is_missing_is_an_error() -> None:
    backend = AutoSm2Backend("openssl", openssl_names=MISSING_LIBRARY)
    with pytest.raises(Sm2BackendUnavailable, match="TONGBAN_SM2_BACKEND=openssl, but no OpenSSL 3 libcrypto"):
        backend.verifier()


def test_a_library_that_is_not_openssl_3_is_not_used() -> None:
    with pytest.raises(Sm2BackendUnavailable, match="no OpenSSL 3 libcrypto"):
        OpenSslSm2Backend.load(("c",))  # libc: loads, but has none of the EVP calls


@needs_openssl
def test_the_environment_variable_forces_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SM2_BACKEND_VARIABLE, "gmssl")
    assert type(AutoSm2Backend().verifier()) is GmsslSm2Backend
    monkeypatch.setenv(SM2_BACKEND_VARIABLE, "openssl")
    assert type(AutoSm2Backend().verifier()) is OpenSslSm2Backend
    monkeypatch.setenv(SM2_BACKEND_VARIABLE, "fastest")
    with pytest.raises(Sm2BackendUnavailable, match="expected one of auto, openssl, gmssl"):
        AutoSm2Backend().verifier()


@needs_openssl
def test_the_self_check_refuses_a_library_that_accepts_tampered_signatures_or_refuses_good_ones() -> None:
    class AcceptsAnything(OpenSslSm2Backend):
        def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
            return None

    class RefusesEverything(OpenSslSm2Backend):
        def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
            raise InvalidSignature("no")

    library = _openssl()._crypto
    with pytest.raises(Sm2BackendUnavailable, match="accepts a tampered"):
        AcceptsAnything(library).self_check()
    with pytest.raises(Sm2BackendUnavailable, match="does not verify the GM/T 0003 example"):
        RefusesEverything(library).self_check()
    OpenSslSm2Backend(library).self_check()


def test_the_default_backend_signs_with_gmssl_and_verifies_with_its_choice(key: Sm2PrivateKey) -> None:
    signed = Sm2PrivateKey.from_bytes(key.to_bytes())  # the default backend
    signature = signed.sign(b"permit")
    GMSSL.verify(key.public_key().to_bytes(), b"permit", signature, SM2_SIGNER_ID)
    signed.public_key().verify(signature, b"permit")
    with pytest.raises(InvalidSignature):
        signed.public_key().verify(signature, b"permiT")
    expected = OpenSslSm2Backend if sm2_backend_in_use().startswith("openssl (") else GmsslSm2Backend
    assert type(DEFAULT_BACKEND.verifier()) is expected


# ---- resources and threads -----------------------------------------------------------------------------


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@needs_openssl
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc to read the resident size")
def test_twenty_thousand_verifications_keep_memory_flat() -> None:
    # A small key cache, eight keys in turn: EVP_PKEYs are built and freed over and over as well.
    backend = OpenSslSm2Backend(_openssl()._crypto, kept_keys=4)
    keys = [Sm2PrivateKey.generate(backend=GMSSL) for _ in range(8)]
    messages = [f"seal {number}".encode() for number in range(len(keys))]
    signed = [(k.public_key().to_bytes(), m, k.sign(m)) for k, m in zip(keys, messages, strict=True)]

    def run(times: int) -> None:
        for turn in range(times):
            point, message, signature = signed[turn % len(signed)]
            if turn % 4 == 3:  # the refusal path leaves errors on the queue: those must not pile up
                assert not _outcome(backend, point, message + b"!", signature, SM2_SIGNER_ID)
            else:
                assert _outcome(backend, point, message, signature, SM2_SIGNER_ID)

    run(2_000)  # allocator and caches settle
    before = _resident_bytes()
    run(20_000)
    grown = _resident_bytes() - before
    assert grown < 2 * 1024 * 1024, f"resident size grew by {grown} bytes over 20,000 verifications"
    assert backend.kept_keys() == 4


@needs_openssl
def test_threads_share_the_kept_keys_safely() -> None:
    backend = OpenSslSm2Backend(_openssl()._crypto, kept_keys=2)  # evictions while others verify
    keys = [Sm2PrivateKey.generate(backend=GMSSL) for _ in range(5)]
    signed = [(k.public_key().to_bytes(), k.sign(b"bid evaluation")) for k in keys]
    wrong: list[str] = []

    def work(offset: int) -> None:
        for turn in range(300):
            point, signature = signed[(turn + offset) % len(signed)]
            if not _outcome(backend, point, b"bid evaluation", signature, SM2_SIGNER_ID):
                wrong.append(f"thread {offset}: a good signature refused")
            if _outcome(backend, point, b"bid evaluatioN", signature, SM2_SIGNER_ID):
                wrong.append(f"thread {offset}: a tampered message accepted")

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
