"""WS-Security signatures: zeep interop both ways, wrapping attacks, timestamps, algorithms and every refusal."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import xmlsec
import zeep
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from zeep.exceptions import SignatureVerificationFailed
from zeep.wsse.compose import Compose
from zeep.wsse.signature import BinarySignature, Signature
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

from trust import InvalidSignature, SignatureMissing, SignatureOutOfTime, TrustError, UnsupportedKey
from trust._wssecurity import (
    InvalidSoapSignature,
    MissingSecurityHeader,
    StaleTimestamp,
    UnsupportedAlgorithm,
    WsSecurityError,
    sign_envelope,
    verify_envelope,
)
from trust._xml import parse_xml

WSDL = Path(__file__).parent / "data" / "echo.wsdl"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TEXT = "深中通办"

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
ECHO = "urn:tongban:test:echo"
WSU_ID = f"{{{WSU_NS}}}Id"
NS = {"s11": SOAP11, "s12": SOAP12, "wsse": WSSE, "wsu": WSU_NS, "ds": DS, "e": ECHO}
PORTS = {SOAP11: "EchoSoap11", SOAP12: "EchoSoap12"}
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIGNATURE_METHODS = {"rsa": xmlsec.Transform.RSA_SHA256, "p256": xmlsec.Transform.ECDSA_SHA256}


@dataclass(frozen=True)
class Signer:
    """A key, its self-signed certificate, and both as files for zeep."""

    kind: str
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    key_file: str
    cert_file: str

    def zeep_binary_signature(self, **options: Any) -> BinarySignature:
        options.setdefault("signature_method", SIGNATURE_METHODS[self.kind])
        options.setdefault("digest_method", xmlsec.Transform.SHA256)
        return BinarySignature(self.key_file, self.cert_file, **options)


def make_signer(kind: str, directory: Path) -> Signer:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"440300.test.{kind}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{kind}.key", directory / f"{kind}.crt"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Signer(kind, key, certificate, str(key_file), str(cert_file))


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Signer]:
    directory = tmp_path_factory.mktemp("wss-keys")
    return {kind: make_signer(kind, directory) for kind in ("rsa", "p256")}


@pytest.fixture(scope="module")
def zeep_client() -> zeep.Client:
    return zeep.Client(str(WSDL))


@pytest.fixture(params=["rsa", "p256"])
def signer(request: pytest.FixtureRequest, signers: dict[str, Signer]) -> Signer:
    return signers[request.param]


@pytest.fixture(params=[SOAP11, SOAP12], ids=["soap11", "soap12"])
def soap_ns(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class ZeepTimestamp:
    """A zeep wsse object that adds a wsu:Timestamp: zeep's BinarySignature signs one but never makes one."""

    def __init__(self, created: datetime, ttl: timedelta = timedelta(minutes=5)) -> None:
        self.created, self.ttl = created, ttl

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        get_security_header(envelope).append(
            WSU.Timestamp(WSU.Created(get_timestamp(self.created)), WSU.Expires(get_timestamp(self.created + self.ttl)))
        )
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        return envelope


def zeep_request(
    client: zeep.Client,
    soap_ns: str,
    wsse: Any,
    *,
    text: str = TEXT,
    timestamp: datetime | None = NOW,
) -> bytes:
    """A request as zeep's client builds and signs it, serialised as it goes on the wire."""
    service = client.bind("EchoService", PORTS[soap_ns])
    envelope = client.create_message(service, "Echo", text=text)
    if timestamp is not None:
        envelope, _ = ZeepTimestamp(timestamp).apply(envelope, {})
    if wsse is not None:
        envelope, _ = wsse.apply(envelope, {})
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def response_envelope(soap_ns: str, text: str = TEXT) -> Any:
    return etree.fromstring(
        f'<s:Envelope xmlns:s="{soap_ns}" xmlns:e="{ECHO}"><s:Body><e:EchoResponse><e:text>{text}</e:text>'
        "</e:EchoResponse></s:Body></s:Envelope>".encode()
    )


