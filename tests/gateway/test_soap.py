"""The SOAP face with zeep as the reference client: WS-Security both ways, faults with the REST codes."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault, SignatureVerificationFailed
from zeep.transports import Transport
from zeep.wsse.compose import Compose

from gateway.registry import add_member, grant
from gateway.soap_client import GatewaySigned, SignRequests, Timestamp

MEMBER = "442000.zsgov.window"


def make_identity(tmp_path: Path, name: str, kind: str = "rsa") -> tuple[Path, Path, bytes]:
    key: Any = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(cert_pem)
    return key_file, cert_file, cert_pem


@pytest.fixture
def soap(gateway: Any, tmp_path: Path) -> Any:
    key_file, cert_file, cert_pem = make_identity(tmp_path, MEMBER)
    with gateway.runtime.database.write() as connection:
        add_member(connection, MEMBER, cert_pem, name="中山市政务服务窗口", now=gateway.runtime.clock.now())
    jwks = gateway.jwks()
    x5c = next(key["x5c"][0] for key in jwks["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(
        x509.load_der_x509_certificate(base64.b64decode(x5c)).public_bytes(serialization.Encoding.PEM)
    )

    def client(
        binding: str = "TongbanSoap11", key: Path = key_file, cert: Path = cert_file, timestamp: Timestamp | None = None
    ) -> Any:
        signature = SignRequests(
            str(key), str(cert), signature_method=xmlsec.Transform.RSA_SHA256, digest_method=xmlsec.Transform.SHA256
        )
        wsse = Compose([timestamp or Timestamp(), signature, GatewaySigned(gateway_cert)])
        transport = Transport(session=None)
        zeep_client = Client(
            f"{gateway.url}/soap?wsdl", wsse=wsse, transport=transport, settings=Settings(strict=True, forbid_dtd=True)
        )
        return zeep_client.bind("Tongban", binding)

    return gateway, client


def test_wsdl_is_served_and_names_the_operations(gateway: Any) -> None:
    response = httpx.get(gateway.url + "/soap?wsdl", trust_env=False)
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    operations = {op.get("name") for op in document.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {"ListMembers", "ListServices", "GetAuditCheckpoint", "GetAuditEntry"} <= operations
    address = document.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
    assert address == f"{gateway.url}/soap"


@pytest.mark.parametrize("binding", ["TongbanSoap11", "TongbanSoap12"])
def test_zeep_calls_with_ws_security_and_verifies_the_signed_answer(soap: Any, binding: str) -> None:
    gateway, client = soap
    result = client(binding).ListMembers()
    assert result.total == 1
    assert result.member[0].id == MEMBER
    assert result.member[0].name == "中山市政务服务窗口"


def test_the_answer_is_signed_with_the_key_published_in_the_jwks(soap: Any, tmp_path: Path) -> None:
    gateway, client = soap
    other_cert = make_identity(tmp_path, "not-the-gateway")[1]
    service = client()
    service._client.wsse = Compose([Timestamp(), service._client.wsse.wsse_objects[1], GatewaySigned(other_cert)])
    with pytest.raises(SignatureVerificationFailed):
        service.ListMembers()


def fault_of(call: Any) -> Fault:
    with pytest.raises(Fault) as caught:
        call()
    return caught.value


def test_unsigned_request_is_a_fault_with_the_rest_code(soap: Any) -> None:
    gateway, _ = soap
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tb="urn:tongban:gateway:v1">'
        "<soap:Body><tb:ListMembers/></soap:Body></soap:Envelope>"
    )
    response = httpx.post(
        gateway.url + "/soap", content=envelope, headers={"Content-Type": "text/xml"}, trust_env=False
    )
    assert response.status_code == 500
    fault = etree.fromstring(response.content)
    assert fault.findtext(".//faultstring").startswith("auth.missing_signature: ")
    assert fault.findtext(".//{urn:tongban:gateway:v1}code") == "auth.missing_signature"
    assert fault.findtext(".//{urn:tongban:gateway:v1}exchangeId") == response.headers["x-tongban-exchange-id"]


def test_unregistered_certificate_is_unknown_issuer(soap: Any, tmp_path: Path) -> None:
    gateway, client = soap
    key, cert, _pem = make_identity(tmp_path, "441900.dgamr.licence")
    fault = fault_of(lambda: client(key=key, cert=cert).ListMembers())
    assert fault.message.startswith("auth.unknown_issuer")


def test_stale_timestamp_is_refused(soap: Any) -> None:
    gateway, client = soap
    old = Timestamp(created=datetime.now(UTC) - timedelta(hours=1))
    fault = fault_of(lambda: client(timestamp=old).ListMembers())
    assert fault.message.startswith("auth.stale_signature")


def test_a_replayed_envelope_is_refused(soap: Any) -> None:
    gateway, client = soap
    service = client()
    node = service._client.create_message(service._client.service, "ListMembers")  # signed by its wsse
    body = etree.tostring(node)
    first = httpx.post(gateway.url + "/soap", content=body, headers={"Content-Type": "text/xml"}, trust_env=False)
    assert first.status_code == 200, first.text
    again = httpx.post(gateway.url + "/soap", content=body, headers={"Content-Type": "text/xml"}, trust_env=False)
    assert again.status_code == 500
    assert b"auth.replayed_token" in again.content


def test_xxe_is_refused_quickly_with_a_fault(gateway: Any) -> None:
    attack = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tb="urn:tongban:gateway:v1">'
        "<soap:Body><tb:ListMembers><tb:page>&x;</tb:page></tb:ListMembers></soap:Body></soap:Envelope>"
    )
    started = time.monotonic()
    response = httpx.post(gateway.url + "/soap", content=attack, headers={"Content-Type": "text/xml"}, trust_env=False)
    assert time.monotonic() - started < 1
    assert response.status_code == 500
    assert b"request.malformed" in response.content
    assert b"root:" not in response.content


def test_audit_entries_over_soap_follow_the_same_access_rules(soap: Any) -> None:
    gateway, client = soap
    assert gateway.runtime.transparency_log is not None
    gateway.runtime.transparency_log.append_now({"kind": "test", "client": "440300.other.system"}, exchange_id="x-1")
    fault = fault_of(lambda: client().GetAuditEntry(index=0))
    assert fault.message.startswith("access.denied")
    with gateway.runtime.database.write() as connection:
        grant(connection, MEMBER, "audit.read", now=gateway.runtime.clock.now())
    entry = client().GetAuditEntry(index=0)
    assert entry.index == 0 and '"client": "440300.other.system"' in entry.entryJson
    checkpoint = client().GetAuditCheckpoint()  # zeep unwraps a one-element answer
    assert checkpoint.startswith("440300.tongban.gateway/audit\n")
