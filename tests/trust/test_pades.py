"""PAdES licence PDFs: the attachment round trip, pyhanko's own validation as a second opinion, every refusal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from trust._errors import UnsupportedKey
from trust._pades import examine_pdf, make_licence_pdf, sign_pdf
from trust._report import Indication, SignatureFailure, SubIndication

NOW = datetime.now(UTC).replace(microsecond=0)
RECORD = json.dumps(
    {
        "identifier": "1.2.156.3005.2.11100000000013338W011.91440300MA5G9GXA6C.20260301000001.001.U",
        "holder": "深圳市示例",
    },
    ensure_ascii=False,
).encode()
TITLE = "营业执照"
LINES = ["名称：深圳市示例科技有限公司", "统一社会信用代码：91440300MA5G9GXA6C"]


def _certificate(key: Any, name: str, issuer_key: Any, issuer: str, *, ca: bool) -> bytes:
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = {"key_cert_sign": True, "crl_sign": True, "digital_signature": False}
    else:
        usage = {"key_cert_sign": False, "crl_sign": False, "digital_signature": True}
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=not ca,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    return builder.sign(issuer_key, digest).public_bytes(Encoding.DER)


class Signer:
    def __init__(self, key: Any, name: str, ca: tuple[Any, bytes]) -> None:
        self.key = key
        self.chain = [_certificate(key, name, ca[0], "Test Licence CA", ca=False), ca[1]]

    def pyhanko_signer(self) -> signers.SimpleSigner:
        return signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.chain[0]),
            signing_key=asn1_keys.PrivateKeyInfo.load(
                self.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
            ),
            cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(self.chain[1])]),
        )


@pytest.fixture(scope="module")
def ca() -> tuple[Any, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate(key, "Test Licence CA", key, "Test Licence CA", ca=True)


@pytest.fixture(scope="module")
def p256(ca: tuple[Any, bytes]) -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()), "440300.szamr.licence", ca)


@pytest.fixture(scope="module")
def ed(ca: tuple[Any, bytes]) -> Signer:
    return Signer(ed25519.Ed25519PrivateKey.generate(), "442000.zsamr.licence", ca)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_licence_pdf(TITLE, LINES, {"licence.json": RECORD, "photo.txt": b"not a photo"})


@pytest.fixture(scope="module")
def signed(pdf: bytes, p256: Signer) -> bytes:
    return sign_pdf(pdf, p256.key, p256.chain, NOW)


def _refused(document: bytes, sub_indication: SubIndication, attachment: str = "licence.json") -> SignatureFailure:
    with pytest.raises(SignatureFailure) as caught:
        examine_pdf(document, attachment)
    assert caught.value.sub_indication is sub_indication, repr(caught.value.__cause__ or caught.value)
    return caught.value


def _pyhanko_sign(document: bytes, signer: Signer, field: str, **metadata: Any) -> bytes:
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name=field, **metadata), signer=signer.pyhanko_signer()
    )
    return bytes(pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(document))).getvalue())


def _replace_cms(document: bytes, change: Callable[[cms.ContentInfo], cms.ContentInfo]) -> bytes:
    """Rewrite the CMS in /Contents (outside the signed byte range), padded to the same length."""
    start = document.index(b"/Contents <") + len(b"/Contents <")
    end = document.index(b">", start)
    info = cms.ContentInfo.load(bytes.fromhex(document[start:end].decode()))
    replaced = change(info).dump(force=True).hex().encode()
    assert len(replaced) <= end - start
    return document[:start] + replaced.ljust(end - start, b"0") + document[end:]


def _signed_data(info: cms.ContentInfo) -> Any:
    return info["content"]


# ---- making and signing --------------------------------------------------------------------------------


def test_the_pdf_carries_the_page_and_the_attachments(pdf: bytes) -> None:
    reader = PdfFileReader(BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0]
    assert page["/Resources"]["/Font"]["/F1"]["/BaseFont"] == "/STSong-Light"
    content = page["/Contents"].data
    assert "营业执照".encode("utf-16-be").hex().upper().encode() in content
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert [str(names[0]), str(names[2])] == ["licence.json", "photo.txt"]
    assert names[1]["/EF"]["/F"].data == RECORD
    _refused(pdf, SubIndication.FORMAT_FAILURE)  # not signed


@pytest.mark.parametrize(("signer_name", "algorithm"), [("p256", "ECDSA-SHA256"), ("ed", "Ed25519")])
def test_a_signed_licence_pdf_is_examined(
    signer_name: str, algorithm: str, pdf: bytes, request: pytest.FixtureRequest
) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    signed = sign_pdf(pdf, signer.key, signer.chain, NOW)
    evidence = examine_pdf(signed)
    assert evidence.format == "PAdES"
    assert evidence.signature_algorithm == algorithm
    assert evidence.signer_certificate == signer.chain[0]
    assert evidence.certificates == (signer.chain[1],)
    assert evidence.claimed_signing_time == NOW
    assert evidence.signed_content == RECORD
    assert evidence.content_type == "application/json"
    assert evidence.details["coverage"] == "ENTIRE_FILE"
    assert examine_pdf(signed, "photo.txt").signed_content == b"not a photo"


def test_pyhanko_validates_what_we_sign(signed: bytes, ca: tuple[Any, bytes]) -> None:
    reader = PdfFileReader(BytesIO(signed))
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(ca[1])], allow_fetching=False, revocation_mode="soft-fail"
    )
    status = validate_pdf_signature(reader.embedded_signatures[0], context)
    assert status.intact and status.valid and status.trusted
    assert status.signer_reported_dt == NOW  # from /M: PAdES has no CMS signing-time attribute
    assert reader.embedded_signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_we_examine_what_pyhanko_signs(pdf: bytes, p256: Signer) -> None:
    signed = _pyhanko_sign(pdf, p256, "Other", md_algorithm="sha384")
    evidence = examine_pdf(signed)
    assert evidence.format == "PDF (adbe.pkcs7.detached)"
    assert evidence.signature_algorithm == "ECDSA-SHA384"
    assert evidence.signed_content == RECORD
    assert evidence.claimed_signing_time is not None  # from the CMS signing-time attribute


def test_signing_works_inside_an_event_loop(pdf: bytes, p256: Signer) -> None:
    async def sign() -> bytes:
        return sign_pdf(pdf, p256.key, p256.chain, NOW)

    assert examine_pdf(asyncio.run(sign())).signed_content == RECORD


def test_signing_refuses_wrong_keys_and_times(pdf: bytes, p256: Signer, ed: Signer) -> None:
    with pytest.raises(ValueError, match="not the private key's"):
        sign_pdf(pdf, p256.key, ed.chain, NOW)
    with pytest.raises(ValueError, match="timezone"):
        sign_pdf(pdf, p256.key, p256.chain, NOW.replace(tzinfo=None))
    with pytest.raises(UnsupportedKey):
        sign_pdf(pdf, ec.generate_private_key(ec.SECP384R1()), p256.chain, NOW)  # type: ignore[arg-type]


# ---- tampering -------------------------------------------------------------------------------------------


def test_changed_page_content_is_a_hash_failure(signed: bytes) -> None:
    title = TITLE.encode("utf-16-be").hex().upper().encode()
    forged = signed.replace(title, "吊销执照"[:4].encode("utf-16-be").hex().upper().encode(), 1)
    assert forged != signed
    failure = _refused(forged, SubIndication.HASH_FAILURE)
    assert failure.indication is Indication.TOTAL_FAILED


def test_a_changed_attachment_is_a_hash_failure(p256: Signer) -> None:
    # Uncompressed, so that the record's bytes can be found and changed in place.
    pdf = make_licence_pdf(TITLE, LINES, {"licence.json": b"A" * 64})
    signed = sign_pdf(pdf, p256.key, p256.chain, NOW)
    reader = PdfFileReader(BytesIO(signed))
    assert reader.root["/Names"]["/EmbeddedFiles"]["/Names"][1]["/EF"]["/F"].data == b"A" * 64
    stream = reader.root["/Names"]["/EmbeddedFiles"]["/Names"][1]["/EF"]["/F"].encoded_data
    _refused(signed.replace(stream, stream[:-1] + bytes([stream[-1] ^ 1])), SubIndication.HASH_FAILURE)


def test_a_changed_signature_value_is_a_crypto_failure(signed: bytes) -> None:
    def flip(info: cms.ContentInfo) -> cms.ContentInfo:
        signer_info = _signed_data(info)["signer_infos"][0]
        value = bytearray(signer_info["signature"].native)
        value[-5] ^= 1
        signer_info["signature"] = bytes(value)
        return info

    _refused(_replace_cms(signed, flip), SubIndication.SIG_CRYPTO_FAILURE)


def test_a_changed_message_digest_is_a_hash_failure(signed: bytes) -> None:
    def change(info: cms.ContentInfo) -> cms.ContentInfo:
        for attribute in _signed_data(info)["signer_infos"][0]["signed_attrs"]:
            if attribute["type"].native == "message_digest":
                attribute["values"][0] = cms.OctetString(b"\x00" * 32)
        return info

    # The signature covers the signed attributes, so this also breaks it; the digest is checked first.
    _refused(_replace_cms(signed, change), SubIndication.HASH_FAILURE)


def test_a_missing_or_swapped_certificate_is_no_signing_certificate(signed: bytes, ed: Signer) -> None:
    def drop(info: cms.ContentInfo) -> cms.ContentInfo:
        _signed_data(info)["certificates"] = cms.CertificateSet([])
        return info

    def swap(info: cms.ContentInfo) -> cms.ContentInfo:
        other = asn1_x509.Certificate.load(ed.chain[0])
        signer_info = _signed_data(info)["signer_infos"][0]
        signer_info["sid"] = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": other.issuer, "serial_number": other.serial_number},
        )
        _signed_data(info)["certificates"] = cms.CertificateSet(
            [cms.CertificateChoices(name="certificate", value=other)]
        )
        return info

    _refused(_replace_cms(signed, drop), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)
    _refused(_replace_cms(signed, swap), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)


def test_an_attachment_added_after_signing_is_refused(signed: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    forged = EmbeddedFileObject.from_file_data(writer, b'{"holder": "someone else"}')
    embed_file(writer, FileSpec(file_spec_string="licence.json", embedded_data=forged))
    output = BytesIO()
    writer.write(output)
    failure = _refused(output.getvalue(), SubIndication.FORMAT_FAILURE)
    assert "modified after signing" in str(failure)


def test_validation_data_added_after_signing_is_allowed(signed: bytes, p256: Signer) -> None:
    output = BytesIO(signed)
    DocumentSecurityStore.add_dss(
        output, None, certs=[asn1_x509.Certificate.load(der) for der in p256.chain], force_write=True
    )
    evidence = examine_pdf(output.getvalue())
    assert evidence.details["coverage"] == "ENTIRE_REVISION"
    assert evidence.details["modifications_after_signing"] == "LTA_UPDATES"
    assert evidence.signed_content == RECORD


def test_a_second_signature_is_refused(signed: bytes, ed: Signer) -> None:
    twice = _pyhanko_sign(signed, ed, "Second", subfilter=SigSeedSubFilter.PADES)
    _refused(twice, SubIndication.FORMAT_FAILURE)


def test_sha1_is_refused(pdf: bytes, p256: Signer) -> None:
    def to_sha1(info: cms.ContentInfo) -> cms.ContentInfo:
        _signed_data(info)["signer_infos"][0]["digest_algorithm"] = {"algorithm": "sha1"}
        return info

    _refused(_replace_cms(sign_pdf(pdf, p256.key, p256.chain, NOW), to_sha1), SubIndication.CRYPTO_CONSTRAINTS_FAILURE)


def test_a_missing_attachment_is_signed_data_not_found(signed: bytes) -> None:
    failure = _refused(signed, SubIndication.SIGNED_DATA_NOT_FOUND, attachment="other.json")
    assert failure.indication is Indication.INDETERMINATE


@pytest.mark.parametrize("document", [b"", b"%PDF-1.7\n%%EOF", b"not a pdf", b"%PDF-1.7\n" + b"\x00" * 100])
def test_broken_documents_are_format_failures(document: bytes) -> None:
    _refused(document, SubIndication.FORMAT_FAILURE)


def test_oversized_documents_are_refused(signed: bytes) -> None:
    with pytest.raises(SignatureFailure, match="larger"):
        examine_pdf(signed, max_bytes=1000)
    with pytest.raises(TypeError):
        examine_pdf(bytearray(signed))  # type: ignore[arg-type]


# ---- random tampering ------------------------------------------------------------------------------------


def _spki(der: bytes) -> bytes:
    return (
        x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_fails_or_changes_nothing_signed(signed: bytes, p256: Signer, data: st.DataObject) -> None:
    raw = bytearray(signed)
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        evidence = examine_pdf(bytes(raw))
    except SignatureFailure:
        return
    # Only the zero padding after the CMS in /Contents (or an unsigned certificate) is not signed.
    assert evidence.signed_content == RECORD
    assert _spki(evidence.signer_certificate) == _spki(p256.chain[0])


# ---- bounds ----------------------------------------------------------------------------------------------


def _carried(public_key: Any, count: int) -> list[bytes]:
    """Certificates with the signer's issuer name, as many as asked: what an attacker adds to slow path building."""
    signing_key = ec.generate_private_key(ec.SECP256R1())
    return [
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Licence CA")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rogue {number}")]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
        .public_bytes(Encoding.DER)
        for number in range(count)
    ]


