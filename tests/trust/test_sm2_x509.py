"""SM2 certificates and CRLs: our chain, tampering, other key types, cryptography's view, and OpenSSL 3.0.

What OpenSSL 3.0 does with SM2 ids, found here: `openssl req/x509/ca/crl` sign certificates and
CRLs with an EMPTY SM2 id unless given `-sigopt distid:...`, and `openssl verify` checks
certificate and CRL signatures with the empty id, ignoring `-vfyopt distid:...`. So OpenSSL 3.0
cannot verify a GM/T 0015 chain (signed with "1234567812345678"); it verifies our chain when we
sign it with the empty id, which shows the structure is right. We verify both kinds; the empty id
only when asked (signer_ids).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trust import _sm2_x509 as sm2_x509
from trust._errors import InvalidCertificate, InvalidSignature, UnsupportedKey
from trust._sm2 import SM2_SIGNER_ID, SM2_WITH_SM3_OID, Sm2PrivateKey
from trust._sm2_x509 import (
    make_sm2_certificate,
    make_sm2_crl,
    sm2_public_key_of_certificate,
    verify_crl_signature,
    verify_issued_by,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@dataclass(frozen=True)
class Chain:
    root: bytes
    intermediate: bytes
    leaf: bytes
    crl: bytes
    root_key: Sm2PrivateKey
    intermediate_key: Sm2PrivateKey


def _chain(signer_id: bytes) -> Chain:
    root_key, intermediate_key, leaf_key = (Sm2PrivateKey.generate() for _ in range(3))
    validity = (NOW - timedelta(days=1), NOW + timedelta(days=3650))
    root = make_sm2_certificate(
        {"country_name": "CN", "organization_name": "Shenzhen CA", "common_name": "Shenzhen SM2 Root"},
        None, root_key, root_key.public_key(), 1, *validity, is_ca=True, signer_id=signer_id,
    )  # fmt: skip
    intermediate = make_sm2_certificate(
        {"country_name": "CN", "organization_name": "Shenzhen CA", "common_name": "Shenzhen SM2 Seal CA"},
        root, root_key, intermediate_key.public_key(), 2, *validity,
        is_ca=True, path_length=0, crl_url="http://127.0.0.1:9/root.crl", signer_id=signer_id,
    )  # fmt: skip
    leaf = make_sm2_certificate(
        {"country_name": "CN", "organization_name": "深圳市市场监督管理局", "common_name": "电子证照签章"},
        intermediate, intermediate_key, leaf_key.public_key(), 0x1234,
        NOW - timedelta(days=1), NOW + timedelta(days=365),
        extended_key_usage=["email_protection"], crl_url="http://127.0.0.1:9/seal-ca.crl", signer_id=signer_id,
    )  # fmt: skip
    crl = make_sm2_crl(
        intermediate, intermediate_key, [(0x99, NOW - timedelta(hours=2))], NOW - timedelta(hours=1),
        NOW + timedelta(days=7), signer_id=signer_id,
    )  # fmt: skip
    return Chain(root, intermediate, leaf, crl, root_key, intermediate_key)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return _chain(SM2_SIGNER_ID)


@pytest.fixture(scope="module")
def p256_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "P-256")])
    certificate = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_the_chain_verifies(chain: Chain) -> None:
    verify_issued_by(chain.root, chain.root)
    verify_issued_by(chain.intermediate, chain.root)
    verify_issued_by(chain.leaf, chain.intermediate)
    verify_crl_signature(chain.crl, chain.intermediate)


def test_the_wrong_issuer_is_refused(chain: Chain) -> None:
    with pytest.raises(InvalidSignature):
        verify_issued_by(chain.leaf, chain.root)  # another name
    impostor_key = Sm2PrivateKey.generate()
    impostor = make_sm2_certificate(
        {"country_name": "CN", "organization_name": "Shenzhen CA", "common_name": "Shenzhen SM2 Seal CA"},
        chain.root, chain.root_key, impostor_key.public_key(), 3, NOW, NOW + timedelta(days=1), is_ca=True,
    )  # fmt: skip
    with pytest.raises(InvalidSignature):
        verify_issued_by(chain.leaf, impostor)  # the same name, another key
    with pytest.raises(InvalidSignature):
        verify_crl_signature(chain.crl, impostor)


def test_a_changed_certificate_or_crl_is_refused(chain: Chain) -> None:
    serial_position = chain.leaf.index(b"\x02\x02\x12\x34") + 3  # inside the serial number 0x1234
    with pytest.raises(InvalidSignature):
        verify_issued_by(_flip(chain.leaf, serial_position), chain.intermediate)
    with pytest.raises(InvalidSignature):
        verify_issued_by(_flip(chain.leaf, len(chain.leaf) - 3), chain.intermediate)  # in the signature
    revoked_position = chain.crl.index(b"\x02\x02\x00\x99") + 3
    with pytest.raises(InvalidSignature):
        verify_crl_signature(_flip(chain.crl, revoked_position), chain.intermediate)


def test_a_certificate_signed_under_another_id_is_refused_unless_that_id_is_allowed() -> None:
    chain = _chain(b"")
    with pytest.raises(InvalidSignature):
        verify_issued_by(chain.leaf, chain.intermediate)
    verify_issued_by(chain.leaf, chain.intermediate, signer_ids=(SM2_SIGNER_ID, b""))
    with pytest.raises(InvalidSignature):
        verify_crl_signature(chain.crl, chain.intermediate)
    verify_crl_signature(chain.crl, chain.intermediate, signer_ids=(SM2_SIGNER_ID, b""))


def test_non_sm2_keys_and_garbage(chain: Chain, p256_certificate: bytes) -> None:
    with pytest.raises(UnsupportedKey):
        verify_issued_by(chain.leaf, p256_certificate)
    with pytest.raises(UnsupportedKey):
        sm2_public_key_of_certificate(p256_certificate)
    with pytest.raises(InvalidCertificate):
        sm2_public_key_of_certificate(b"\x30\x03\x02\x01\x01")
    with pytest.raises(InvalidSignature):
        verify_issued_by(p256_certificate, chain.root)  # names another issuer and is not SM2-signed


def test_the_public_key_of_a_certificate(chain: Chain) -> None:
    assert sm2_public_key_of_certificate(chain.intermediate) == chain.intermediate_key.public_key()


def test_cryptography_reads_what_the_engine_needs(chain: Chain) -> None:
    leaf = cx509.load_der_x509_certificate(chain.leaf)
    assert leaf.signature_algorithm_oid.dotted_string == SM2_WITH_SM3_OID
    assert leaf.issuer == cx509.load_der_x509_certificate(chain.intermediate).subject
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "深圳市市场监督管理局"
    assert leaf.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca is False
    points = leaf.extensions.get_extension_for_class(cx509.CRLDistributionPoints).value
    assert points[0].full_name == [cx509.UniformResourceIdentifier("http://127.0.0.1:9/seal-ca.crl")]
    assert leaf.not_valid_after_utc == NOW + timedelta(days=365)
    crl = cx509.load_der_x509_crl(chain.crl)
    assert crl.get_revoked_certificate_by_serial_number(0x99) is not None
    assert crl.get_revoked_certificate_by_serial_number(0x1234) is None
    assert crl.next_update_utc == NOW + timedelta(days=7)


def test_a_self_signed_certificate_needs_the_subject_key() -> None:
    key, other = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    with pytest.raises(ValueError, match="self-signed"):
        make_sm2_certificate({"common_name": "x"}, None, key, other.public_key(), 1, NOW, NOW + timedelta(days=1))


# ---- OpenSSL 3.0 ---------------------------------------------------------------------------------------


def _openssl(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *arguments], cwd=cwd, capture_output=True, timeout=30, check=False)


def _write(folder: Path, chain: Chain) -> None:
    (folder / "root.pem").write_bytes(pem.armor("CERTIFICATE", chain.root))
    (folder / "intermediate.pem").write_bytes(pem.armor("CERTIFICATE", chain.intermediate))
    (folder / "leaf.pem").write_bytes(pem.armor("CERTIFICATE", chain.leaf))
    (folder / "both.pem").write_bytes(
        pem.armor("CERTIFICATE", chain.root) + pem.armor("CERTIFICATE", chain.intermediate)
    )
    (folder / "seal-ca.crl").write_bytes(pem.armor("X509 CRL", chain.crl))


@needs_openssl
def test_openssl_parses_our_certificates_and_crl(tmp_path: Path, chain: Chain) -> None:
    _write(tmp_path, chain)
    shown = _openssl("x509", "-in", "leaf.pem", "-noout", "-text", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert b"SM2-with-SM3" in shown.stdout and b"ASN1 OID: SM2" in shown.stdout
    assert b"URI:http://127.0.0.1:9/seal-ca.crl" in shown.stdout
    listed = _openssl("crl", "-in", "seal-ca.crl", "-noout", "-text", cwd=tmp_path)
    assert listed.returncode == 0 and b"Serial Number: 99" in listed.stdout


@needs_openssl
def test_openssl_verifies_our_chain_and_crl_signed_with_its_empty_id(tmp_path: Path) -> None:
    _write(tmp_path, _chain(b""))
    verified = _openssl(
        "verify", "-x509_strict", "-check_ss_sig", "-crl_check", "-CAfile", "both.pem", "-CRLfile", "seal-ca.crl",
        "-attime", str(int(NOW.timestamp())), "leaf.pem",
        cwd=tmp_path,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


@needs_openssl
def test_openssl_3_0_cannot_verify_a_chain_signed_with_the_gm_t_0015_id(tmp_path: Path, chain: Chain) -> None:
    _write(tmp_path, chain)
    refused = _openssl(
        "verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "root.pem", "-untrusted", "intermediate.pem",
        "-attime", str(int(NOW.timestamp())), "leaf.pem",
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode != 0 and b"certificate signature failure" in refused.stdout + refused.stderr


@needs_openssl
def test_we_verify_certificates_made_by_openssl(tmp_path: Path) -> None:
    made = _openssl(
        "req", "-x509", "-newkey", "sm2", "-nodes", "-keyout", "key.pem", "-out", "gm.pem", "-subj", "/CN=GM id",
        "-sm3", "-sigopt", "distid:1234567812345678", "-days", "30",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    made = _openssl(
        "req", "-x509", "-newkey", "sm2", "-nodes", "-keyout", "key2.pem", "-out", "empty.pem",
        "-subj", "/CN=empty id", "-sm3", "-days", "30",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    gm_id = pem.unarmor((tmp_path / "gm.pem").read_bytes())[2]
    empty_id = pem.unarmor((tmp_path / "empty.pem").read_bytes())[2]
    verify_issued_by(gm_id, gm_id)
    with pytest.raises(InvalidSignature):
        verify_issued_by(empty_id, empty_id)
    verify_issued_by(empty_id, empty_id, signer_ids=(SM2_SIGNER_ID, b""))
    key = Sm2PrivateKey.from_pem((tmp_path / "key.pem").read_bytes())
    assert sm2_public_key_of_certificate(gm_id) == key.public_key()


def test_a_remembered_certificate_signature_holds_only_for_the_ids_and_bytes_it_was_checked_with(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_id = _chain(b"")
    verify_issued_by(empty_id.leaf, empty_id.intermediate, signer_ids=(SM2_SIGNER_ID, b""))
    verify_issued_by(empty_id.leaf, empty_id.intermediate, signer_ids=(SM2_SIGNER_ID, b""))
    with pytest.raises(InvalidSignature):  # remembered with the empty id allowed; not without it
        verify_issued_by(empty_id.leaf, empty_id.intermediate)
    verify_issued_by(chain.leaf, chain.intermediate)
    # Remembered now: the SM2 arithmetic is not done again for the same bytes...
    calls: list[bytes] = []
    original = sm2_x509._check_sm2_signature

    def counting(*arguments: object, **options: object) -> None:
        calls.append(b"")
        original(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(sm2_x509, "_check_sm2_signature", counting)
    verify_issued_by(chain.leaf, chain.intermediate)
    assert calls == []
    # ...but any other certificate bytes are checked, and refused.
    with pytest.raises(InvalidSignature):
        verify_issued_by(_flip(chain.leaf, len(chain.leaf) - 3), chain.intermediate)
    assert len(calls) == 1
