"""The cities' cloud signature services (云签名) in the sandboxes, through each adapter: the client
fetches the resident's certificate, sends only SM3(Z || data), and gets a signature that verifies over
the data under a certificate of the city's SM2 CA naming the resident; strangers are unknown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

import trust
from adapters.cloud_signing import CloudSignature, CloudSigningDesk
from adapters.hohhot import HohhotClient
from adapters.hohhot import create_app as hohhot_sandbox
from adapters.shenzhen import ShenzhenClient
from adapters.shenzhen import create_app as shenzhen_sandbox
from catalogs import seed

CITIES = {
    "150100": ("hohhot", hohhot_sandbox, HohhotClient),
    "440300": ("shenzhen", shenzhen_sandbox, ShenzhenClient),
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