def test_at_most_ten_certificates_are_accepted(pdf: bytes, p256: Signer) -> None:
    extra = _carried(ec.generate_private_key(ec.SECP256R1()).public_key(), 9)
    ten = sign_pdf(pdf, p256.key, [*p256.chain, *extra[:8]], NOW)
    assert len(examine_pdf(ten).certificates) == 9  # the signer's is the tenth
    eleven = sign_pdf(pdf, p256.key, [*p256.chain, *extra], NOW)
    assert "more than 10 certificates" in str(_refused(eleven, SubIndication.FORMAT_FAILURE))


def test_hundreds_of_certificates_with_slow_rsa_keys_are_refused_before_any_use(pdf: bytes, p256: Signer) -> None:
    # The reported attack: 300 RSA keys with huge public exponents under the signer's issuer name.
    modulus = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    slow = rsa.RSAPublicNumbers((1 << 2040) + 1, modulus).public_key()
    crafted = sign_pdf(pdf, p256.key, [*p256.chain, *_carried(slow, 300)], NOW)
    assert "more than 10 certificates" in str(_refused(crafted, SubIndication.FORMAT_FAILURE))


def test_rsa_signers_need_exponent_65537(pdf: bytes, ca: tuple[Any, bytes]) -> None:
    key = rsa.generate_private_key(public_exponent=3, key_size=2048)
    signer = Signer(key, "440300.szamr.licence", ca)
    failure = _refused(sign_pdf(pdf, key, signer.chain, NOW), SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
    assert "65537" in str(failure)
