"""The cities' cloud signature services (云签名) in the sandboxes, through each adapter: the client
fetches the resident's certificate, sends only SM3(Z || data), and gets a signature that verifies over
the data under a certificate of the city's SM2 CA naming the resident; strangers are unknown. Zhongshan's
is a SOAP service (YqmService) whose malformed answers are refused naming the element at fault."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

import trust
from adapters.cloud_signing import CloudSignature, CloudSigningDesk
from adapters.hohhot import HohhotClient
from adapters.hohhot import create_app as hohhot_sandbox
from adapters.shenzhen import ShenzhenClient
from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.zhongshan import MalformedPartnerData, ZhongshanClient
from adapters.zhongshan import create_app as zhongshan_sandbox
from catalogs import seed

CITIES = {
    "150100": ("hohhot", hohhot_sandbox, HohhotClient),
    "440300": ("shenzhen", shenzhen_sandbox, ShenzhenClient),
    "442000": ("zhongshan", zhongshan_sandbox, ZhongshanClient),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> trust.DemoPki:
    bases = {region: "http://127.0.0.1:9/pki/crl" for region in CITIES}
    return trust.load_or_create_demo_pki(tmp_path_factory.mktemp("pki"), now=datetime.now(UTC), crl_base_urls=bases)


def _desk(pki: trust.DemoPki, region: str, keys_dir: Path | None) -> CloudSigningDesk:
    city = seed.generate().city(CITIES[region][0])
    residents = {person.id_number: person.name for person in (*city.persons, *city.experts)}
    return CloudSigningDesk(pki, region, residents, keys_dir=keys_dir)


def _sign(client_type: Any, url: str, id_number: str, data: bytes) -> CloudSignature | None:
    async def ask() -> CloudSignature | None:
        async with client_type(url) as client:
            signed: CloudSignature | None = await client.cloud_sign(id_number, data)
            return signed

    return asyncio.run(ask())


@pytest.mark.parametrize("region", sorted(CITIES))
def test_a_resident_signs_through_the_citys_service(
    region: str, pki: trust.DemoPki, serve: Any, tmp_path: Path
) -> None:
    name, sandbox, client_type = CITIES[region]
    data = seed.generate()
    resident = data.city(name).experts[0]
    url = serve(sandbox(seed_data=data, signing=_desk(pki, region, tmp_path))).url
    message = "评标报告".encode() * 50

    signed = _sign(client_type, url, resident.id_number, message)
    assert signed is not None and signed.algorithm == "SM2-with-SM3"
    trust.sm2_public_key_of_certificate(signed.certificate).verify(signed.signature, message)
    certificate = x509.load_der_x509_certificate(signed.certificate)
    subject = {attribute.oid: attribute.value for attribute in certificate.subject}
    assert subject[NameOID.SERIAL_NUMBER] == resident.id_number and subject[NameOID.COMMON_NAME] == resident.name
    assert signed.chain[0] == pki.identity(region, "issuing-sm2").der
    trust.verify_issued_by(signed.certificate, signed.chain[0])

    # The key is kept: the same certificate from a new desk over the same folder; the private key 0600.
    again = serve(sandbox(seed_data=data, signing=_desk(pki, region, tmp_path))).url
    kept = _sign(client_type, again, resident.id_number, b"x")
    assert kept is not None and kept.certificate == signed.certificate
    assert (tmp_path / f"{resident.id_number}.key").stat().st_mode & 0o777 == 0o600

    # Nobody else: None for a stranger.
    assert _sign(client_type, url, "110101199003074514", message) is None


def test_the_service_signs_hashes_only_and_keeps_keys_in_memory_without_a_folder(
    pki: trust.DemoPki, serve: Any
) -> None:
    data = seed.generate()
    resident = data.city("hohhot").persons[0]
    url = serve(hohhot_sandbox(seed_data=data, signing=_desk(pki, "150100", None))).url
    body = {"cert_num": resident.id_number, "sign_hash": "AAAA", "sign_alg": "SM3withSM2"}
    answer = httpx.post(f"{url}/api/cloudsign/sign", json=body, trust_env=False).json()
    assert answer["code"] == 400 and "SM3" in answer["msg"]
    signed = _sign(HohhotClient, url, resident.id_number, b"data")
    assert signed is not None
    trust.sm2_public_key_of_certificate(signed.certificate).verify(signed.signature, b"data")


def test_without_a_desk_the_sandbox_offers_no_cloud_signing(serve: Any) -> None:
    url = serve(hohhot_sandbox(seed_data=seed.generate())).url
    assert httpx.get(f"{url}/api/cloudsign/cert?cert_num=1", trust_env=False).status_code == 404


SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
YQM = "urn:zhongshan:gov:yqm"


def _soap(operation: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP}" xmlns:y="{YQM}">'
        f"<soap:Body><y:{operation}>{body}</y:{operation}></soap:Body></soap:Envelope>"
    ).encode()


def _fault_code(response: httpx.Response) -> str | None:
    return etree.fromstring(response.content).findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/detail/{{*}}ZSCW/CWDM")


def test_zhongshans_service_is_soap_with_its_wsdl_and_signs_only_sm3_hashes(pki: trust.DemoPki, serve: Any) -> None:
    data = seed.generate()
    resident = data.city("zhongshan").persons[0]
    url = serve(zhongshan_sandbox(seed_data=data, signing=_desk(pki, "442000", None))).url
    settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    client = zeep.Client(f"{url}/services/YqmService?wsdl", settings=settings)
    assert set(client.service._binding._operations) == {"QueryQmzs", "QmZy"}
    assert client.service._binding_options["address"] == f"{url}/services/YqmService"

    def post(body: bytes) -> httpx.Response:
        headers = {"Content-Type": "text/xml; charset=UTF-8"}
        return httpx.post(f"{url}/services/YqmService", content=body, headers=headers, trust_env=False)

    digest = base64.b64encode(bytes(32)).decode()
    sm2_sm3 = "<QMSF>1.2.156.10197.1.501</QMSF>"
    refused = {
        "the data itself": f"<SFZH>{resident.id_number}</SFZH><ZYZ>{base64.b64encode(b'data').decode()}</ZYZ>{sm2_sm3}",
        "another algorithm": f"<SFZH>{resident.id_number}</SFZH><ZYZ>{digest}</ZYZ><QMSF>1.2.840.10045.4.3.2</QMSF>",
        "not base64": f"<SFZH>{resident.id_number}</SFZH><ZYZ>!!</ZYZ>{sm2_sm3}",
        "an unknown parameter": f"<SFZH>{resident.id_number}</SFZH><ZYZ>{digest}</ZYZ>{sm2_sm3}<YW>data</YW>",
    }
    for case, body in refused.items():
        answer = post(_soap("QmZy", body))
        assert (answer.status_code, _fault_code(answer)) == (500, "ZS-E1003"), case
    missing = post(_soap("QmZy", f"<ZYZ>{digest}</ZYZ>{sm2_sm3}"))
    assert _fault_code(missing) == "ZS-E1002" and "SFZH" in missing.content.decode()
    signed = post(_soap("QmZy", f"<SFZH>{resident.id_number}</SFZH><ZYZ>{digest}</ZYZ>{sm2_sm3}"))
    assert signed.status_code == 200 and signed.headers["content-type"] == "text/xml; charset=UTF-8"
    assert etree.fromstring(signed.content).findtext(f".//{{{YQM}}}QmZyResponse/QMJG/QMSF") == "1.2.156.10197.1.501"
    stranger = post(_soap("QueryQmzs", "<SFZH>110101199003074514</SFZH>"))
    assert (
        stranger.status_code == 200
        and len(etree.fromstring(stranger.content).find(f".//{{{YQM}}}QueryQmzsResponse")) == 0
    )


def test_without_a_desk_zhongshan_offers_no_cloud_signing(serve: Any) -> None:
    url = serve(zhongshan_sandbox(seed_data=seed.generate())).url
    assert httpx.get(f"{url}/services/YqmService?wsdl", trust_env=False).status_code == 404


class _Tampering(httpx.AsyncBaseTransport):
    """Zhongshan's sandbox, with the answers to one operation changed on their way back."""

    def __init__(self, app: Any, operation: str, change: Callable[[Any], None]) -> None:
        self._inner = httpx.ASGITransport(app)
        self._action = f"{YQM}#{operation}"
        self._change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        if request.headers.get("soapaction", "").strip('"') != self._action:
            return httpx.Response(response.status_code, headers=response.headers, content=content)
        root = etree.fromstring(content)
        self._change(root.find(f"{{{SOAP}}}Body")[0][0])
        changed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return httpx.Response(
            response.status_code, headers={"Content-Type": "text/xml; charset=UTF-8"}, content=changed
        )


