"""A caller of one city reaches the other city's registry through the gateway and its adapters:
Zhongshan over SOAP to Shenzhen's REST registry, and Shenzhen over REST to Zhongshan's SOAP one."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from test_soap import make_identity

from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.zhongshan import create_app as zhongshan_sandbox
from catalogs import seed
from gateway.registry import add_member, grant
from gateway.soap_client import GatewaySigned, SignRequests, Timestamp


@pytest.fixture
def cities(start_gateway: Any, serve: Any, tmp_path: Path) -> Any:
    data = seed.generate()
    shenzhen = serve(shenzhen_sandbox(seed_data=data))
    zhongshan = serve(zhongshan_sandbox(seed_data=data))
    gateway = start_gateway(partner_urls={"440300": shenzhen.url, "442000": zhongshan.url})
    return gateway, data, shenzhen, zhongshan


def test_shenzhen_rest_caller_gets_a_zhongshan_licence_in_the_canonical_model(cities: Any) -> None:
    gateway, data, _sz, _zs = cities
    caller = gateway.add_member("440300.szgov.window")
    gateway.grant(caller.id, "licences.lookup")
    licence = data.city("zhongshan").licences[0]
    response = gateway.call(caller, "GET", f"/v1/registries/442000/licences/{quote(licence.licence_number, safe='')}")
    assert response.status_code == 200, response.text
    assert response.json() == licence.model_dump(mode="json")
    entries = gateway.runtime.audit_log.entries_for(response.headers["x-tongban-exchange-id"])
    kinds = [entry["kind"] for _index, entry in entries]
    assert kinds == ["exchange.request", "exchange.response"]


def test_zhongshan_soap_caller_gets_a_shenzhen_licence(cities: Any, tmp_path: Path) -> None:
    import xmlsec
    from zeep import Client
    from zeep.wsse.compose import Compose

    gateway, data, _sz, _zs = cities
    key_file, cert_file, cert_pem = make_identity(tmp_path, "442000.zsgov.window")
    with gateway.runtime.database.write() as connection:
        add_member(connection, "442000.zsgov.window", cert_pem, now=gateway.runtime.clock.now())
        grant(connection, "442000.zsgov.window", "licences.lookup", now=gateway.runtime.clock.now())
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    x5c = next(key["x5c"][0] for key in gateway.jwks()["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(
        x509.load_der_x509_certificate(base64.b64decode(x5c)).public_bytes(serialization.Encoding.PEM)
    )
    method, digest = xmlsec.Transform.RSA_SHA256, xmlsec.Transform.SHA256
    signer = SignRequests(str(key_file), str(cert_file), signature_method=method, digest_method=digest)
    service = Client(f"{gateway.url}/soap?wsdl", wsse=Compose([Timestamp(), signer, GatewaySigned(gateway_cert)]))
    licence = data.city("shenzhen").licences[0]
    answer = service.service.GetLicence(issuingCity="440300", licenceNumber=licence.licence_number)
    assert answer.licenceNumber == licence.licence_number
    assert answer.holder.name == licence.holder.name
    assert answer.issuedOn == licence.issued_on
    assert answer.status == licence.status


def test_unknown_licence_and_unknown_city(cities: Any) -> None:
    gateway, _data, _sz, _zs = cities
    caller = gateway.add_member("440300.szgov.window")
    gateway.grant(caller.id, "licences.lookup")
    missing = gateway.call(caller, "GET", "/v1/registries/442000/licences/NO-SUCH-LICENCE")
    assert missing.status_code == 404 and missing.json()["code"] == "request.not_found"
    elsewhere = gateway.call(caller, "GET", "/v1/registries/441900/licences/X1")
    assert elsewhere.status_code == 404


def test_a_partner_registry_that_is_down_is_503(cities: Any) -> None:
    gateway, data, _sz, zhongshan = cities
    caller = gateway.add_member("440300.szgov.window")
    gateway.grant(caller.id, "licences.lookup")
    zhongshan.stop()
    response = gateway.call(caller, "GET", "/v1/registries/442000/licences/ANY-1")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "upstream.unavailable" and response.json()["retryable"] is True


def test_no_right_no_lookup(cities: Any) -> None:
    gateway, data, _sz, _zs = cities
    caller = gateway.add_member("440300.szgov.window")
    response = gateway.call(caller, "GET", "/v1/registries/442000/licences/ANY-1")
    assert response.status_code == 403
