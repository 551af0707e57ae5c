"""The Zhongshan sandbox on loopback: SOAP 1.1, its WSDLs, GB18030 answers, faults with Zhongshan codes, no XXE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

from adapters.zhongshan import create_app
from catalogs import code_table, field_map
from catalogs.seed import generate

SEED = generate()
ZHONGSHAN = SEED.city("zhongshan")
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DZZZ = "urn:zhongshan:gov:dzzz"


def envelope(namespace: str, operation: str, body: str, encoding: str = "UTF-8") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:z="{namespace}"><soap:Body>'
        f"<z:{operation}>{body}</z:{operation}></soap:Body></soap:Envelope>"
    )
    return text.encode(encoding)


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(SEED)


@pytest.fixture
def sandbox(serve: Callable[..., Any], app: Any) -> str:
    return str(serve(app).url)


def post(url: str, service: str, data: bytes, content_type: str = "text/xml; charset=utf-8") -> httpx.Response:
    return httpx.post(
        f"{url}/services/{service}", content=data, headers={"Content-Type": content_type}, trust_env=False
    )


def fault_code(response: httpx.Response) -> str | None:
    root = etree.fromstring(response.content)
    return root.findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/detail/{{*}}ZSCW/CWDM")


def chinese_licence() -> Any:
    return next(lic for lic in ZHONGSHAN.licences if lic.holder.id_type == "uscc")


def test_dzzz_answers_in_real_gb18030_bytes(sandbox: str) -> None:
    licence = chinese_licence()
    response = post(sandbox, "DzzzCxService", envelope(DZZZ, "QueryDzzz", f"<ZZBH>{licence.licence_number}</ZZBH>"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=GB18030"
    assert response.content.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    assert "DzzzCxService" in field_map("zhongshan").gb18030_services
    text = response.content.decode("gb18030")
    assert licence.holder.name in text and licence.title in text
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert licence.holder.name.encode("gb18030") in response.content
    assert etree.fromstring(response.content).findtext(".//DZZZ/CYZMC") == licence.holder.name


def test_utf8_services_answer_utf8(sandbox: str) -> None:
    assert "BjztTbService" not in field_map("zhongshan").gb18030_services
    response = post(sandbox, "BjztTbService", envelope("urn:zhongshan:gov:bjzt", "QueryBjzt", "<SBLSH>0</SBLSH>"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_gb18030_requests_are_accepted(sandbox: str) -> None:
    licence = chinese_licence()
    body = f"<ZZBH>{licence.licence_number}</ZZBH><BZ>中山市查询</BZ>"
    data = envelope(DZZZ, "QueryDzzz", body, encoding="GB18030")
    response = post(sandbox, "DzzzCxService", data, "text/xml; charset=GB18030")
    assert response.status_code == 200
    assert etree.fromstring(response.content).findtext(".//DZZZ/ZZBH") == licence.licence_number
    bare = data.split(b"?>", 1)[1]  # no XML declaration: the Content-Type charset names the encoding
    response = post(sandbox, "DzzzCxService", bare, "text/xml; charset=GB18030")
    assert response.status_code == 200
    assert etree.fromstring(response.content).findtext(".//DZZZ/ZZBH") == licence.licence_number


def test_search_filters_by_zhongshan_licence_type_code(sandbox: str) -> None:
    licence = chinese_licence()
    held = [lic for lic in ZHONGSHAN.licences if lic.holder.id_number == licence.holder.id_number]
    response = post(
        sandbox, "DzzzCxService", envelope(DZZZ, "SearchDzzz", f"<CYZZJHM>{licence.holder.id_number}</CYZZJHM>")
    )
    assert len(etree.fromstring(response.content).findall(".//DZZZ")) == len(held)
    body = f"<CYZZJHM>{licence.holder.id_number}</CYZZJHM><ZZLXDM>9999</ZZLXDM>"
    response = post(sandbox, "DzzzCxService", envelope(DZZZ, "SearchDzzz", body))
    assert response.status_code == 500 and fault_code(response) == "ZS-E1003"


def test_not_found_is_an_empty_answer(sandbox: str) -> None:
    response = post(sandbox, "DzzzCxService", envelope(DZZZ, "QueryDzzz", "<ZZBH>NO-SUCH</ZZBH>"))
    assert response.status_code == 200
    answer = etree.fromstring(response.content).find(f"{{{SOAP}}}Body/{{{DZZZ}}}QueryDzzzResponse")
    assert answer is not None and len(answer) == 0


@pytest.mark.parametrize(
    ("service", "data", "code"),
    [
        ("DzzzCxService", envelope(DZZZ, "QueryDzzz", ""), "ZS-E1002"),
        ("DzzzCxService", envelope(DZZZ, "DeleteDzzz", "<ZZBH>1</ZZBH>"), "ZS-E1004"),
        ("BjztTbService", envelope(DZZZ, "QueryDzzz", "<ZZBH>1</ZZBH>"), "ZS-E1004"),
        ("DzzzCxService", b"<not-xml", "ZS-E1001"),
        ("DzzzCxService", b"<Envelope/>", "ZS-E1001"),
    ],
)
def test_faults_carry_zhongshan_codes(sandbox: str, service: str, data: bytes, code: str) -> None:
    response = post(sandbox, service, data)
    assert response.status_code == 500
    root = etree.fromstring(response.content)
    assert root.findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/faultcode") == "soap:Client"
    assert fault_code(response) == code


def test_xxe_is_a_fault_without_file_content(sandbox: str, tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-ZHONGSHAN")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:z="{DZZZ}"><soap:Body>'
        "<z:QueryDzzz><ZZBH>&x;</ZZBH></z:QueryDzzz></soap:Body></soap:Envelope>"
    ).encode()
    response = post(sandbox, "DzzzCxService", data)
    assert response.status_code == 500
    assert fault_code(response) == "ZS-E1001"
    assert b"TOP-SECRET" not in response.content
    laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>'
    assert fault_code(post(sandbox, "DzzzCxService", laughs)) == "ZS-E1001"


def test_wsdl_is_served_with_this_servers_address(sandbox: str) -> None:
    for service in ("DzzzCxService", "XyxxCxService", "BjztTbService", "DzyzCxService", "JyxmCxService"):
        response = httpx.get(f"{sandbox}/services/{service}?wsdl", trust_env=False)
        assert response.status_code == 200
        root = etree.fromstring(response.content)
        address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
        assert address is not None and address.get("location") == f"{sandbox}/services/{service}"
    settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    client = zeep.Client(f"{sandbox}/services/DzzzCxService?wsdl", settings=settings)
    assert set(client.service._binding._operations) == {"QueryDzzz", "SearchDzzz"}
    client = zeep.Client(f"{sandbox}/services/JyxmCxService?wsdl", settings=settings)
    assert set(client.service._binding._operations) == {"QueryJyxm", "SearchJyxm", "SearchPbzj"}


def test_health(sandbox: str) -> None:
    response = httpx.get(f"{sandbox}/health", trust_env=False)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["services"]["DzzzCxService"] == "GB18030"


DZYZ = "urn:zhongshan:gov:dzyz"
JYXM = "urn:zhongshan:gov:jyxm"


def test_the_seed_gives_the_seal_platform_valid_and_revoked_seals_of_seeded_organisations() -> None:
    assert {"valid", "revoked"} <= {seal.status for seal in ZHONGSHAN.seals}
    enterprises = {party.id_number: party for party in ZHONGSHAN.enterprises}
    assert all(enterprises.get(seal.holder.id_number) == seal.holder for seal in ZHONGSHAN.seals)
    assert len({seal.seal_code for seal in ZHONGSHAN.seals}) == len(ZHONGSHAN.seals)
    assert {p.status for p in ZHONGSHAN.trading_projects} == set(code_table("trading_project_status").canonical_codes)


def test_seal_platform_answers_in_real_gb18030_bytes(sandbox: str) -> None:
    seal = next(item for item in ZHONGSHAN.seals if item.status == "revoked")
    response = post(sandbox, "DzyzCxService", envelope(DZYZ, "QueryDzyz", f"<YZBM>{seal.seal_code}</YZBM>"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=GB18030"
    assert response.content.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    assert seal.name.encode("gb18030") in response.content
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    record = etree.fromstring(response.content).find(f".//{{{DZYZ}}}QueryDzyzResponse/DZYZ")
    assert record is not None and record.findtext("YZMC") == seal.name
    assert record.findtext("YZZT") == code_table("seal_status").to_city("zhongshan", "revoked")
    body = f"<TYSHXYDM>{seal.holder.id_number}</TYSHXYDM>"
    response = post(
        sandbox, "DzyzCxService", envelope(DZYZ, "SearchDzyz", body, "GB18030"), "text/xml; charset=GB18030"
    )
    held = [item for item in ZHONGSHAN.seals if item.holder.id_number == seal.holder.id_number]
    assert [e.findtext("YZBM") for e in etree.fromstring(response.content).iter("DZYZ")] == [s.seal_code for s in held]


def test_trading_centre_answers_utf8_and_filters_by_zhongshan_status_code(sandbox: str) -> None:
    response = post(sandbox, "JyxmCxService", envelope(JYXM, "SearchJyxm", ""))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    assert len(etree.fromstring(response.content).findall(".//JYXM")) == len(ZHONGSHAN.trading_projects)
    evaluating = code_table("trading_project_status").to_city("zhongshan", "evaluating")
    response = post(sandbox, "JyxmCxService", envelope(JYXM, "SearchJyxm", f"<XMZT>{evaluating}</XMZT>"))
    found = etree.fromstring(response.content).findall(".//JYXM")
    assert {e.findtext("XMZT") for e in found} == {evaluating}
    assert len(found) == sum(1 for p in ZHONGSHAN.trading_projects if p.status == "evaluating")
    response = post(sandbox, "JyxmCxService", envelope(JYXM, "SearchJyxm", "<XMZT>30</XMZT>"))
    assert response.status_code == 500 and fault_code(response) == "ZS-E1003"
    response = post(sandbox, "DzyzCxService", envelope(DZYZ, "SearchDzyz", ""))
    assert response.status_code == 500 and fault_code(response) == "ZS-E1002"
