"""Enveloped XML-DSig licences, plain and XAdES-BES: signxml interop, wrapping, algorithm refusals, random tampering."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidSignature
from signxml.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from trust._errors import UnsupportedKey
from trust._report import Indication, SignatureFailure, SubIndication
from trust._xml import XmlRejected, parse_xml
from trust._xmldsig import examine_xml, sign_xml

NOW = datetime.now(UTC)
SIGNING_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "l": "urn:tongban:licence", "xades": XADES}
LICENCE = """<?xml version="1.0" encoding="UTF-8"?>
<l:Licence xmlns:l="urn:tongban:licence" l:version="1">
  <l:Identifier>1.2.156.3005.2.11100000000013338W011.91440300MA5G9GXA6C.20260301000001.001.U</l:Identifier>
  <l:Holder code="91440300MA5G9GXA6C">深圳市示例科技有限公司</l:Holder>
  <l:IssuedOn>2026-03-01</l:IssuedOn>
</l:Licence>
""".encode()


def _certificate(key: Any, name: str, issuer_key: Any, issuer: str) -> bytes:
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=key is issuer_key, path_length=None), critical=True)
        .sign(issuer_key, digest)
        .public_bytes(Encoding.DER)
    )


class Signer:
    def __init__(self, key: Any, name: str, ca_key: Any, ca_der: bytes) -> None:
        self.key = key
        self.chain = [_certificate(key, name, ca_key, "Test Licence CA"), ca_der]

    @property
    def pem(self) -> str:
        return x509.load_der_x509_certificate(self.chain[0]).public_bytes(Encoding.PEM).decode()


@pytest.fixture(scope="module")
def ca() -> tuple[Any, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate(key, "Test Licence CA", key, "Test Licence CA")


@pytest.fixture(scope="module")
def p256(ca: tuple[Any, bytes]) -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()), "440300.szamr.licence", *ca)


@pytest.fixture(scope="module")
def rsa_signer(ca: tuple[Any, bytes]) -> Signer:
    return Signer(rsa.generate_private_key(65537, 2048), "442000.zsamr.licence", *ca)


@pytest.fixture(scope="module")
def signed(p256: Signer) -> bytes:
    return sign_xml(LICENCE, p256.key, p256.chain)


@pytest.fixture(scope="module")
def xades_signed(p256: Signer) -> bytes:
    return sign_xml(LICENCE, p256.key, p256.chain, SIGNING_TIME)


def _refused(document: bytes, sub_indication: SubIndication) -> SignatureFailure:
    with pytest.raises(SignatureFailure) as caught:
        examine_xml(document)
    assert caught.value.sub_indication is sub_indication, str(caught.value)
    return caught.value


def _edit(document: bytes, change: Any) -> bytes:
    root = parse_xml(document)
    replacement = change(root)
    return bytes(etree.tostring(root if replacement is None else replacement, xml_declaration=True, encoding="UTF-8"))


def _one(root: Any, path: str) -> Any:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, path
    return found[0]


def _signxml(document: bytes, signer: Signer, **options: Any) -> bytes:
    algorithm = "ecdsa-sha256" if isinstance(signer.key, ec.EllipticCurvePrivateKey) else "rsa-sha256"
    xml_signer = XMLSigner(
        signature_algorithm=algorithm, c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#", **options
    )
    certificates = [x509.load_der_x509_certificate(der) for der in signer.chain]
    signed = xml_signer.sign(parse_xml(document), key=signer.key, cert=certificates)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def _signxml_verify(document: bytes, signer: Signer) -> bytes:
    config = SignatureConfiguration(location="./", expect_references=1)
    result = XMLVerifier().verify(document, x509_cert=signer.pem, expect_config=config)
    return bytes(etree.tostring(result.signed_xml, method="c14n", exclusive=True))  # type: ignore[union-attr]


# ---- round trips and interop -----------------------------------------------------------------------------


@pytest.mark.parametrize(("signer_name", "algorithm"), [("p256", "ECDSA-SHA256"), ("rsa_signer", "RSA-SHA256")])
def test_a_signed_licence_is_examined(signer_name: str, algorithm: str, request: pytest.FixtureRequest) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    document = sign_xml(LICENCE, signer.key, signer.chain)
    evidence = examine_xml(document)
    assert evidence.format == "XML-DSig"
    assert evidence.signature_algorithm == algorithm
    assert evidence.signer_certificate == signer.chain[0]
    assert evidence.certificates == (signer.chain[1],)
    assert evidence.claimed_signing_time is None
    assert evidence.details["xades"] is False
    assert evidence.signed_content == document
    assert evidence.content_type == "application/xml"
    licence = parse_xml(evidence.signed_content)
    assert _one(licence, "/l:Licence/l:Holder").text == "深圳市示例科技有限公司"


@pytest.mark.parametrize("signer_name", ["p256", "rsa_signer"])
def test_signxml_verifies_what_we_sign(signer_name: str, request: pytest.FixtureRequest) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    document = sign_xml(LICENCE, signer.key, signer.chain)
    signed_xml = _signxml_verify(document, signer)
    assert b"\xe6\xb7\xb1\xe5\x9c\xb3" in signed_xml  # 深圳, in what signxml says was signed
    tampered = document.replace("示例".encode(), "冒名".encode())
    with pytest.raises(InvalidDigest):
        _signxml_verify(tampered, signer)


@pytest.mark.parametrize("signer_name", ["p256", "rsa_signer"])
def test_we_examine_what_signxml_signs(signer_name: str, request: pytest.FixtureRequest) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    document = _signxml(LICENCE, signer)
    evidence = examine_xml(document)
    assert evidence.signer_certificate == signer.chain[0]
    assert evidence.certificates == (signer.chain[1],)
    _refused(document.replace("示例".encode(), "冒名".encode()), SubIndication.HASH_FAILURE)


def test_signatures_survive_other_encodings_and_whitespace(p256: Signer) -> None:
    gb18030 = LICENCE.replace(b'encoding="UTF-8"', b'encoding="GB18030"').decode().encode("gb18030")
    document = sign_xml(gb18030, p256.key, p256.chain)
    assert examine_xml(document).signer_certificate == p256.chain[0]
    # Signing after the last child: the whitespace before </l:Licence> stays signed content.
    pretty = _signxml(LICENCE.replace(b"</l:Licence>", b"\n\n  </l:Licence>"), p256)
    examine_xml(pretty)
    _refused(pretty.replace(b"\n\n  <ds:Signature", b"\n<ds:Signature"), SubIndication.HASH_FAILURE)


def test_comments_are_not_signed_content(signed: bytes) -> None:
    # Exclusive C14N without comments ignores them, and parse_xml drops them, so the text the
    # gateway reads is the text that was signed ("good<!---->.evil" reads as "good.evil").
    commented = signed.replace("深圳市".encode(), "深圳市<!-- a comment -->".encode())
    evidence = examine_xml(commented)
    assert _one(parse_xml(evidence.signed_content), "/l:Licence/l:Holder").text == "深圳市示例科技有限公司"


# ---- signing refusals ------------------------------------------------------------------------------------


def test_signing_refuses_wrong_keys_and_signed_documents(p256: Signer, rsa_signer: Signer, signed: bytes) -> None:
    with pytest.raises(ValueError, match="not the private key's"):
        sign_xml(LICENCE, p256.key, rsa_signer.chain)
    with pytest.raises(ValueError, match="already signed"):
        sign_xml(signed, p256.key, p256.chain)
    with pytest.raises(ValueError, match="at least"):
        sign_xml(LICENCE, p256.key, [])
    with pytest.raises(XmlRejected):
        sign_xml(b"<!DOCTYPE x><x/>", p256.key, p256.chain)
    for key in (rsa.generate_private_key(65537, 1024), ec.generate_private_key(ec.SECP384R1())):
        with pytest.raises(UnsupportedKey):
            sign_xml(LICENCE, key, p256.chain)


# ---- tampering -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda root: setattr(_one(root, "/l:Licence/l:IssuedOn"), "text", "2016-03-01"),
        lambda root: _one(root, "/l:Licence/l:Holder").set("code", "91440300MA5G9GXA6X"),
        lambda root: root.insert(0, etree.Element("{urn:tongban:licence}Endorsement")),
        lambda root: root.remove(_one(root, "/l:Licence/l:IssuedOn")),
    ],
    ids=["text", "attribute", "added element", "removed element"],
)
def test_changed_content_is_a_hash_failure(change: Any, signed: bytes) -> None:
    failure = _refused(_edit(signed, change), SubIndication.HASH_FAILURE)
    assert failure.indication is Indication.TOTAL_FAILED


def test_a_changed_digest_value_is_a_hash_failure(signed: bytes) -> None:
    def change(root: Any) -> None:
        _one(root, "//ds:DigestValue").text = base64.b64encode(b"\x00" * 32).decode()

    _refused(_edit(signed, change), SubIndication.HASH_FAILURE)


def test_a_changed_signature_value_is_a_crypto_failure(signed: bytes) -> None:
    def flip(root: Any) -> None:
        element = _one(root, "//ds:SignatureValue")
        value = bytearray(base64.b64decode(element.text))
        value[5] ^= 1
        element.text = base64.b64encode(bytes(value)).decode()

    def truncate(root: Any) -> None:
        element = _one(root, "//ds:SignatureValue")
        element.text = base64.b64encode(base64.b64decode(element.text)[:60]).decode()

    _refused(_edit(signed, flip), SubIndication.SIG_CRYPTO_FAILURE)
    _refused(_edit(signed, truncate), SubIndication.SIG_CRYPTO_FAILURE)


def test_another_certificate_is_a_crypto_failure(signed: bytes, ca: tuple[Any, bytes], rsa_signer: Signer) -> None:
    impostor = Signer(ec.generate_private_key(ec.SECP256R1()), "440300.szamr.licence", *ca)

    def swap(der: bytes) -> Any:
        def change(root: Any) -> None:
            root.xpath("//ds:X509Certificate", namespaces=NS)[0].text = base64.b64encode(der).decode()

        return change

    _refused(_edit(signed, swap(impostor.chain[0])), SubIndication.SIG_CRYPTO_FAILURE)
    _refused(_edit(signed, swap(rsa_signer.chain[0])), SubIndication.SIG_CRYPTO_FAILURE)  # method does not fit


def test_a_missing_certificate_is_reported(signed: bytes) -> None:
    def no_key_info(root: Any) -> None:
        element = _one(root, "//ds:KeyInfo")
        element.getparent().remove(element)

    def no_certificate(root: Any) -> None:
        for element in root.xpath("//ds:X509Certificate", namespaces=NS):
            element.getparent().remove(element)

    _refused(_edit(signed, no_key_info), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)
    _refused(_edit(signed, no_certificate), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)


# ---- wrapping and shape --------------------------------------------------------------------------------


def _wrapped(root: Any) -> Any:
    wrapper = etree.Element("{urn:tongban:licence}Envelope")
    wrapper.append(copy.deepcopy(root))
    return wrapper


def _shape_changes() -> dict[str, Any]:
    def set_attribute(path: str, name: str, value: str) -> Any:
        return lambda root: _one(root, path).set(name, value)

    def append(path: str, xml: str) -> Any:
        return lambda root: _one(root, path).append(etree.fromstring(xml))

    def move_signature_into_holder(root: Any) -> None:
        _one(root, "/l:Licence/l:Holder").append(_one(root, "//ds:Signature"))

    def second_signature(root: Any) -> None:
        _one(root, "/l:Licence/l:Holder").append(copy.deepcopy(_one(root, "//ds:Signature")))

    def second_reference(root: Any) -> None:
        _one(root, "//ds:SignedInfo").append(copy.deepcopy(_one(root, "//ds:Reference")))

    def drop_enveloped(root: Any) -> None:
        transforms = _one(root, "//ds:Transforms")
        transforms.remove(transforms[0])

    ds_object = f'<ds:Object xmlns:ds="{DS}"><x/></ds:Object>'
    xpath = f'<ds:Transform xmlns:ds="{DS}" Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>'
    return {
        "reference by id": set_attribute("//ds:Reference", "URI", "#licence"),
        "reference elsewhere": set_attribute("//ds:Reference", "URI", "http://evil.example/licence.xml"),
        "reference type": set_attribute("//ds:Reference", "Type", "http://www.w3.org/2000/09/xmldsig#Object"),
        "second reference": second_reference,
        "object": append("//ds:Signature", ds_object),
        "xpath transform": append("//ds:Transforms", xpath),
        "no enveloped transform": drop_enveloped,
        "inclusive c14n": set_attribute(
            "//ds:CanonicalizationMethod", "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
        ),
        "c14n with comments": set_attribute(
            "//ds:Transform[2]", "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
        ),
        "signature not at the root": move_signature_into_holder,
        "second signature": second_signature,
        "wrapped": _wrapped,
        "key value": append("//ds:KeyInfo", f'<ds:KeyValue xmlns:ds="{DS}"/>'),
        "issuer serial": append("//ds:X509Data", f'<ds:X509IssuerSerial xmlns:ds="{DS}"/>'),
        "bad certificate": lambda root: setattr(_one(root, "//ds:X509Certificate[1]"), "text", "bm90IGEgY2VydA=="),
        "bad base64": lambda root: setattr(_one(root, "//ds:SignatureValue"), "text", "***"),
        "short digest": lambda root: setattr(_one(root, "//ds:DigestValue"), "text", "AAAA"),
    }


@pytest.mark.parametrize("change", _shape_changes().values(), ids=_shape_changes().keys())
def test_anything_but_one_enveloped_whole_document_signature_is_a_format_failure(change: Any, signed: bytes) -> None:
    _refused(_edit(signed, change), SubIndication.FORMAT_FAILURE)


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [
        ("//ds:DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1"),
        ("//ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        ("//ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"),
        ("//ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        ("//ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"),
        ("//ds:DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha512"),
    ],
)
def test_sha1_and_other_algorithms_are_refused(path: str, algorithm: str, signed: bytes) -> None:
    failure = _refused(
        _edit(signed, lambda root: _one(root, path).set("Algorithm", algorithm)),
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    )
    if "sha1" in algorithm:
        assert "SHA1" in str(failure) or "SHA-1" in str(failure)


def test_small_rsa_keys_are_refused(ca: tuple[Any, bytes]) -> None:
    weak = Signer(rsa.generate_private_key(65537, 1024), "weak", *ca)
    xml_signer = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    certificates = [x509.load_der_x509_certificate(der) for der in weak.chain]
    document = etree.tostring(xml_signer.sign(parse_xml(LICENCE), key=weak.key, cert=certificates))
    _refused(document, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)


@pytest.mark.parametrize(
    "document",
    [b"", b"not xml", b"<a><b></a>", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', b"<?pi x?><a/>", LICENCE],
    ids=["empty", "text", "ill-formed", "doctype", "processing instruction", "unsigned"],
)
def test_unacceptable_documents_are_format_failures(document: bytes) -> None:
    _refused(document, SubIndication.FORMAT_FAILURE)


def test_signxml_tells_digest_from_signature_failures_as_we_do(signed: bytes, p256: Signer) -> None:
    def flip(root: Any) -> None:
        element = _one(root, "//ds:SignatureValue")
        value = bytearray(base64.b64decode(element.text))
        value[5] ^= 1
        element.text = base64.b64encode(bytes(value)).decode()

    bad_value = _edit(signed, flip)
    with pytest.raises(InvalidSignature) as caught:
        _signxml_verify(bad_value, p256)
    assert not isinstance(caught.value, InvalidDigest)
    _refused(bad_value, SubIndication.SIG_CRYPTO_FAILURE)


# ---- random tampering ----------------------------------------------------------------------------------


def _unsigned_canonical(document: bytes) -> bytes:
    root = parse_xml(document)
    for signature in root.xpath("//ds:Signature", namespaces=NS):
        signature.getparent().remove(signature)
    return bytes(etree.tostring(root, method="c14n", exclusive=True))


def _spki(der: bytes) -> bytes:
    key = x509.load_der_x509_certificate(der).public_key()
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("document_name", ["signed", "xades_signed"])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_fails_or_changes_nothing_signed(
    document_name: str, request: pytest.FixtureRequest, data: st.DataObject
) -> None:
    signed: bytes = request.getfixturevalue(document_name)
    raw = bytearray(signed)
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        evidence = examine_xml(bytes(raw))
    except SignatureFailure:
        return
    # Some flips change only what the signature does not cover (the case of "UTF-8", a quote
    # style, whitespace inside a tag, a corrupted CA certificate the engine will reject): the
    # signed content, the signer's key and the signing time must then be exactly as before.
    assert _unsigned_canonical(evidence.signed_content) == _unsigned_canonical(signed)
    assert _spki(evidence.signer_certificate) == _spki(bytes(signed_certificate(signed)))
    assert evidence.claimed_signing_time == examine_xml(signed).claimed_signing_time


def signed_certificate(document: bytes) -> bytes:
    root = parse_xml(document)
    return base64.b64decode(root.xpath("//ds:X509Certificate", namespaces=NS)[0].text)


# ---- XAdES-BES: a signed signing time ------------------------------------------------------------------


def _resigned(document: bytes, signer: Signer, change: Any) -> bytes:
    """`document` changed, then its digests and signature made anew as a signer resolving "#id" naively would.

    So what examine_xml refuses below is refused for its shape, not for a broken digest or signature.
    """
    root = parse_xml(document)
    change(root)
    signature = _one(root, "//ds:Signature")
    for reference in signature.xpath("ds:SignedInfo/ds:Reference", namespaces=NS):
        if reference.get("URI") == "":
            target = copy.deepcopy(root)
            enveloped = _one(target, "//ds:Signature")
            enveloped.getparent().remove(enveloped)
        else:
            id_like = "//*[@*[local-name()='Id' or local-name()='ID' or local-name()='id'] = $id]"
            found = root.xpath(id_like, id=reference.get("URI")[1:])
            if not found:  # nothing to digest: the reference keeps its old value
                continue
            target = found[0]
        digest = hashlib.sha256(etree.tostring(target, method="c14n", exclusive=True)).digest()
        _one(reference, "ds:DigestValue").text = base64.b64encode(digest).decode()
    signed_info = etree.tostring(_one(signature, "ds:SignedInfo"), method="c14n", exclusive=True)
    if isinstance(signer.key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(signer.key.sign(signed_info, ec.ECDSA(hashes.SHA256())))
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        from cryptography.hazmat.primitives.asymmetric import padding

        value = signer.key.sign(signed_info, padding.PKCS1v15(), hashes.SHA256())
    _one(signature, "ds:SignatureValue").text = base64.b64encode(value).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _set_signing_time(text: str) -> Any:
    return lambda root: setattr(_one(root, "//xades:SigningTime"), "text", text)


@pytest.mark.parametrize("signer_name", ["p256", "rsa_signer"])
def test_the_signing_time_is_signed_and_read_back(signer_name: str, request: pytest.FixtureRequest) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    document = sign_xml(LICENCE, signer.key, signer.chain, SIGNING_TIME)
    evidence = examine_xml(document)
    assert evidence.claimed_signing_time == SIGNING_TIME
    assert evidence.details["xades"] is True
    assert evidence.details["signing_certificate_bound"] is True
    assert evidence.signer_certificate == signer.chain[0]
    assert evidence.certificates == (signer.chain[1],)
    root = parse_xml(document)
    assert _one(root, "//xades:SigningTime").text == "2026-12-01T08:00:00Z"
    signature_id = _one(root, "/l:Licence/ds:Signature").get("Id")
    assert _one(root, "//xades:QualifyingProperties").get("Target") == f"#{signature_id}"
    digest = _one(root, "//xades:SigningCertificateV2/xades:Cert/xades:CertDigest/ds:DigestValue").text
    assert base64.b64decode(digest) == hashlib.sha256(signer.chain[0]).digest()


def test_a_signing_time_in_another_zone_comes_back_as_the_same_instant_in_utc(p256: Signer) -> None:
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 12, 1, 16, 0, 0, 250000, tzinfo=beijing)
    document = sign_xml(LICENCE, p256.key, p256.chain, moment)
    assert _one(parse_xml(document), "//xades:SigningTime").text == "2026-12-01T08:00:00.250000Z"
    claimed = examine_xml(document).claimed_signing_time
    assert claimed == moment
    assert claimed is not None and claimed.utcoffset() == timedelta(0)


def test_signing_with_a_time_refuses_naive_times_and_repeated_ids(p256: Signer) -> None:
    with pytest.raises(ValueError, match="time zone"):
        sign_xml(LICENCE, p256.key, p256.chain, datetime(2026, 12, 1, 8, 0))  # naive
    repeated = LICENCE.replace(b"<l:IssuedOn>", b'<l:IssuedOn Id="a">').replace(b"<l:Holder ", b'<l:Holder id="a" ')
    with pytest.raises(ValueError, match="unique ids"):
        sign_xml(repeated, p256.key, p256.chain, SIGNING_TIME)
    sign_xml(repeated, p256.key, p256.chain)  # without a signing time no id is resolved


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T16:00:00.5+08:00", datetime(2026, 12, 1, 8, 0, 0, 500000, tzinfo=UTC)),
        (" 2026-12-01T08:00:00Z\n", SIGNING_TIME),  # xsd:dateTime collapses whitespace
        ("2026-12-01T08:00:00.1234567Z", datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_signing_times_of_other_signers_are_read(
    text: str, expected: datetime, xades_signed: bytes, p256: Signer
) -> None:
    evidence = examine_xml(_resigned(xades_signed, p256, _set_signing_time(text)))
    assert evidence.claimed_signing_time == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T08:00:00",
        "2026-12-01 08:00:00Z",
        "2026-13-01T08:00:00Z",
        "2026-12-01T08:00:00+25:00",
        "２０２６-12-01T08:00:00Z",
        "2026-12-01T08:00:00Z\n2020-01-01T00:00:00Z",
        "",
    ],
    ids=["no zone", "space", "month 13", "zone +25", "full-width digits", "two times", "empty"],
)
def test_a_malformed_signing_time_is_a_format_failure(text: str, xades_signed: bytes, p256: Signer) -> None:
    failure = _refused(_resigned(xades_signed, p256, _set_signing_time(text)), SubIndication.FORMAT_FAILURE)
    assert "SigningTime" in str(failure)


def test_signxml_verifies_our_xades_signature(xades_signed: bytes, p256: Signer) -> None:
    plain = SignatureConfiguration(location="./", expect_references=2)
    results = XMLVerifier().verify(xades_signed, x509_cert=p256.pem, expect_config=plain)
    assert isinstance(results, list)
    assert results[1].signed_xml is not None and results[1].signed_xml.tag == f"{{{XADES}}}SignedProperties"
    xades = XAdESSignatureConfiguration(location="./", expect_references=2)
    results = XAdESVerifier().verify(xades_signed, x509_cert=p256.pem, expect_config=xades)
    properties = results[1].signed_properties  # type: ignore[attr-defined]
    assert _one(properties, "xades:SigningTime").text == "2026-12-01T08:00:00Z"
    tampered = _edit(xades_signed, _set_signing_time("2020-01-01T00:00:00Z"))
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(tampered, x509_cert=p256.pem, expect_config=plain)
    with pytest.raises(InvalidDigest):
        XAdESVerifier().verify(tampered, x509_cert=p256.pem, expect_config=xades)


def test_a_changed_signed_property_is_a_hash_failure(xades_signed: bytes) -> None:
    def other_certificate_digest(root: Any) -> None:
        _one(root, "//xades:CertDigest/ds:DigestValue").text = base64.b64encode(b"\x01" * 32).decode()

    _refused(_edit(xades_signed, _set_signing_time("2020-01-01T00:00:00Z")), SubIndication.HASH_FAILURE)
    _refused(_edit(xades_signed, _set_signing_time("2026-12-01T08:00:00.000Z")), SubIndication.HASH_FAILURE)
    _refused(_edit(xades_signed, other_certificate_digest), SubIndication.HASH_FAILURE)
    changed_content = xades_signed.replace("示例".encode(), "冒名".encode())
    _refused(changed_content, SubIndication.HASH_FAILURE)


def test_a_changed_signature_value_of_a_xades_signature_is_a_crypto_failure(xades_signed: bytes) -> None:
    def flip(root: Any) -> None:
        element = _one(root, "//ds:SignatureValue")
        value = bytearray(base64.b64decode(element.text))
        value[40] ^= 1
        element.text = base64.b64encode(bytes(value)).decode()

    _refused(_edit(xades_signed, flip), SubIndication.SIG_CRYPTO_FAILURE)


def test_the_signing_certificate_is_bound(
    xades_signed: bytes, signed: bytes, p256: Signer, ca: tuple[Any, bytes]
) -> None:
    # A second certificate for the same key (re-issued, another name): the signature value still
    # verifies with it, so only SigningCertificateV2 tells which certificate the signer meant.
    reissued = _certificate(p256.key, "someone else", ca[0], "Test Licence CA")

    def swap(root: Any) -> None:
        root.xpath("//ds:X509Certificate", namespaces=NS)[0].text = base64.b64encode(reissued).decode()

    _refused(_edit(xades_signed, swap), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)
    assert examine_xml(_edit(signed, swap)).signer_certificate == reissued  # plain XML-DSig binds only the key


def test_signing_certificate_v2_is_optional(xades_signed: bytes, p256: Signer) -> None:
    def drop(root: Any) -> None:
        element = _one(root, "//xades:SigningCertificateV2")
        element.getparent().remove(element)

    evidence = examine_xml(_resigned(xades_signed, p256, drop))
    assert evidence.claimed_signing_time == SIGNING_TIME
    assert evidence.details["signing_certificate_bound"] is False


def test_the_resigning_helper_makes_valid_signatures(xades_signed: bytes, p256: Signer, rsa_signer: Signer) -> None:
    # The control for the refusals below: resigning by itself does not break anything.
    assert examine_xml(_resigned(xades_signed, p256, lambda root: None)).claimed_signing_time == SIGNING_TIME
    rsa_document = sign_xml(LICENCE, rsa_signer.key, rsa_signer.chain, SIGNING_TIME)
    assert examine_xml(_resigned(rsa_document, rsa_signer, lambda root: None)).claimed_signing_time == SIGNING_TIME


def _forged_properties(root: Any, new_id: str | None = None) -> Any:
    """A copy of the signature's SignedProperties with another signing time (and id, if given)."""
    forged = copy.deepcopy(_one(root, "//xades:SignedProperties"))
    _one(forged, ".//xades:SigningTime").text = "2020-01-01T00:00:00Z"
    if new_id is not None:
        forged.set("Id", new_id)
    return forged