def _set(path: str, text: str) -> Callable[[Any], None]:
    def change(record: Any) -> None:
        record.find(path).text = text

    return change


def _drop(path: str) -> Callable[[Any], None]:
    def change(record: Any) -> None:
        found = record.find(path)
        found.getparent().remove(found)

    return change


def _add(name: str) -> Callable[[Any], None]:
    def change(record: Any) -> None:
        etree.SubElement(record, name).text = "x"

    return change


def _twice(record: Any) -> None:
    record.getparent().append(etree.fromstring(etree.tostring(record)))


NOT_A_CERTIFICATE = base64.b64encode(b"not a certificate").decode()


@pytest.mark.parametrize(
    ("operation", "change", "named"),
    [
        ("QueryQmzs", _set("ZSNR", "!!"), "QMZS/ZSNR: expected base64"),
        ("QueryQmzs", _set("ZSNR", NOT_A_CERTIFICATE), "QMZS/ZSNR: not an SM2 certificate"),
        ("QueryQmzs", _set("SFZH", "442000199001010011"), "QMZS/SFZH: answered for 442000199001010011"),
        ("QueryQmzs", _drop("ZSL"), "QMZS/ZSL: missing"),
        ("QueryQmzs", _twice, "answered 2 records for one resident"),
        ("QmZy", _set("QMSF", "1.2.840.10045.4.3.2"), "QMJG/QMSF: '1.2.840.10045.4.3.2' is not SM2 with SM3"),
        ("QmZy", _drop("QMZ"), "QMJG/QMZ: missing"),
        ("QmZy", _set("QMZ", ""), "QMJG/QMZ: empty"),
        ("QmZy", _set("ZSL/ZS[2]", "!!"), "QMJG/ZSL/ZS[2]: expected base64"),
        ("QmZy", _add("QMSJ"), "QMJG/QMSJ: not a field of QMJG"),
        ("QmZy", _add("QMZ"), "QMJG/QMZ: appears more than once"),
    ],
)
def test_zhongshans_malformed_answers_name_the_element_at_fault(
    pki: trust.DemoPki, operation: str, change: Callable[[Any], None], named: str
) -> None:
    data = seed.generate()
    resident = data.city("zhongshan").experts[0]
    app = zhongshan_sandbox(seed_data=data, signing=_desk(pki, "442000", None))

    async def ask() -> None:
        async with ZhongshanClient("http://zhongshan", transport=_Tampering(app, operation, change)) as client:
            await client.cloud_sign(resident.id_number, b"report")

    with pytest.raises(MalformedPartnerData) as raised:
        asyncio.run(ask())
    assert named in str(raised.value)
