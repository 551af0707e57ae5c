"""SES seals and seal signatures (GB/T 38540 v4, GM/T 0031 v1): each verdict, tampering, OpenSSL as signer."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust import _ses
from trust._report import Indication, SignatureFailure, SubIndication
from trust._ses import (
    SES_V1_FORMAT,
    SES_V4_FORMAT,
    CertDigestList,
    SealPicture,
    SESealV4,
    SesSignatureV1,
    SesSignatureV4,
    TbsSignV1,
    TbsSignV4,
    assemble_ses_signature,
    embedded_seal,
    examine_seal,
    examine_ses_signature,
    make_seal,
    ses_to_be_signed,
    sign_ses,
)
from trust._sm2 import SM2_SIGNER_ID, Sm2PrivateKey, decode_signature, sm3
from trust._sm2_x509 import make_sm2_certificate

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DATA = b'{"licence_no": "440300-2026-000123", "holder": "91440300MA5G00000X"}'
PROPERTY = "/Doc_0/Signs/Sign_0/Signature.xml"
OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Pki:
    maker_certificate: bytes
    maker_key: Sm2PrivateKey
    signer_certificate: bytes
    signer_key: Sm2PrivateKey
    stranger_certificate: bytes  # a valid signer the seal does not name
    stranger_key: Sm2PrivateKey
    seals: dict[int, bytes]

    def sign(self, version: int, data: bytes = DATA, *, at: datetime = NOW) -> bytes:
        return sign_ses(version, self.seals[version], data, self.signer_certificate, self.signer_key, at, PROPERTY)


def _certificate(issuer: bytes | None, issuer_key: Sm2PrivateKey, key: Sm2PrivateKey, name: str, serial: int) -> bytes:
    return make_sm2_certificate(
        {"country_name": "CN", "common_name": name}, issuer, issuer_key, key.public_key(), serial,
        NOW - timedelta(days=30), NOW + timedelta(days=3650), is_ca=issuer is None,
    )  # fmt: skip


PICTURE = SealPicture("PNG", b"\x89PNG\r\n\x1a\n a red circle", 42, 42)


def _seal(pki_parts: dict[str, object], version: int, **overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "version": version,
        "es_id": f"44030000{version}0001",
        "name": "深圳市市场监督管理局电子证照专用章",
        "seal_type": 1,
        "signer_certificates": [pki_parts["signer_certificate"]],
        "valid_from": NOW - timedelta(days=10),
        "valid_until": NOW + timedelta(days=365),
        "picture": PICTURE,
        "maker_certificate": pki_parts["maker_certificate"],
        "maker_key": pki_parts["maker_key"],
    }
    arguments.update(overrides)
    return make_seal(**arguments)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki() -> Pki:
    root_key, maker_key, signer_key, stranger_key = (Sm2PrivateKey.generate() for _ in range(4))
    root = _certificate(None, root_key, root_key, "Shenzhen SM2 Root", 1)
    parts: dict[str, object] = {
        "maker_certificate": _certificate(root, root_key, maker_key, "Shenzhen seal platform", 2),
        "maker_key": maker_key,
        "signer_certificate": _certificate(root, root_key, signer_key, "Shenzhen licence registry", 3),
        "signer_key": signer_key,
        "stranger_certificate": _certificate(root, root_key, stranger_key, "Somebody else", 4),
        "stranger_key": stranger_key,
    }
    seals = {version: _seal(parts, version) for version in (4, 1)}
    return Pki(seals=seals, **parts)  # type: ignore[arg-type]


def _expect(sub_indication: SubIndication, examine: Callable[[], object]) -> SignatureFailure:
    with pytest.raises(SignatureFailure) as caught:
        examine()
    assert caught.value.sub_indication is sub_indication, str(caught.value)
    return caught.value


@pytest.mark.parametrize(("version", "format_name"), [(4, SES_V4_FORMAT), (1, SES_V1_FORMAT)])
def test_a_valid_signature_yields_its_evidence(pki: Pki, version: int, format_name: str) -> None:
    evidence = examine_ses_signature(pki.sign(version), DATA)
    assert evidence.format == format_name
    assert evidence.signature_algorithm == "SM2-with-SM3"
    assert evidence.signer_certificate == pki.signer_certificate
    assert evidence.claimed_signing_time == NOW
    assert evidence.signed_content == DATA
    assert evidence.details["property_info"] == PROPERTY
    seal = evidence.seal
    assert seal is not None
    assert (seal.seal_id, seal.name, seal.seal_type, seal.version) == (
        f"44030000{version}0001",
        "深圳市市场监督管理局电子证照专用章",
        1,
        version,
    )
    assert (seal.valid_from, seal.valid_until) == (NOW - timedelta(days=10), NOW + timedelta(days=365))
    assert seal.maker_certificate == pki.maker_certificate
    assert seal.signer_certificates == (pki.signer_certificate,)


@pytest.mark.parametrize("version", [4, 1])
def test_a_seal_alone_is_examined(pki: Pki, version: int) -> None:
    summary = examine_seal(pki.seals[version])
    assert summary.version == version and summary.signer_certificates == (pki.signer_certificate,)
    assert embedded_seal(pki.sign(version)) == pki.seals[version]


@pytest.mark.parametrize("version", [4, 1])
def test_other_data_is_a_hash_failure(pki: Pki, version: int) -> None:
    failure = _expect(SubIndication.HASH_FAILURE, lambda: examine_ses_signature(pki.sign(version), DATA + b" "))
    assert failure.indication is Indication.TOTAL_FAILED


@pytest.mark.parametrize("garbage", [b"", b"\x30\x00", b"\x30\x03\x02\x01\x04", b"not asn.1 at all"])
def test_garbage_is_a_format_failure(garbage: bytes) -> None:
    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_ses_signature(garbage, DATA))
    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_seal(garbage))


@pytest.mark.parametrize("version", [4, 1])
def test_trailing_bytes_are_a_format_failure(pki: Pki, version: int) -> None:
    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_ses_signature(pki.sign(version) + b"\x00", DATA))


def _resigned_v4(pki: Pki, mutate: Callable[[TbsSignV4], None]) -> bytes:
    tbs = TbsSignV4.load(ses_to_be_signed(4, pki.seals[4], DATA, pki.signer_certificate, NOW, PROPERTY))
    mutate(tbs)
    encoded = tbs.dump(force=True)
    return assemble_ses_signature(4, encoded, pki.signer_certificate, pki.signer_key.sign(encoded))


def test_a_wrong_version_is_a_format_failure(pki: Pki) -> None:
    def version_5(tbs: TbsSignV4) -> None:
        tbs["version"] = 5

    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_ses_signature(_resigned_v4(pki, version_5), DATA))


def test_an_unknown_signature_algorithm_is_a_format_failure(pki: Pki) -> None:
    parsed = SesSignatureV4.load(pki.sign(4))
    parsed["signature_alg_id"] = "1.2.840.10045.4.3.2"  # ecdsa-with-SHA256
    failure = _expect(SubIndication.FORMAT_FAILURE, lambda: examine_ses_signature(parsed.dump(force=True), DATA))
    assert "SM2-with-SM3" in str(failure)


def _v4_seal_with(pki: Pki, mutate: Callable[[SESealV4], None], *, maker_key: Sm2PrivateKey | None = None) -> bytes:
    seal = SESealV4.load(pki.seals[4])
    mutate(seal)
    info = seal["e_seal_info"].dump(force=True)
    seal["signed_value"] = (maker_key or pki.maker_key).sign(info)
    return seal.dump(force=True)


def test_a_seal_header_that_is_not_es_is_a_format_failure(pki: Pki) -> None:
    def rename(seal: SESealV4) -> None:
        seal["e_seal_info"]["header"]["id"] = "EX"

    seal = _v4_seal_with(pki, rename)
    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_seal(seal))
    signature = sign_ses(4, seal, DATA, pki.signer_certificate, pki.signer_key, NOW, PROPERTY)
    _expect(SubIndication.FORMAT_FAILURE, lambda: examine_ses_signature(signature, DATA))


@pytest.mark.parametrize("version", [4, 1])
def test_a_signature_by_another_key_is_a_crypto_failure(pki: Pki, version: int) -> None:
    to_be_signed = ses_to_be_signed(version, pki.seals[version], DATA, pki.signer_certificate, NOW, PROPERTY)
    forged = assemble_ses_signature(version, to_be_signed, pki.signer_certificate, pki.stranger_key.sign(to_be_signed))
    failure = _expect(SubIndication.SIG_CRYPTO_FAILURE, lambda: examine_ses_signature(forged, DATA))
    assert "signer" in str(failure)


def test_a_seal_not_signed_by_its_maker_is_a_crypto_failure(pki: Pki) -> None:
    def nothing(seal: SESealV4) -> None:
        return None

    forged_seal = _v4_seal_with(pki, nothing, maker_key=pki.stranger_key)
    failure = _expect(SubIndication.SIG_CRYPTO_FAILURE, lambda: examine_seal(forged_seal))
    assert "maker" in str(failure)
    signature = sign_ses(4, forged_seal, DATA, pki.signer_certificate, pki.signer_key, NOW, PROPERTY)
    _expect(SubIndication.SIG_CRYPTO_FAILURE, lambda: examine_ses_signature(signature, DATA))


def test_a_changed_v1_seal_is_a_crypto_failure(pki: Pki) -> None:
    signature = SesSignatureV1.load(pki.sign(1))
    tbs = signature["to_sign"]
    tbs["eseal"]["eseal_info"]["property"]["name"] = "另一个印章"
    encoded = tbs.dump(force=True)
    resigned = assemble_ses_signature(1, encoded, pki.signer_certificate, pki.signer_key.sign(encoded))
    failure = _expect(SubIndication.SIG_CRYPTO_FAILURE, lambda: examine_ses_signature(resigned, DATA))
    assert "maker" in str(failure)


@pytest.mark.parametrize("version", [4, 1])
def test_a_signer_the_seal_does_not_name_is_a_constraints_failure(pki: Pki, version: int) -> None:
    signature = sign_ses(version, pki.seals[version], DATA, pki.stranger_certificate, pki.stranger_key, NOW, PROPERTY)
    failure = _expect(SubIndication.SIG_CONSTRAINTS_FAILURE, lambda: examine_ses_signature(signature, DATA))
    assert failure.indication is Indication.INDETERMINATE


@pytest.mark.parametrize("version", [4, 1])
@pytest.mark.parametrize("when", [NOW - timedelta(days=11), NOW + timedelta(days=366)], ids=["before", "after"])
def test_signing_outside_the_seal_validity_is_seal_not_valid(pki: Pki, version: int, when: datetime) -> None:
    _expect(SubIndication.SEAL_NOT_VALID, lambda: examine_ses_signature(pki.sign(version, at=when), DATA))


def test_a_seal_listing_certificate_digests_names_its_signer(pki: Pki) -> None:
    def digests(seal: SESealV4) -> None:
        prop = seal["e_seal_info"]["property"]
        prop["cert_list_type"] = 2
        listing = CertDigestList([{"type": "SM3", "value": sm3(pki.signer_certificate)}])
        prop["cert_list"] = core.Any.load(listing.dump())

    seal = _v4_seal_with(pki, digests)
    evidence = examine_ses_signature(
        sign_ses(4, seal, DATA, pki.signer_certificate, pki.signer_key, NOW, PROPERTY), DATA
    )
    assert evidence.details["seal_cert_list_type"] == 2
    stranger = sign_ses(4, seal, DATA, pki.stranger_certificate, pki.stranger_key, NOW, PROPERTY)
    _expect(SubIndication.SIG_CONSTRAINTS_FAILURE, lambda: examine_ses_signature(stranger, DATA))


def test_a_raw_r_and_s_signature_value_is_read_as_producers_write_it(pki: Pki) -> None:
    to_be_signed = ses_to_be_signed(4, pki.seals[4], DATA, pki.signer_certificate, NOW, PROPERTY)
    r, s = decode_signature(pki.signer_key.sign(to_be_signed))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    examine_ses_signature(assemble_ses_signature(4, to_be_signed, pki.signer_certificate, raw), DATA)


@pytest.mark.parametrize(
    ("time_text", "expected"),
    [
        (b"261201080000Z", NOW),
        (b"20261201080000Z", NOW),
        ("2026-12-01 16:00:00".encode("ascii"), NOW),  # ofdrw writes Beijing local time
    ],
)
def test_v1_time_texts_are_read(pki: Pki, time_text: bytes, expected: datetime) -> None:
    tbs = TbsSignV1.load(ses_to_be_signed(1, pki.seals[1], DATA, pki.signer_certificate, NOW, PROPERTY))
    tbs["time_info"] = time_text
    encoded = tbs.dump(force=True)
    signature = assemble_ses_signature(1, encoded, pki.signer_certificate, pki.signer_key.sign(encoded))
    assert examine_ses_signature(signature, DATA).claimed_signing_time == expected


def test_builders_refuse_a_key_that_does_not_match(pki: Pki) -> None:
    with pytest.raises(ValueError, match="signer"):
        sign_ses(4, pki.seals[4], DATA, pki.signer_certificate, pki.stranger_key, NOW, PROPERTY)
    with pytest.raises(ValueError, match="maker"):
        make_seal(
            4, "x", "x", 1, [pki.signer_certificate], NOW, NOW + timedelta(days=1), PICTURE,
            pki.maker_certificate, pki.stranger_key,
        )  # fmt: skip


@pytest.mark.parametrize("version", [4, 1])
def test_every_flipped_bit_is_caught(pki: Pki, version: int) -> None:
    signature = pki.sign(version)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(position=st.integers(0, len(signature) - 1), bit=st.integers(0, 7))
    def flipped(position: int, bit: int) -> None:
        tampered = signature[:position] + bytes([signature[position] ^ (1 << bit)]) + signature[position + 1 :]
        with pytest.raises(SignatureFailure):
            examine_ses_signature(tampered, DATA)

    flipped()


# ---- OpenSSL as the signer -------------------------------------------------------------------------------


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
def test_a_tbs_sign_signed_by_openssl_verifies(tmp_path: Path, pki: Pki) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "SM2", "-out", "signer.pem"], cwd=tmp_path, check=True)
    signer_key = Sm2PrivateKey.from_pem((tmp_path / "signer.pem").read_bytes())
    signer_certificate = make_sm2_certificate(
        {"common_name": "OpenSSL signer"}, pki.maker_certificate, pki.maker_key, signer_key.public_key(), 9,
        NOW - timedelta(days=1), NOW + timedelta(days=30),
    )  # fmt: skip
    seal = make_seal(
        4, "openssl-seal", "OpenSSL 测试章", 2, [signer_certificate], NOW - timedelta(days=1),
        NOW + timedelta(days=30), PICTURE, pki.maker_certificate, pki.maker_key,
    )  # fmt: skip
    to_be_signed = ses_to_be_signed(4, seal, DATA, signer_certificate, NOW, PROPERTY)
    (tmp_path / "tbs.der").write_bytes(to_be_signed)
    signed = subprocess.run(
        [
            OPENSSL, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", "signer.pem",
            "-pkeyopt", f"distid:{SM2_SIGNER_ID.decode('ascii')}", "-in", "tbs.der", "-out", "tbs.sig",
        ],
        cwd=tmp_path, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    signature = assemble_ses_signature(4, to_be_signed, signer_certificate, (tmp_path / "tbs.sig").read_bytes())
    evidence = examine_ses_signature(signature, DATA)
    assert evidence.signer_certificate == signer_certificate and evidence.seal is not None
    assert evidence.seal.name == "OpenSSL 测试章"
    _expect(SubIndication.HASH_FAILURE, lambda: examine_ses_signature(signature, DATA[:-1]))


@pytest.mark.parametrize("version", [4, 1])
def test_a_seal_remembered_from_earlier_signatures_vouches_for_no_changed_seal(pki: Pki, version: int) -> None:
    embedded = _ses._embedded_seal_v4 if version == 4 else _ses._embedded_seal_v1
    examine_ses_signature(pki.sign(version), DATA)
    hits = embedded.cache_info().hits
    other_data = b'{"licence_no": "440300-2026-000124"}'
    evidence = examine_ses_signature(pki.sign(version, other_data), other_data)
    assert embedded.cache_info().hits == hits + 1  # the same seal, parsed once
    assert evidence.seal is not None and evidence.seal.name == "深圳市市场监督管理局电子证照专用章"
    # The seal's name changed, its maker's signature kept, the whole re-signed by the signer: refused.
    if version == 4:
        signature_v4 = SesSignatureV4.load(pki.sign(4))
        tbs = signature_v4["to_sign"]
        tbs["eseal"]["e_seal_info"]["property"]["name"] = "另一个印章"
    else:
        signature_v1 = SesSignatureV1.load(pki.sign(1))
        tbs = signature_v1["to_sign"]
        tbs["eseal"]["eseal_info"]["property"]["name"] = "另一个印章"
    encoded = tbs.dump(force=True)
    resigned = assemble_ses_signature(version, encoded, pki.signer_certificate, pki.signer_key.sign(encoded))
    failure = _expect(SubIndication.SIG_CRYPTO_FAILURE, lambda: examine_ses_signature(resigned, DATA))
    assert "maker" in str(failure)
    # And a seal that does not parse is refused every time it comes, remembered or not.
    broken = bytearray(pki.sign(version))
    position = bytes(broken).index(pki.maker_certificate[:8])
    broken[position] ^= 0xFF
    for _ in range(2):
        with pytest.raises(SignatureFailure):
            examine_ses_signature(bytes(broken), DATA)