def _xades_shape_changes() -> dict[str, Any]:
    def same_id_in_the_licence(root: Any) -> None:
        root.insert(0, _forged_properties(root))

    def same_id_in_key_info(root: Any) -> None:
        _one(root, "//ds:KeyInfo").append(_forged_properties(root))

    def reference_outside_the_signature(root: Any) -> None:
        root.insert(0, _forged_properties(root, "elsewhere"))
        _one(root, "//ds:Reference[2]").set("URI", "#elsewhere")

    def reference_to_the_licence(root: Any) -> None:
        _one(root, "/l:Licence/l:Holder").set("Id", "holder")
        _one(root, "//ds:Reference[2]").set("URI", "#holder")

    def signed_ones_in_a_second_object(root: Any) -> None:
        forged = _forged_properties(root, "forged")
        _one(root, "//ds:Signature").append(copy.deepcopy(_one(root, "//ds:Object")))
        original = _one(root, "//ds:Object[1]//xades:SignedProperties")
        original.getparent().replace(original, forged)

    def forged_ones_beside_the_signed_ones(root: Any) -> None:
        _one(root, "//xades:QualifyingProperties").insert(0, _forged_properties(root, "forged"))

    def id_confusion(attribute: str) -> Any:
        def change(root: Any) -> None:
            properties_id = _one(root, "//xades:SignedProperties").get("Id")
            _one(root, "/l:Licence/l:Holder").set(attribute, properties_id)

        return change

    def references_swapped(root: Any) -> None:
        signed_info = _one(root, "//ds:SignedInfo")
        signed_info.append(signed_info[2])

    def drop(path: str) -> Any:
        def change(root: Any) -> None:
            element = _one(root, path)
            element.getparent().remove(element)

        return change

    def remove_attribute(path: str, name: str) -> Any:
        return lambda root: _one(root, path).attrib.pop(name)

    def append(path: str, xml: str) -> Any:
        return lambda root: _one(root, path).append(etree.fromstring(xml))

    def legacy_signing_certificate(root: Any) -> None:
        _one(root, "//xades:SigningCertificateV2").tag = f"{{{XADES}}}SigningCertificate"

    return {
        "same id in the licence": same_id_in_the_licence,
        "same id in KeyInfo": same_id_in_key_info,
        "reference outside the signature": reference_outside_the_signature,
        "reference to the licence": reference_to_the_licence,
        "signed properties in a second Object": signed_ones_in_a_second_object,
        "forged properties beside the signed ones": forged_ones_beside_the_signed_ones,
        "same value as xml:id": id_confusion("{http://www.w3.org/XML/1998/namespace}id"),
        "same value as ID": id_confusion("ID"),
        "references swapped": references_swapped,
        "no signature Id": remove_attribute("//ds:Signature", "Id"),
        "target another signature": lambda root: _one(root, "//xades:QualifyingProperties").set("Target", "#other"),
        "no reference Type": remove_attribute("//ds:Reference[2]", "Type"),
        "no SigningTime": drop("//xades:SigningTime"),
        "no Object": drop("//ds:Object"),
        "unsigned properties": append(
            "//xades:QualifyingProperties", f'<xades:UnsignedProperties xmlns:xades="{XADES}"/>'
        ),
        "data object properties": append(
            "//xades:SignedProperties", f'<xades:SignedDataObjectProperties xmlns:xades="{XADES}"/>'
        ),
        "text in the Object": lambda root: setattr(_one(root, "//ds:Object"), "text", "read me"),
        "two certificates named": append("//xades:SigningCertificateV2", f'<xades:Cert xmlns:xades="{XADES}"/>'),
        "legacy SigningCertificate": legacy_signing_certificate,
        "xpath transform on the properties": append(
            "//ds:Reference[2]/ds:Transforms",
            f'<ds:Transform xmlns:ds="{DS}" Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>',
        ),
    }


