"""The catalogue over the gateway's faces: public REST search (signed answers, problem+json errors,
OpenAPI enums) and SOAP GetCatalogItem / SearchCatalogItems through zeep with WS-Security."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsse.compose import Compose

from catalogs.service_items import MODES, SECTORS
from gateway.metrics import render
from gateway.registry import add_member
from gateway.soap_client import GatewaySigned, SignRequests, Timestamp

MEMBER = "442000.zsgov.window"


def get(gateway: Any, path: str, **params: Any) -> httpx.Response:
    return httpx.get(gateway.url + path, params=params, trust_env=False, timeout=30)


def test_search_is_public_and_counts_633_items(gateway: Any) -> None:
    response = get(gateway, "/v1/catalog/items")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "total", "page", "page_size"}
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (633, 1, 50, 50)
    assert response.headers["x-tongban-exchange-id"] and "tongban=" in response.headers["signature-input"]


def test_chinese_queries_and_filters(gateway: Any) -> None:
    food = get(gateway, "/v1/catalog/items", q="食品").json()
    assert food["items"][0]["name"] == "食品经营许可证核发" and food["total"] == 15
    assert "食品经营许可证核发".encode() in get(gateway, "/v1/catalog/items", q="食品").content  # not \\u escapes
    social = get(gateway, "/v1/catalog/items", q="社保", page_size=100).json()
    assert "社会保障卡申领" in [item["name"] for item in social["items"]]
    assert get(gateway, "/v1/catalog/items", q="食").json()["total"] >= 15
    narrowed = get(gateway, "/v1/catalog/items", q="许可证", city="442000", mode="全程网办", subject="enterprise")
    assert all(item["mode"] == "全程网办" for item in narrowed.json()["items"])
    police = get(gateway, "/v1/catalog/items", sector="公安", department="出入境", page_size=5).json()
    assert police["total"] == 18 and len(police["items"]) == 5


def test_pages(gateway: Any) -> None:
    last = get(gateway, "/v1/catalog/items", page=7, page_size=100).json()
    assert (last["total"], len(last["items"])) == (633, 33)


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page_size": 501},
        {"page_size": "x"},
        {"mode": "上门办"},
        {"subject": "robot"},
        {"sector": "外星事务"},
        {"city": "44030"},
        {"q": ""},
        {"q": "食" * 101},
    ],
)
def test_invalid_parameters_are_422_problems(gateway: Any, params: dict[str, Any]) -> None:
    response = get(gateway, "/v1/catalog/items", **params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "request.invalid"


def test_one_item_and_an_unknown_code(gateway: Any) -> None:
    item = get(gateway, "/v1/catalog/items/SCJG-0002").json()
    assert item["name"] == "食品经营许可证核发"
    assert item["materials"][1]["licence_types"] == ["business_licence"]
    assert item["departments"]["442000"] == "中山市市场监督管理局"
    missing = get(gateway, "/v1/catalog/items/NONE-0001")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "request.not_found"


def test_the_summary_names_the_version_and_sectors(gateway: Any) -> None:
    summary = get(gateway, "/v1/catalog").json()
    assert summary["version"] == "2026.12-representative" and summary["total"] == 633
    assert [entry["sector"] for entry in summary["sectors"]] == list(SECTORS)
    assert sum(entry["count"] for entry in summary["sectors"]) == 633


def test_openapi_declares_the_enums_and_examples(gateway: Any) -> None:
    spec = get(gateway, "/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/v1/catalog/items"]["get"]["parameters"]}
    assert parameters["mode"]["schema"]["enum"] == list(MODES)
    assert parameters["sector"]["schema"]["enum"] == list(SECTORS)
    assert parameters["subject"]["schema"]["enum"] == ["enterprise", "person"]
    assert parameters["q"]["schema"]["examples"] == ["食品"]
    well_known = get(gateway, "/.well-known/tongban").json()
    assert well_known["endpoints"]["catalog_item"] == "/v1/catalog/items/{code}"


def test_the_query_never_becomes_a_metric_label(gateway: Any) -> None:
    get(gateway, "/v1/catalog/items", q="独一无二的查询词")
    metrics = render().decode()
    assert "独一无二" not in metrics
    assert 'tongban_requests_total{method="GET",route="/v1/catalog/items",status="200"}' in metrics


# ---- SOAP ------------------------------------------------------------------------------------------


@pytest.fixture
def soap(gateway: Any, tmp_path: Path) -> Any:
    from tests.gateway.test_soap import make_identity

    key_file, cert_file, cert_pem = make_identity(tmp_path, MEMBER)
    with gateway.runtime.database.write() as connection:
        add_member(connection, MEMBER, cert_pem, name="中山市政务服务窗口", now=gateway.runtime.clock.now())
    x5c = next(key["x5c"][0] for key in gateway.jwks()["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(
        x509.load_der_x509_certificate(base64.b64decode(x5c)).public_bytes(serialization.Encoding.PEM)
    )
    signature = SignRequests(
        str(key_file),
        str(cert_file),
        signature_method=xmlsec.Transform.RSA_SHA256,
        digest_method=xmlsec.Transform.SHA256,
    )
    client = Client(
        f"{gateway.url}/soap?wsdl",
        wsse=Compose([Timestamp(), signature, GatewaySigned(gateway_cert)]),
        transport=Transport(session=None),
        settings=Settings(strict=True, forbid_dtd=True),
    )
    return client.bind("Tongban", "TongbanSoap11")


def test_soap_get_catalog_item(soap: Any) -> None:
    item = soap.GetCatalogItem(itemCode="SCJG-0002")
    assert item.name == "食品经营许可证核发"
    assert item.mode == "异地代收代办"
    assert {d.city: d.name for d in item.department} == {
        "440300": "深圳市市场监督管理局",
        "442000": "中山市市场监督管理局",
    }
    assert item.material[1].licenceType == ["business_licence"]
    assert (item.legalLimitDays, item.promisedLimitDays, item.resultLicenceType) == (20, 5, "food_operation_permit")


def test_soap_unknown_item_is_a_not_found_fault(soap: Any) -> None:
    with pytest.raises(Fault) as caught:
        soap.GetCatalogItem(itemCode="NONE-0001")
    assert caught.value.message.startswith("request.not_found")


def test_soap_search(soap: Any) -> None:
    answer = soap.SearchCatalogItems(q="社保", pageSize=3)
    assert answer.total == 8 and answer.pageSize == 3 and len(answer.item) == 3
    assert answer.item[0].name == "社会保障卡申领"
    with pytest.raises(Fault) as caught:
        soap.SearchCatalogItems(mode="上门办")
    assert caught.value.message.startswith("request.invalid")


def test_soap_needs_ws_security(gateway: Any) -> None:
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tb="urn:tongban:gateway:v1">'
        "<s:Body><tb:GetCatalogItem><tb:itemCode>SCJG-0002</tb:itemCode></tb:GetCatalogItem></s:Body></s:Envelope>"
    )
    response = httpx.post(
        gateway.url + "/soap",
        content=envelope.encode(),
        headers={"content-type": "text/xml; charset=utf-8", "SOAPAction": "GetCatalogItem"},
        trust_env=False,
    )
    assert response.status_code in (400, 401, 500) and b"auth." in response.content