def our_signed(signer: Signer, soap_ns: str, *, now: datetime = NOW, ttl: int = 300, text: str = TEXT) -> Any:
    envelope = response_envelope(soap_ns, text)
    sign_envelope(envelope, private_key=signer.key, certificate=signer.certificate, now=now, ttl_seconds=ttl)
    return parse_xml(etree.tostring(envelope))


def wire(envelope: Any) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def one(envelope: Any, path: str) -> Any:
    found = envelope.xpath(path, namespaces=NS)
    assert len(found) == 1, path
    return found[0]


def soap(envelope: Any, name: str) -> Any:
    return envelope.find(f"{{{etree.QName(envelope).namespace}}}{name}")


def resign(envelope: Any, signer: Signer) -> None:
    """Recompute every digest and the SignatureValue: what an attacker holding the key could send.

    Lets a test show that a refusal comes from our structural checks, not from a broken signature.
    """
    signed_info = one(envelope, "//ds:SignedInfo")
    for reference in signed_info.findall(f"{{{DS}}}Reference"):
        target = one(envelope, f"//*[@wsu:Id='{reference.get('URI')[1:]}']")
        canonical = etree.tostring(target, method="c14n", exclusive=True, with_comments=False)
        reference.find(f"{{{DS}}}DigestValue").text = base64.b64encode(hashlib.sha256(canonical).digest()).decode()
    data = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    if isinstance(signer.key, rsa.RSAPrivateKey):
        value = signer.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(signer.key.sign(data, ec.ECDSA(hashes.SHA256())))
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    one(envelope, "//ds:SignatureValue").text = base64.b64encode(value).decode()


def add_reference(envelope: Any, target: Any, signer: Signer) -> None:
    """Sign one more element, by wsu:Id, and re-sign."""
    if not target.get(WSU_ID):
        target.set(WSU_ID, "extra-1")
    signed_info = one(envelope, "//ds:SignedInfo")
    reference = copy.deepcopy(signed_info.find(f"{{{DS}}}Reference"))
    reference.set("URI", "#" + target.get(WSU_ID))
    signed_info.append(reference)
    resign(envelope, signer)


# ---- zeep signs, we verify -------------------------------------------------------------------------


def test_a_request_signed_by_zeep_verifies(zeep_client: zeep.Client, signer: Signer, soap_ns: str) -> None:
    data = zeep_request(zeep_client, soap_ns, signer.zeep_binary_signature())
    envelope = parse_xml(data)
    verified = verify_envelope(envelope, now=NOW)
    assert verified.certificate == signer.certificate
    assert verified.created == NOW
    assert verified.expires == NOW + timedelta(minutes=5)
    assert verified.body is soap(envelope, "Body")
    assert verified.body.findtext("e:Echo/e:text", namespaces=NS) == TEXT
    timestamp = one(envelope, "//wsse:Security/wsu:Timestamp")
    assert set(verified.signed_ids) == {verified.body.get(WSU_ID), timestamp.get(WSU_ID)}


def test_a_zeep_client_configured_with_compose_signs_requests_we_accept(
    signers: dict[str, Signer], soap_ns: str
) -> None:
    # How a partner configures zeep: the Timestamp first, then the signature, composed.
    client = zeep.Client(str(WSDL), wsse=Compose([ZeepTimestamp(NOW), signers["p256"].zeep_binary_signature()]))
    envelope = client.create_message(client.bind("EchoService", PORTS[soap_ns]), "Echo", text=TEXT)
    verify_envelope(parse_xml(wire(envelope)), now=NOW + timedelta(seconds=299))


def test_tampering_with_the_body_after_zeep_signed_is_refused(
    zeep_client: zeep.Client, signer: Signer, soap_ns: str
) -> None:
    data = zeep_request(zeep_client, soap_ns, signer.zeep_binary_signature())
    tampered = data.replace(TEXT.encode(), "深中通辦".encode())
    assert tampered != data
    with pytest.raises(InvalidSoapSignature, match="changed after signing"):
        verify_envelope(parse_xml(tampered), now=NOW)


def test_tampering_with_the_timestamp_after_zeep_signed_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    data = zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature())
    tampered = data.replace(b"08:05:00+00:00", b"09:05:00+00:00")
    assert tampered != data
    with pytest.raises(InvalidSoapSignature):
        verify_envelope(parse_xml(tampered), now=NOW)