@pytest.mark.parametrize("change", _xades_shape_changes().values(), ids=_xades_shape_changes().keys())
def test_anything_but_this_signatures_own_signed_properties_is_a_format_failure(
    change: Any, xades_signed: bytes, p256: Signer
) -> None:
    _refused(_resigned(xades_signed, p256, change), SubIndication.FORMAT_FAILURE)


def test_a_wrapped_copy_of_the_signed_properties_is_refused_as_it_comes(xades_signed: bytes) -> None:
    # The attacker cannot re-sign: a forged copy with the signed properties' id, left in the licence.
    _refused(_edit(xades_signed, lambda root: root.insert(0, _forged_properties(root))), SubIndication.FORMAT_FAILURE)


def test_sha1_in_the_signed_properties_is_refused(xades_signed: bytes, p256: Signer) -> None:
    sha1 = "http://www.w3.org/2000/09/xmldsig#sha1"
    for path in ("//ds:Reference[2]/ds:DigestMethod", "//xades:CertDigest/ds:DigestMethod"):
        document = _resigned(xades_signed, p256, lambda root, path=path: _one(root, path).set("Algorithm", sha1))
        failure = _refused(document, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
        assert "SHA-1" in str(failure)


def test_signxml_xades_with_its_extra_references_is_not_our_shape(p256: Signer) -> None:
    # signxml's XAdESSigner also signs KeyInfo and a DataObjectFormat: three references, refused.
    signer = XAdESSigner(signature_algorithm="ecdsa-sha256", c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    certificates = [x509.load_der_x509_certificate(der) for der in p256.chain]
    document = etree.tostring(signer.sign(parse_xml(LICENCE), key=p256.key, cert=certificates))
    _refused(document, SubIndication.FORMAT_FAILURE)
