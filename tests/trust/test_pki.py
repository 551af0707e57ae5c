"""The sandbox's demo PKI: made once, reloaded identical, keys private, CRLs and lists that verify, and the
deliberate failures validating as they should."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from trust._pki import DemoEnterprise, DemoPki, load_or_create_demo_pki
from trust._report import Indication, SealSummary, SignatureEvidence, SubIndication
from trust._revocation import RevocationChecker, verify_crl_issued_by
from trust._trustlist import TrustListInvalid, TrustLists, parse_trust_list
from trust._validation import validate_signature

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CITIES = ("440300", "442000", "150100")
CRL_BASES = {city: f"http://127.0.0.1:{9000 + n}/pki/crl" for n, city in enumerate(CITIES)}
ENTERPRISES = {
    "440300": [DemoEnterprise("91440300MA5EXAMPLE", "深圳示例科技有限公司")],
    "442000": [DemoEnterprise("91442000MA4EXAMPLE", "中山示例灯饰有限公司")],
}
LIST_URLS = {city: f"http://127.0.0.1:{9000 + n}/pki/trust-list.jws" for n, city in enumerate(CITIES)}


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def pki(directory: Path) -> DemoPki:
    started = time.perf_counter()
    made = load_or_create_demo_pki(directory, now=NOW, crl_base_urls=CRL_BASES, enterprises=ENTERPRISES)
    assert time.perf_counter() - started < 3
    return made


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()
    }


def test_reloading_changes_nothing(pki: DemoPki, directory: Path) -> None:
    before = _files(directory)
    again = load_or_create_demo_pki(
        directory, now=NOW + timedelta(hours=1), crl_base_urls=CRL_BASES, enterprises=ENTERPRISES
    )
    assert _files(directory) == before
    assert again.identities.keys() == pki.identities.keys()
    for key, identity in pki.identities.items():
        assert again.identities[key].der == identity.der
    assert again.created_at == pki.created_at


def test_the_layout_and_key_permissions(pki: DemoPki, directory: Path) -> None:
    for city in CITIES:
        for role in ("root-ec", "root-sm2", "licence-issuer-ed25519", "seal-platform-sm2", "trust-list-operator"):
            identity = pki.identity(city, role)
            assert identity.certificate_path == directory / city / f"{role}.crt"
            assert stat.S_IMODE(identity.key_path.stat().st_mode) == 0o600
        assert pki.trust_list_path(city).exists()
    keys = list(directory.rglob("*.key"))
    assert keys and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in keys)
    assert ("440300", "enterprise-91440300MA5EXAMPLE-sm2") in pki.identities
    assert ("150100", "enterprise-91440300MA5EXAMPLE-sm2") not in pki.identities


def test_crls_verify_and_list_the_revoked_issuer(pki: DemoPki) -> None:
    for city in CITIES:
        for ca_role in ("root-ec", "root-sm2", "issuing-ec", "issuing-sm2", "unlisted-ca-ec"):
            crl = x509.load_der_x509_crl(pki.crl_path(city, ca_role).read_bytes())
            verify_crl_issued_by(crl, pki.identity(city, ca_role).certificate)
            assert crl.next_update_utc is not None and crl.next_update_utc > NOW
        issuing = x509.load_der_x509_crl(pki.crl_path(city, "issuing-ec").read_bytes())
        revoked = pki.identity(city, "licence-issuer-revoked-ec").certificate
        entry = issuing.get_revoked_certificate_by_serial_number(revoked.serial_number)
        assert entry is not None and entry.revocation_date_utc == pki.revoked_at
        leaf = pki.identity(city, "licence-issuer-ec").certificate
        points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert points[0].full_name[0].value == f"{CRL_BASES[city]}/{city}-issuing-ec.crl"
        assert pki.crl_urls[(city, "issuing-ec")] == points[0].full_name[0].value


def test_the_trust_lists_are_signed_by_each_citys_operator(pki: DemoPki) -> None:
    for city in CITIES:
        trust_list = parse_trust_list(pki.trust_list_path(city).read_bytes(), pki.operator_certificate(city), city=city)
        types = sorted({service.service_type for service in trust_list.services})
        assert types == ["ca", "consent-service", "credit-platform", "licence-issuer", "seal-platform"]
        legacy = next(service for service in trust_list.services if service.party_id.endswith(".legacy"))
        assert [entry.status for entry in legacy.history] == ["granted", "withdrawn"]
        assert legacy.history[-1].since == pki.withdrawn_at
        listed = {der for service in trust_list.services for der in service.certificates}
        assert pki.identity(city, "unlisted-ca-ec").der not in listed
        assert pki.identity(city, "licence-issuer-unlisted-ec").der not in listed
    with pytest.raises(TrustListInvalid, match="operator"):
        parse_trust_list(pki.trust_list_path("440300").read_bytes(), pki.operator_certificate("442000"))


def test_lists_and_crls_are_resigned_when_due(tmp_path: Path) -> None:
    first = load_or_create_demo_pki(tmp_path, now=NOW, crl_base_urls={"442000": CRL_BASES["442000"]})
    keys = {key: identity.der for key, identity in first.identities.items()}
    later = NOW + timedelta(days=25)
    second = load_or_create_demo_pki(tmp_path, now=later, crl_base_urls={"442000": CRL_BASES["442000"]})
    assert {key: identity.der for key, identity in second.identities.items()} == keys
    trust_list = parse_trust_list(second.trust_list_path("442000").read_bytes(), second.operator_certificate("442000"))
    assert (trust_list.sequence, trust_list.issued_at) == (2, later)
    crl = x509.load_der_x509_crl(second.crl_path("442000", "issuing-ec").read_bytes())
    assert crl.last_update_utc == later
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert second.revoked_at == first.revoked_at  # demo dates derive from the first run


# ---- the demo PKI through the validation engine ------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(pki: DemoPki) -> Iterator[tuple[TrustLists, RevocationChecker]]:
    published = {LIST_URLS[city]: pki.trust_list_path(city).read_bytes() for city in CITIES}
    published.update({url: pki.crl_path(city, role).read_bytes() for (city, role), url in pki.crl_urls.items()})

    async def fetch(url: str) -> bytes:
        return published[url]

    lists = TrustLists(pki.trust_list_sources(LIST_URLS))
    results = asyncio.run(lists.refresh(fetch, now=NOW))
    assert [result.outcome for result in results] == ["accepted"] * 3
    yield lists, RevocationChecker(fetch)


@pytest.mark.parametrize(
    ("role", "accepted", "expected"),
    [
        ("licence-issuer-ec", "licence-issuer", None),
        ("licence-issuer-sm2", "licence-issuer", None),
        ("licence-issuer-ed25519", "licence-issuer", None),
        ("consent-service-ec", "consent-service", None),
        ("credit-platform-ec", "credit-platform", None),
        ("credit-platform-ec", "licence-issuer", SubIndication.CHAIN_CONSTRAINTS_FAILURE),
        ("enterprise-91442000MA4EXAMPLE-sm2", "ca", None),
        ("licence-issuer-revoked-ec", "licence-issuer", SubIndication.REVOKED),
        ("licence-issuer-expired-ec", "licence-issuer", SubIndication.EXPIRED),
        ("licence-issuer-withdrawn-ec", "licence-issuer", SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
        ("licence-issuer-unlisted-ec", "licence-issuer", SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
        ("seal-platform-sm2", "licence-issuer", SubIndication.CHAIN_CONSTRAINTS_FAILURE),
    ],
)
def test_the_demo_identities_validate_as_designed(
    pki: DemoPki, engine: tuple[TrustLists, RevocationChecker], role: str, accepted: str, expected: SubIndication | None
) -> None:
    lists, checker = engine
    city = "442000"
    identity = pki.identity(city, role)
    evidence = SignatureEvidence(
        "JAdES/JWS", "ES256", identity.der, pki.chain(city, role), claimed_signing_time=NOW - timedelta(minutes=5)
    )
    report = asyncio.run(
        validate_signature(
            evidence,
            trust_lists=lists,
            accepted_service_types=frozenset({accepted}),
            revocation=checker,
            validation_time=NOW,
        )
    )
    assert report.sub_indication is expected, report.messages
    if expected is None:
        assert report.indication is Indication.TOTAL_PASSED
        assert report.trust_anchor is not None and report.trust_anchor.trust_list_city == city


def test_a_demo_e_seal_validates(pki: DemoPki, engine: tuple[TrustLists, RevocationChecker]) -> None:
    lists, checker = engine
    city, signer = "440300", "enterprise-91440300MA5EXAMPLE-sm2"
    seal = SealSummary(
        "44030000000001",
        "深圳示例科技有限公司公章",
        1,
        NOW - timedelta(days=10),
        NOW + timedelta(days=355),
        pki.identity(city, "seal-platform-sm2").der,
        (pki.identity(city, signer).der,),
        4,
    )
    evidence = SignatureEvidence(
        "SES v4 (GB/T 38540)",
        "SM2-with-SM3",
        pki.identity(city, signer).der,
        pki.chain(city, signer),
        claimed_signing_time=NOW - timedelta(minutes=5),
        seal=seal,
    )
    report = asyncio.run(
        validate_signature(
            evidence,
            trust_lists=lists,
            accepted_service_types=frozenset({"ca"}),
            revocation=checker,
            validation_time=NOW,
        )
    )
    assert report.passed, report.messages
    assert report.seal_maker_anchor is not None and report.seal_maker_anchor.party_id == "440300.szseal.platform"


def test_a_city_keeps_the_crl_base_its_certificates_name(tmp_path: Path) -> None:
    load_or_create_demo_pki(tmp_path, now=NOW, crl_base_urls={"150100": "http://127.0.0.1:1/pki/crl/"})
    moved = load_or_create_demo_pki(tmp_path, now=NOW, crl_base_urls={"150100": "http://127.0.0.1:2/pki/crl"})
    leaf = moved.identity("150100", "licence-issuer-ec").certificate
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == moved.crl_urls[("150100", "issuing-ec")]
    assert moved.crl_urls[("150100", "issuing-ec")] == "http://127.0.0.1:1/pki/crl/150100-issuing-ec.crl"
