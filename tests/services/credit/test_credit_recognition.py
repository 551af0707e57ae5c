"""Mutual recognition of credit reports: a report signed by another city's credit platform is valid
when its certificate chains to a credit-platform service on that city's trust list and the platform
still holds what it says; anything else is tampered, or superseded once the records change."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from adapters.sandboxes import RunningSandboxes, record_credit_repair, start_sandboxes
from catalogs import seed
from catalogs.credit_purposes import credit_purposes
from gateway.demo import wait_for_trust_lists
from gateway.services.credit._report import build_report, identify_subject, sign_report
from gateway.settings import SANDBOX_TRUST_LIST_PATH

HOHHOT = seed.generate().city("hohhot")


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandboxes]:
    running = start_sandboxes(base_port=0, sandbox_dir=tmp_path_factory.mktemp("var") / "sandbox")
    yield running
    running.stop()


def _recognising(start_gateway: Any, sandboxes: RunningSandboxes) -> Any:
    """A gateway reaching the sandboxes, holding each city's trust list."""
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    pki_dir = sandboxes.material.directory / "pki"
    gateway = start_gateway(
        partner_urls=regions,
        trust_list_urls={region: f"{url}{SANDBOX_TRUST_LIST_PATH}" for region, url in regions.items()},
        trust_list_operators={region: pki_dir / region / "trust-list-operator.crt" for region in regions},
    )
    wait_for_trust_lists(gateway.url, set(regions))
    return gateway


@pytest.fixture
def recognising_gateway(start_gateway: Any, sandboxes: RunningSandboxes) -> Any:
    return _recognising(start_gateway, sandboxes)


def _platform_report(sandboxes: RunningSandboxes, subject: Any, *, city: str, role: str, source: str) -> str:
    """A report as `city`'s credit platform signs it (with `role`'s key), naming `source` as its source."""
    assert sandboxes.material is not None
    pki = sandboxes.material.pki
    signer = pki.identity(city, role)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    report = build_report(
        report_id=f"{city}-CR-0001",
        subject_code=identify_subject(subject.uscc),
        city=source,
        subject=subject,
        purpose=credit_purposes().purpose("public_resource_trading"),
        requester="442000.ggzy.trading",
        gateway_id=f"{city}.credit.platform",
        as_of=now,
    )
    return sign_report(report, signer.key, [signer.der, *pki.chain(city, role)], now)


def _verify(gateway: Any, signed: str) -> dict[str, Any]:
    member = gateway.members.get("442000.ggzy.trading") or gateway.add_member("442000.ggzy.trading")
    body = json.dumps({"signed_report": signed}).encode()
    answer: httpx.Response = gateway.call(
        member, "POST", "/v1/credit/reports/verify", body=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(("city", "region"), [("zhongshan", "442000"), ("hohhot", "150100")])
def test_a_report_signed_by_another_citys_credit_platform_is_recognised(
    recognising_gateway: Any, sandboxes: RunningSandboxes, city: str, region: str
) -> None:
    """The gateway is Shenzhen's (440300): a report Zhongshan's (SOAP) or Hohhot's platform signed
    is recognised, and checked against what that platform holds now."""
    subject = next(s for s in seed.generate().city(city).credit_subjects if s.status == "active")
    signed = _platform_report(sandboxes, subject, city=region, role="credit-platform-ec", source=region)
    verdict = _verify(recognising_gateway, signed)
    assert (verdict["verdict"], verdict["recognised"]) == ("valid", True), verdict
    assert f"{region} credit platform" in verdict["reason"]

    header, payload, signature = signed.split(".")
    report = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    report["sections"]["basic_registration"]["name"] = "另一家公司"
    changed = base64.urlsafe_b64encode(json.dumps(report).encode()).rstrip(b"=").decode()
    assert _verify(recognising_gateway, f"{header}.{changed}.{signature}")["verdict"] == "tampered"


@pytest.mark.parametrize(
    ("signer_city", "role", "why"),
    [
        ("150100", "licence-issuer-ec", "not signed by a credit platform"),  # listed, but as another service
        ("442000", "credit-platform-ec", "not a report of that platform"),  # a platform, of another city
    ],
)
def test_only_a_credit_platform_of_the_reports_own_city_is_recognised(
    recognising_gateway: Any, sandboxes: RunningSandboxes, signer_city: str, role: str, why: str
) -> None:
    subject = next(s for s in HOHHOT.credit_subjects if s.status == "active")
    signed = _platform_report(sandboxes, subject, city=signer_city, role=role, source="150100")
    verdict = _verify(recognising_gateway, signed)
    assert verdict["verdict"] == "tampered" and why in verdict["reason"]


def test_a_platform_report_is_superseded_once_its_records_change(start_gateway: Any, tmp_path: Any) -> None:
    sandboxes = start_sandboxes(base_port=0, sandbox_dir=tmp_path / "sandbox")  # its own: a repair changes it
    try:
        gateway = _recognising(start_gateway, sandboxes)
        regions = sandboxes.regions()
        subject = next(
            s
            for s in HOHHOT.credit_subjects
            if s.status == "active"
            and any(r.kind == "administrative_penalty" and r.repaired_on is None for r in s.records)
        )
        penalty = next(r for r in subject.records if r.kind == "administrative_penalty" and r.repaired_on is None)
        signed = _platform_report(sandboxes, subject, city="150100", role="credit-platform-ec", source="150100")
        assert _verify(gateway, signed)["verdict"] == "valid"
        record_credit_repair("150100", regions["150100"], subject.uscc, penalty.decision_number, date(2026, 12, 1))
        verdict = _verify(gateway, signed)
        assert (verdict["verdict"], verdict["changed_sections"]) == ("superseded", ["administrative_penalties"])
    finally:
        sandboxes.stop()