def test_zeep_default_rsa_sha1_is_refused_as_unsupported(zeep_client: zeep.Client, signers: dict[str, Signer]) -> None:
    rsa_signer = signers["rsa"]
    sha1 = BinarySignature(rsa_signer.key_file, rsa_signer.cert_file)  # zeep's defaults: RSA-SHA1, SHA-1
    with pytest.raises(UnsupportedAlgorithm, match="RSA-SHA1"):
        verify_envelope(parse_xml(zeep_request(zeep_client, SOAP11, sha1)), now=NOW)


def test_sha1_digests_under_an_rsa_sha256_signature_are_refused(
    zeep_client: zeep.Client, signers: dict[str, Signer]
) -> None:
    wsse = signers["rsa"].zeep_binary_signature(digest_method=xmlsec.Transform.SHA1)
    with pytest.raises(UnsupportedAlgorithm, match="SHA-1 is not accepted as digest method"):
        verify_envelope(parse_xml(zeep_request(zeep_client, SOAP11, wsse)), now=NOW)


def test_ecdsa_sha1_is_refused(zeep_client: zeep.Client, signers: dict[str, Signer]) -> None:
    wsse = signers["p256"].zeep_binary_signature(signature_method=xmlsec.Transform.ECDSA_SHA1)
    with pytest.raises(UnsupportedAlgorithm, match="ECDSA-SHA1"):
        verify_envelope(parse_xml(zeep_request(zeep_client, SOAP11, wsse)), now=NOW)


def test_a_zeep_request_without_a_timestamp_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    data = zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature(), timestamp=None)
    with pytest.raises(StaleTimestamp, match="no wsu:Timestamp"):
        verify_envelope(parse_xml(data), now=NOW)


def test_an_unsigned_request_is_refused(zeep_client: zeep.Client, soap_ns: str) -> None:
    with pytest.raises(MissingSecurityHeader):
        verify_envelope(parse_xml(zeep_request(zeep_client, soap_ns, None, timestamp=None)), now=NOW)


def test_a_security_header_without_a_signature_is_refused(zeep_client: zeep.Client) -> None:
    with pytest.raises(MissingSecurityHeader, match="no signature"):
        verify_envelope(parse_xml(zeep_request(zeep_client, SOAP11, None)), now=NOW)


def test_zeeps_x509data_signature_is_refused_we_need_a_binary_security_token(
    zeep_client: zeep.Client, signers: dict[str, Signer]
) -> None:
    p256 = signers["p256"]
    plain = Signature(
        p256.key_file, p256.cert_file, signature_method=SIGNATURE_METHODS["p256"], digest_method=xmlsec.Transform.SHA256
    )
    with pytest.raises(InvalidSoapSignature, match="BinarySecurityToken"):
        verify_envelope(parse_xml(zeep_request(zeep_client, SOAP11, plain)), now=NOW)


def test_a_token_swapped_for_another_certificate_is_refused(
    zeep_client: zeep.Client, signers: dict[str, Signer], tmp_path: Path
) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signers["p256"].zeep_binary_signature()))
    other = make_signer("p256", tmp_path)
    token = one(envelope, "//wsse:BinarySecurityToken")
    token.text = base64.b64encode(other.certificate.public_bytes(serialization.Encoding.DER)).decode()
    with pytest.raises(InvalidSoapSignature, match="does not verify"):
        verify_envelope(envelope, now=NOW)


# ---- we sign, zeep verifies -------------------------------------------------------------------------


def test_zeep_verifies_what_we_sign(signer: Signer, soap_ns: str) -> None:
    envelope = our_signed(signer, soap_ns)
    signer.zeep_binary_signature().verify(parse_xml(wire(envelope)))
    verified = verify_envelope(envelope, now=NOW)
    assert verified.certificate == signer.certificate
    assert (verified.created, verified.expires) == (NOW, NOW + timedelta(seconds=300))


def test_zeep_refuses_what_we_signed_once_tampered(signer: Signer, soap_ns: str) -> None:
    data = wire(our_signed(signer, soap_ns)).replace(TEXT.encode(), "深中通辦".encode())
    with pytest.raises(SignatureVerificationFailed):
        signer.zeep_binary_signature().verify(etree.fromstring(data))
    with pytest.raises(InvalidSoapSignature):
        verify_envelope(parse_xml(data), now=NOW)


def test_zeep_refuses_our_signature_checked_against_another_certificate(signers: dict[str, Signer]) -> None:
    envelope = our_signed(signers["p256"], SOAP12)
    with pytest.raises(SignatureVerificationFailed):
        signers["rsa"].zeep_binary_signature().verify(parse_xml(wire(envelope)))


class LoopbackTransport(zeep.Transport):
    """A zeep transport that hands the request to a function and returns its answer, no network."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self.answer = answer

    def post_xml(self, address: str, envelope: Any, headers: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "text/xml; charset=utf-8"
        response._content = self.answer(wire(envelope))
        return response


def test_a_zeep_client_round_trip_signed_both_ways(signers: dict[str, Signer]) -> None:
    client_signer, gateway_signer = signers["rsa"], signers["p256"]

    def gateway(request: bytes) -> bytes:
        verified = verify_envelope(parse_xml(request), now=NOW)
        assert verified.certificate == client_signer.certificate
        text = verified.body.findtext("e:Echo/e:text", namespaces=NS)
        reply = response_envelope(SOAP11, f"{text}：收到")
        sign_envelope(reply, private_key=gateway_signer.key, certificate=gateway_signer.certificate, now=NOW)
        return wire(reply)

    # zeep verifies a response with the signature's certificate files: the client's own pair
    # would not do, so the response side of Compose is checked against the gateway's cert.
    class RequestThenResponse:
        def __init__(self) -> None:
            self.sign = client_signer.zeep_binary_signature()
            self.check = gateway_signer.zeep_binary_signature()

        def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
            return self.sign.apply(envelope, headers)

        def verify(self, envelope: Any) -> Any:
            return self.check.verify(envelope)

    client = zeep.Client(
        str(WSDL), transport=LoopbackTransport(gateway), wsse=Compose([ZeepTimestamp(NOW), RequestThenResponse()])
    )
    service = client.bind("EchoService", "EchoSoap11")
    assert service.Echo(text=TEXT) == f"{TEXT}：收到"


# ---- wrapping attacks -----------------------------------------------------------------------------------


def test_the_signed_body_moved_into_a_header_and_replaced_is_refused(
    zeep_client: zeep.Client, signer: Signer, soap_ns: str
) -> None:
    envelope = parse_xml(zeep_request(zeep_client, soap_ns, signer.zeep_binary_signature()))
    body = soap(envelope, "Body")
    wrapper = etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Wrapper")
    wrapper.append(body)  # the signed Body, Id and all, now inside a header block
    evil = etree.SubElement(envelope, f"{{{soap_ns}}}Body")
    etree.SubElement(etree.SubElement(evil, f"{{{ECHO}}}Echo"), f"{{{ECHO}}}text").text = "transfer everything"
    with pytest.raises(InvalidSoapSignature):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


def test_the_signed_body_moved_with_its_id_given_to_the_new_body_is_refused(
    zeep_client: zeep.Client, signer: Signer
) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    body = soap(envelope, "Body")
    wrapper = etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Wrapper")
    wrapper.append(body)
    evil = etree.SubElement(envelope, f"{{{SOAP11}}}Body", {WSU_ID: body.get(WSU_ID)})
    etree.SubElement(evil, "{urn:attacker}Evil")
    with pytest.raises(InvalidSoapSignature):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


def test_the_signed_body_content_moved_to_a_signable_header_block_is_refused(
    zeep_client: zeep.Client, signer: Signer
) -> None:
    # Even with the key (re-signed), a reference to a header block does not make the Body signed.
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    body = soap(envelope, "Body")
    holder = etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Holder", {WSU_ID: body.get(WSU_ID)})
    holder.extend(list(body))
    del body.attrib[WSU_ID]
    etree.SubElement(body, "{urn:attacker}Evil")
    resign(envelope, signer)
    with pytest.raises(InvalidSoapSignature, match="must cover the soap:Body"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


def test_a_second_body_hidden_inside_the_body_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    body = soap(envelope, "Body")
    decoy = etree.SubElement(body, f"{{{SOAP11}}}Body")
    etree.SubElement(decoy, "{urn:attacker}Evil")
    resign(envelope, signer)  # the real Body is signed with the decoy inside it
    with pytest.raises(InvalidSoapSignature, match="more than one Body"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


@pytest.mark.parametrize("where", ["body-payload", "header-block", "security"])
def test_a_duplicate_wsu_id_anywhere_is_refused(zeep_client: zeep.Client, signer: Signer, where: str) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    body_id = soap(envelope, "Body").get(WSU_ID)
    parent = {
        "body-payload": one(envelope, "//e:Echo"),
        "header-block": soap(envelope, "Header"),
        "security": one(envelope, "//wsse:Security"),
    }[where]
    etree.SubElement(parent, "{urn:attacker}Copy", {WSU_ID: body_id})
    with pytest.raises(InvalidSoapSignature, match="unique"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


@pytest.mark.parametrize("attribute", ["{http://www.w3.org/XML/1998/namespace}id", "Id", "ID", "id"])
def test_a_signed_id_reused_by_another_id_attribute_is_refused(
    zeep_client: zeep.Client, signer: Signer, attribute: str
) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Copy", {attribute: soap(envelope, "Body").get(WSU_ID)})
    with pytest.raises(InvalidSoapSignature, match="more than one element"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


def test_the_signed_timestamp_moved_outside_security_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    timestamp = one(envelope, "//wsse:Security/wsu:Timestamp")
    etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Old").append(timestamp)
    one(envelope, "//wsse:Security").append(
        WSU.Timestamp(WSU.Created(get_timestamp(NOW + timedelta(hours=1))), WSU.Expires(get_timestamp(NOW)))
    )
    with pytest.raises(InvalidSoapSignature, match="outside the wsse:Security"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW + timedelta(hours=1))


def test_a_timestamp_only_outside_security_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    envelope = parse_xml(zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature()))
    timestamp = one(envelope, "//wsse:Security/wsu:Timestamp")
    soap(envelope, "Header").append(timestamp)  # a sibling of Security now
    with pytest.raises(InvalidSoapSignature, match="outside the wsse:Security"):
        verify_envelope(parse_xml(wire(envelope)), now=NOW)


def test_a_reference_into_the_body_payload_is_refused_even_when_signed(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    add_reference(envelope, one(envelope, "//e:text"), signer)
    with pytest.raises(InvalidSoapSignature, match="may not be signed"):
        verify_envelope(envelope, now=NOW)


def test_extra_references_to_header_blocks_and_the_token_are_accepted(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP12)
    to = etree.SubElement(soap(envelope, "Header"), "{http://www.w3.org/2005/08/addressing}To")
    to.text = "https://gateway.example/soap"
    add_reference(envelope, to, signer)
    add_reference(envelope, one(envelope, "//wsse:BinarySecurityToken"), signer)
    verified = verify_envelope(envelope, now=NOW)
    assert len(verified.signed_ids) == 4
    to.text = "https://evil.example/soap"
    with pytest.raises(InvalidSoapSignature, match="changed after signing"):
        verify_envelope(envelope, now=NOW)


def test_referencing_the_body_twice_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    add_reference(envelope, soap(envelope, "Body"), signer)
    with pytest.raises(InvalidSoapSignature, match="referenced twice"):
        verify_envelope(envelope, now=NOW)


def test_a_signature_not_covering_the_timestamp_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    references = one(envelope, "//ds:SignedInfo").findall(f"{{{DS}}}Reference")
    references[1].getparent().remove(references[1])
    resign(envelope, signer)
    with pytest.raises(InvalidSoapSignature, match="must cover"):
        verify_envelope(envelope, now=NOW)


# ---- time --------------------------------------------------------------------------------------------


def test_an_expired_timestamp_is_refused(zeep_client: zeep.Client, signer: Signer) -> None:
    data = zeep_request(zeep_client, SOAP11, signer.zeep_binary_signature())
    verify_envelope(parse_xml(data), now=NOW + timedelta(seconds=299))
    with pytest.raises(StaleTimestamp, match="expired"):
        verify_envelope(parse_xml(data), now=NOW + timedelta(seconds=300))


def test_a_timestamp_created_in_the_future_beyond_the_skew_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11, now=NOW + timedelta(seconds=301))
    with pytest.raises(StaleTimestamp, match="from now"):
        verify_envelope(envelope, now=NOW)
    verify_envelope(our_signed(signer, SOAP11, now=NOW + timedelta(seconds=300)), now=NOW)


def test_a_timestamp_created_too_long_ago_is_refused_even_if_not_expired(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11, ttl=3600)
    with pytest.raises(StaleTimestamp, match="ago"):
        verify_envelope(envelope, now=NOW + timedelta(seconds=301))
    verify_envelope(envelope, now=NOW + timedelta(seconds=60), max_skew_seconds=60)


@pytest.mark.parametrize(
    ("created", "expires"),
    [
        ("2026-03-01T08:00:00", "2026-03-01T08:05:00Z"),  # no time zone
        ("01/03/2026 08:00", "2026-03-01T08:05:00Z"),
        ("2026-02-30T08:00:00Z", "2026-03-01T08:05:00Z"),
        ("2026-03-01T08:05:00Z", "2026-03-01T08:00:00Z"),  # expires before created
    ],
)
def test_malformed_timestamps_are_refused(signer: Signer, created: str, expires: str) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, "//wsu:Created").text = created
    one(envelope, "//wsu:Expires").text = expires
    resign(envelope, signer)
    with pytest.raises(StaleTimestamp):
        verify_envelope(envelope, now=NOW)


def test_a_timestamp_without_expires_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    expires = one(envelope, "//wsu:Expires")
    expires.getparent().remove(expires)
    resign(envelope, signer)
    with pytest.raises(StaleTimestamp, match="Created and Expires"):
        verify_envelope(envelope, now=NOW)


def test_timestamps_with_offsets_and_long_fractions_are_read_in_utc(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, "//wsu:Created").text = "2026-03-01T16:00:00.123456789+08:00"
    one(envelope, "//wsu:Expires").text = "2026-03-01T08:05:00Z"
    resign(envelope, signer)
    verified = verify_envelope(envelope, now=NOW)
    assert verified.created == NOW + timedelta(microseconds=123456)


# ---- algorithms, tokens and structure -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("xpath", "algorithm", "message"),
    [
        (
            "//ds:SignedInfo/ds:CanonicalizationMethod",
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
            "comments",
        ),
        ("//ds:SignedInfo/ds:CanonicalizationMethod", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "inclusive"),
        ("//ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "RSA-SHA1"),
        ("//ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", "HMAC-SHA256"),
        ("//ds:SignatureMethod", "urn:something-new", "signature method is not accepted"),
        ("(//ds:DigestMethod)[1]", "http://www.w3.org/2000/09/xmldsig#sha1", "SHA-1"),
        ("(//ds:DigestMethod)[2]", "http://www.w3.org/2001/04/xmlenc#sha512", "digest method is not accepted"),
        ("(//ds:Transform)[1]", "http://www.w3.org/TR/1999/REC-xpath-19991116", "reference transform"),
        ("(//ds:Transform)[2]", "http://www.w3.org/2000/09/xmldsig#enveloped-signature", "enveloped-signature"),
    ],
)
def test_algorithms_other_than_ours_are_refused(signer: Signer, xpath: str, algorithm: str, message: str) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, xpath).set("Algorithm", algorithm)
    with pytest.raises(UnsupportedAlgorithm, match=message):
        verify_envelope(envelope, now=NOW)


def test_a_signature_method_that_does_not_fit_the_key_is_refused(signers: dict[str, Signer]) -> None:
    envelope = our_signed(signers["p256"], SOAP11)
    one(envelope, "//ds:SignatureMethod").set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    with pytest.raises(UnsupportedAlgorithm, match="does not fit"):
        verify_envelope(envelope, now=NOW)


def test_a_token_that_is_not_an_x509_certificate_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, "//wsse:BinarySecurityToken").text = base64.b64encode(b"not a certificate").decode()
    with pytest.raises(InvalidSoapSignature, match=r"not an X\.509 certificate"):
        verify_envelope(envelope, now=NOW)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("ValueType", "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ"),
        ("ValueType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509PKIPathv1"),
        ("EncodingType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#HexBinary"),
    ],
)
def test_tokens_of_other_types_are_refused(signer: Signer, attribute: str, value: str) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, "//wsse:BinarySecurityToken").set(attribute, value)
    with pytest.raises(InvalidSoapSignature, match=r"X\.509v3"):
        verify_envelope(envelope, now=NOW)


def test_a_certificate_with_an_unsupported_key_is_refused(signer: Signer) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed25519")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, None)
    )
    envelope = our_signed(signer, SOAP11)
    token = one(envelope, "//wsse:BinarySecurityToken")
    token.text = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    with pytest.raises(UnsupportedAlgorithm, match=r"RSA|P-256"):
        verify_envelope(envelope, now=NOW)


def test_keyinfo_pointing_at_a_token_outside_security_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    token = one(envelope, "//wsse:BinarySecurityToken")
    etree.SubElement(soap(envelope, "Header"), "{urn:attacker}Tokens").append(token)
    with pytest.raises(InvalidSoapSignature, match="BinarySecurityToken in the wsse:Security"):
        verify_envelope(envelope, now=NOW)


@pytest.mark.parametrize("uri", ["http://example.invalid/body.xml", "", "#xpointer(/)", "file:///etc/passwd"])
def test_references_other_than_a_local_id_are_refused(signer: Signer, uri: str) -> None:
    envelope = our_signed(signer, SOAP11)
    one(envelope, "(//ds:Reference)[1]").set("URI", uri)
    with pytest.raises(InvalidSoapSignature, match="by wsu:Id"):
        verify_envelope(envelope, now=NOW)


def test_an_ecdsa_signature_value_of_the_wrong_length_is_refused(signers: dict[str, Signer]) -> None:
    envelope = our_signed(signers["p256"], SOAP11)
    value = one(envelope, "//ds:SignatureValue")
    value.text = base64.b64encode(base64.b64decode(value.text) + b"\0").decode()
    with pytest.raises(InvalidSoapSignature, match="does not verify"):
        verify_envelope(envelope, now=NOW)


def test_a_flipped_ecdsa_s_verifies_but_reports_the_same_signature_value(signers: dict[str, Signer]) -> None:
    # (r, s) and (r, n - s) are both valid: a replay check keyed on the value must not see two messages.
    envelope = our_signed(signers["p256"], SOAP11)
    first = verify_envelope(envelope, now=NOW)
    value = one(envelope, "//ds:SignatureValue")
    raw = base64.b64decode(value.text)
    s = int.from_bytes(raw[32:], "big")
    value.text = base64.b64encode(raw[:32] + (P256_ORDER - s).to_bytes(32, "big")).decode()
    second = verify_envelope(envelope, now=NOW)
    assert second.signature_value == first.signature_value
    assert int.from_bytes(first.signature_value[32:], "big") <= P256_ORDER // 2


def test_the_signature_value_is_reported(signers: dict[str, Signer]) -> None:
    envelope = our_signed(signers["rsa"], SOAP11)
    raw = base64.b64decode(one(envelope, "//ds:SignatureValue").text)
    assert verify_envelope(envelope, now=NOW).signature_value == raw


def test_a_second_security_header_is_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    soap(envelope, "Header").append(etree.Element(f"{{{WSSE}}}Security"))
    with pytest.raises(InvalidSoapSignature, match="exactly one wsse:Security"):
        verify_envelope(envelope, now=NOW)


def test_extra_elements_in_the_envelope_are_refused(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    etree.SubElement(envelope, "{urn:attacker}Trailer")
    with pytest.raises(InvalidSoapSignature, match="nothing else"):
        verify_envelope(envelope, now=NOW)


def test_something_that_is_not_an_envelope_is_refused(signer: Signer) -> None:
    with pytest.raises(InvalidSoapSignature, match="not a SOAP"):
        verify_envelope(parse_xml(b"<Envelope/>"), now=NOW)
    envelope = our_signed(signer, SOAP11)
    with pytest.raises(InvalidSoapSignature, match="not a SOAP"):
        verify_envelope(soap(envelope, "Body"), now=NOW)


def test_whitespace_and_comments_outside_the_signed_parts_do_not_matter(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    soap(envelope, "Header").addprevious(etree.Comment(" a proxy was here "))
    value = one(envelope, "//ds:SignatureValue")
    value.text = "\n" + "\n".join(value.text[i : i + 64] for i in range(0, len(value.text), 64)) + "\n"
    verify_envelope(envelope, now=NOW)


def test_a_naive_clock_is_a_programming_error(signer: Signer) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify_envelope(our_signed(signer, SOAP11), now=NOW.replace(tzinfo=None))


# ---- signing: refusals ---------------------------------------------------------------------------------


def test_signing_refuses_keys_we_do_not_support(signer: Signer) -> None:
    for key in (ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 1024)):
        with pytest.raises(UnsupportedKey):
            sign_envelope(response_envelope(SOAP11), private_key=key, certificate=signer.certificate, now=NOW)


def test_signing_refuses_a_certificate_of_another_key(signers: dict[str, Signer]) -> None:
    with pytest.raises(ValueError, match="not the private key's"):
        sign_envelope(
            response_envelope(SOAP11),
            private_key=signers["p256"].key,
            certificate=signers["rsa"].certificate,
            now=NOW,
        )


def test_signing_refuses_an_envelope_signed_already_and_non_envelopes(signer: Signer) -> None:
    envelope = our_signed(signer, SOAP11)
    with pytest.raises(ValueError, match="already"):
        sign_envelope(envelope, private_key=signer.key, certificate=signer.certificate, now=NOW)
    with pytest.raises(ValueError, match="not a SOAP"):
        sign_envelope(etree.Element("r"), private_key=signer.key, certificate=signer.certificate, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        sign_envelope(
            response_envelope(SOAP11),
            private_key=signer.key,
            certificate=signer.certificate,
            now=NOW.replace(tzinfo=None),
        )


def test_signing_keeps_an_existing_header_and_body_id(signer: Signer) -> None:
    envelope = response_envelope(SOAP11)
    header = etree.Element(f"{{{SOAP11}}}Header")
    etree.SubElement(header, "{urn:x}Trace").text = "t-1"
    envelope.insert(0, header)
    soap(envelope, "Body").set(WSU_ID, "body-1")
    sign_envelope(envelope, private_key=signer.key, certificate=signer.certificate, now=NOW)
    assert [etree.QName(child).localname for child in soap(envelope, "Header")] == ["Trace", "Security"]
    assert verify_envelope(parse_xml(wire(envelope)), now=NOW).signed_ids[0] == "body-1"


# ---- errors -----------------------------------------------------------------------------------------------


def test_the_errors_fit_the_trust_hierarchy() -> None:
    assert issubclass(WsSecurityError, TrustError)
    assert issubclass(MissingSecurityHeader, SignatureMissing)
    assert issubclass(InvalidSoapSignature, InvalidSignature)
    assert issubclass(UnsupportedAlgorithm, InvalidSignature)
    assert issubclass(StaleTimestamp, SignatureOutOfTime)
    for cls in (MissingSecurityHeader, InvalidSoapSignature, UnsupportedAlgorithm, StaleTimestamp):
        assert issubclass(cls, WsSecurityError)


# ---- properties ------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30),
    position=st.integers(min_value=0),
)
def test_any_text_round_trips_and_any_change_to_it_is_caught(
    signers: dict[str, Signer], text: str, position: int
) -> None:
    signer = signers["p256"]
    envelope = response_envelope(SOAP12)
    one(envelope, "//e:text").text = text
    sign_envelope(envelope, private_key=signer.key, certificate=signer.certificate, now=NOW)
    received = parse_xml(wire(envelope))
    assert verify_envelope(received, now=NOW).body.findtext("e:EchoResponse/e:text", namespaces=NS) == text
    index = position % len(text)
    changed = text[:index] + ("X" if text[index] != "X" else "Y") + text[index + 1 :]
    one(received, "//e:text").text = changed
    with pytest.raises(InvalidSoapSignature):
        verify_envelope(received, now=NOW)
