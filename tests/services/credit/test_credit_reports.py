"""Public-credit reports end to end: a gateway reaching the cities' sandbox credit platforms on
loopback, called through its REST and SOAP faces as a member would."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from credit_world import credit_gateway_fixture, sandboxes_fixture  # noqa: F401 (the fixtures)

import catalogs
from adapters.sandboxes import RunningSandboxes, record_credit_repair, start_sandboxes
from catalogs import seed
from catalogs.credit_purposes import credit_purposes
from gateway.canonical import CreditSubject
from gateway.soap_client import gateway_soap_client

SHENZHEN = seed.generate().city("shenzhen")
HOHHOT = seed.generate().city("hohhot")


def _subject_with(city: Any, wanted: Any) -> CreditSubject:
    return next(subject for subject in city.credit_subjects if wanted(subject))


def _unrepaired_penalty(subject: CreditSubject) -> Any:
    return next((r for r in subject.records if r.kind == "administrative_penalty" and r.repaired_on is None), None)


PENALISED = _subject_with(SHENZHEN, lambda s: s.status == "active" and _unrepaired_penalty(s) is not None)
OTHERS = [s for s in SHENZHEN.credit_subjects if s.uscc != PENALISED.uscc]


def _member(gateway: Any, member_id: str, *rights: str) -> Any:
    member = gateway.add_member(member_id)
    for right in rights:
        gateway.grant(member.id, right)
    return member


def _post(gateway: Any, member: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return gateway.call(
        member, "POST", path, body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def _report(gateway: Any, member: Any, code: str, purpose: str) -> httpx.Response:
    return _post(gateway, member, "/v1/credit/reports", {"subject_code": code, "purpose": purpose})


def _verify(gateway: Any, member: Any, signed: str) -> dict[str, Any]:
    answer = _post(gateway, member, "/v1/credit/reports/verify", {"signed_report": signed})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_purposes_catalogue_is_public(credit_gateway: Any) -> None:
    answer = httpx.get(credit_gateway.url + "/v1/credit/purposes", trust_env=False)
    assert answer.status_code == 200
    catalogue = answer.json()
    codes = {purpose["code"] for purpose in catalogue["purposes"]}
    assert {"administrative_approval", "public_resource_trading", "financing", "supervision"} <= codes
    assert catalogue["version"] and "administrative_penalties" in catalogue["sections"]


def test_a_report_releases_only_what_the_purpose_allows_and_verifies_valid(credit_gateway: Any) -> None:
    bank = _member(credit_gateway, "440300.bank.loans", "credit.query")
    penalty = _unrepaired_penalty(PENALISED)

    financing = _report(credit_gateway, bank, PENALISED.uscc, "financing")
    assert financing.status_code == 201, financing.text
    assert financing.headers["location"] == f"/v1/credit/reports/{financing.json()['report_id']}"
    report = financing.json()["report"]
    assert "administrative_penalties" not in report["sections"]  # financing does not release penalties
    assert "administrative_penalties" in report["sections_withheld"]
    assert penalty.decision_number not in financing.text
    assert report["subject"]["name"] == PENALISED.name
    assert report["source"]["city"] == "440300"
    assert report["requester"] == bank.id and report["purpose"]["code"] == "financing"
    assert report["catalogue_version"] == credit_purposes().version

    supervisor = _member(credit_gateway, "440300.scjg.supervision", "credit.query")
    full = _report(credit_gateway, supervisor, PENALISED.uscc, "supervision").json()["report"]
    penalties = full["sections"]["administrative_penalties"]
    listed = next(item for item in penalties if item["decision_number"] == penalty.decision_number)
    assert listed["source_department"] == penalty.authority
    assert listed["publication_window"] == {
        "from": penalty.decided_on.isoformat(),
        "until": penalty.valid_until.isoformat(),
    }
    assert listed["repaired"] is False
    assert full["sections"]["basic_registration"]["name"] == PENALISED.name

    verdict = _verify(credit_gateway, bank, financing.json()["signed_report"])
    assert verdict["verdict"] == "valid", verdict
    read = credit_gateway.call(bank, "GET", f"/v1/credit/reports/{report['report_id']}")
    assert read.status_code == 200 and read.json()["report"] == report
    # Another member's report is not there for a member without credit.supervise.
    assert credit_gateway.call(supervisor, "GET", f"/v1/credit/reports/{report['report_id']}").status_code == 404


def _with_check(first17: str) -> str:
    return first17 + catalogs.uscc_check_character(first17)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (PENALISED.uscc[:17], "has 17 characters; GB 32100 codes have 18"),
        (PENALISED.uscc[:5] + "I" + PENALISED.uscc[6:], "is not in the GB 32100 character set"),
        (
            PENALISED.uscc[:17] + next(c for c in catalogs.USCC_CHARSET if c != PENALISED.uscc[17]),
            "check character should be",
        ),
        (
            _with_check(PENALISED.uscc[:16] + next(c for c in "0123456789" if c != PENALISED.uscc[16])),
            "positions 9-17",
        ),
        (_with_check("91" + "449900" + PENALISED.uscc[8:17]), "not a GB/T 2260 region code the catalogue knows"),
    ],
    ids=["length", "charset", "check-character", "organisation-code", "region"],
)
def test_a_malformed_code_is_422_naming_the_rule(credit_gateway: Any, code: str, message: str) -> None:
    member = _member(credit_gateway, "440300.bank.loans", "credit.query")
    answer = _report(credit_gateway, member, code, "financing")
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"]


def test_a_missing_or_unknown_purpose_is_422_and_a_person_needs_a_personal_purpose(credit_gateway: Any) -> None:
    member = _member(credit_gateway, "440300.bank.loans", "credit.query")
    missing = _post(credit_gateway, member, "/v1/credit/reports", {"subject_code": PENALISED.uscc})
    assert missing.status_code == 422 and "purpose is required" in missing.json()["detail"]
    unknown = _report(credit_gateway, member, PENALISED.uscc, "curiosity")
    assert unknown.status_code == 422 and "unknown purpose 'curiosity'" in unknown.json()["detail"]
    person = SHENZHEN.persons[0].id_number
    refused = _report(credit_gateway, member, person, "financing")
    assert refused.status_code == 403 and "natural person" in refused.json()["detail"]
    # Allowed for a personal purpose: the Shenzhen platform holds no natural persons, so 404.
    assert _report(credit_gateway, member, person, "personal_enquiry").status_code == 404


def test_the_quota_per_requester_and_purpose_answers_429_with_retry_after(
    start_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    gateway = start_gateway(
        partner_urls=sandboxes.regions(),
        trust_list_urls={},
        credit_quota_per_window=2,
        credit_quotas={"supervision": 5},
    )
    member = _member(gateway, "440300.bank.loans", "credit.query")
    first = _report(gateway, member, OTHERS[0].uscc, "financing")
    second = _report(gateway, member, OTHERS[1].uscc, "financing")
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("2", "1")
    assert second.headers["ratelimit-remaining"] == "0"
    third = _report(gateway, member, OTHERS[2].uscc, "financing")
    assert third.status_code == 429, third.text
    assert 1 <= int(third.headers["retry-after"]) <= 3600
    # Another purpose has its own window and limit; another member its own count.
    other_purpose = _report(gateway, member, OTHERS[2].uscc, "supervision")
    assert other_purpose.status_code == 201 and other_purpose.headers["ratelimit-limit"] == "5"
    other_member = _member(gateway, "442000.bank.loans", "credit.query")
    assert _report(gateway, other_member, OTHERS[2].uscc, "financing").status_code == 201
    # A batch larger than what is left is refused whole.
    batch = _post(
        gateway,
        other_member,
        "/v1/credit/reports/batch",
        {"purpose": "financing", "subject_codes": [OTHERS[3].uscc] * 2},
    )
    assert batch.status_code == 429


def test_a_batch_answers_each_code_on_its_own(credit_gateway: Any) -> None:
    member = _member(credit_gateway, "440300.bank.loans", "credit.query")
    hohhot = HOHHOT.credit_subjects[0]
    codes = [
        OTHERS[0].uscc,
        OTHERS[0].uscc[:17] + "0" if OTHERS[0].uscc[17] != "0" else OTHERS[0].uscc[:17] + "1",
        hohhot.uscc,
        7,
    ]
    answer = _post(
        credit_gateway,
        member,
        "/v1/credit/reports/batch",
        {"purpose": "public_resource_trading", "subject_codes": codes},
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["status"] for item in items] == [201, 422, 201, 422]
    assert "check character" in items[1]["error"]["detail"]
    assert items[2]["report"]["source"]["city"] == "150100"  # found at Hohhot's platform through its adapter
    assert answer.json()["issued"] == 2 and answer.headers["ratelimit-remaining"] == str(50 - len(codes))
    for item in (items[0], items[2]):
        assert _verify(credit_gateway, member, item["signed_report"])["verdict"] == "valid"
    too_many = _post(
        credit_gateway, member, "/v1/credit/reports/batch", {"purpose": "financing", "subject_codes": ["x"] * 101}
    )
    assert too_many.status_code == 422


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_changed_report_is_tampered(credit_gateway: Any, tmp_path: Path) -> None:
    member = _member(credit_gateway, "440300.bank.loans", "credit.query")
    signed = _report(credit_gateway, member, OTHERS[0].uscc, "financing").json()["signed_report"]
    header, payload, signature = signed.split(".")
    report = json.loads(_unb64(payload))
    report["subject"]["name"] = "另一家公司"
    forged = f"{header}.{_b64(json.dumps(report).encode())}.{signature}"
    verdict = _verify(credit_gateway, member, forged)
    assert verdict["verdict"] == "tampered" and "signature does not hold" in verdict["reason"]
    assert _verify(credit_gateway, member, "not-a-jws")["verdict"] == "tampered"

    # Signed correctly, but by someone else's key: not this gateway's report.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    import trust

    key = ec.generate_private_key(ec.SECP256R1())
    certificate = trust.self_signed_certificate(key, "forger", now=credit_gateway.runtime.clock.now())
    from gateway.services.credit._report import sign_report

    reforged = sign_report(
        report, key, [certificate.public_bytes(serialization.Encoding.DER)], credit_gateway.runtime.clock.now()
    )
    verdict = _verify(credit_gateway, member, reforged)
    assert verdict["verdict"] == "tampered" and "not signed by this gateway" in verdict["reason"]


def test_a_report_is_superseded_after_a_repair_and_revoked_when_withdrawn(start_gateway: Any) -> None:
    sandboxes = start_sandboxes(base_port=0)  # its own: the repair changes the Shenzhen platform's data
    try:
        _superseded_then_revoked(start_gateway, sandboxes)
    finally:
        sandboxes.stop()


def _superseded_then_revoked(start_gateway: Any, sandboxes: RunningSandboxes) -> None:
    credit_gateway = start_gateway(partner_urls=sandboxes.regions(), trust_list_urls={})
    member = _member(credit_gateway, "440300.zfcg.procurement", "credit.query")
    supervisor = _member(credit_gateway, "440300.fgw.credit", "credit.supervise")
    penalty = _unrepaired_penalty(PENALISED)
    before = _report(credit_gateway, member, PENALISED.uscc, "government_procurement").json()
    assert _verify(credit_gateway, member, before["signed_report"])["verdict"] == "valid"

    record_credit_repair(
        "440300", sandboxes.regions()["440300"], PENALISED.uscc, penalty.decision_number, date(2026, 12, 1)
    )
    verdict = _verify(credit_gateway, member, before["signed_report"])
    assert verdict["verdict"] == "superseded", verdict
    assert verdict["changed_sections"] == ["administrative_penalties"]
    after = _report(credit_gateway, member, PENALISED.uscc, "government_procurement").json()["report"]
    repaired = next(
        item
        for item in after["sections"]["administrative_penalties"]
        if item["decision_number"] == penalty.decision_number
    )
    assert (repaired["repaired"], repaired["repaired_on"], repaired["publication_status"]) == (
        True,
        "2026-12-01",
        "ended_by_repair",
    )

    refused = _post(credit_gateway, member, f"/v1/credit/reports/{before['report_id']}/revoke", {"reason": "x"})
    assert refused.status_code == 403
    revoked = _post(
        credit_gateway, supervisor, f"/v1/credit/reports/{before['report_id']}/revoke", {"reason": "依据已变更"}
    )
    assert revoked.status_code == 200, revoked.text
    verdict = _verify(credit_gateway, member, before["signed_report"])
    assert verdict["verdict"] == "revoked" and "依据已变更" in verdict["reason"]
    again = _post(credit_gateway, supervisor, f"/v1/credit/reports/{before['report_id']}/revoke", {"reason": "again"})
    assert again.status_code == 409


def test_a_repair_at_the_hohhot_platform_supersedes_a_report_issued_before(start_gateway: Any) -> None:
    subject = _subject_with(HOHHOT, lambda s: s.status == "active" and _unrepaired_penalty(s) is not None)
    penalty = _unrepaired_penalty(subject)
    sandboxes = start_sandboxes(base_port=0)
    try:
        gateway = start_gateway(partner_urls=sandboxes.regions(), trust_list_urls={})
        member = _member(gateway, "440300.ggzy.trading", "credit.query")
        before = _report(gateway, member, subject.uscc, "public_resource_trading").json()
        assert before["report"]["source"]["city"] == "150100"
        assert _verify(gateway, member, before["signed_report"])["verdict"] == "valid"
        record_credit_repair(
            "150100", sandboxes.regions()["150100"], subject.uscc, penalty.decision_number, date(2026, 11, 30)
        )
        with pytest.raises(ValueError, match=r"refused the repair: .*已于 2026-11-30 完成信用修复"):
            record_credit_repair(
                "150100", sandboxes.regions()["150100"], subject.uscc, penalty.decision_number, date(2026, 12, 1)
            )
        verdict = _verify(gateway, member, before["signed_report"])
        assert (verdict["verdict"], verdict["changed_sections"]) == ("superseded", ["administrative_penalties"])
    finally:
        sandboxes.stop()


def test_supervisors_see_who_asked_about_a_subject_and_why(credit_gateway: Any) -> None:
    bank = _member(credit_gateway, "440300.bank.loans", "credit.query")
    window = _member(credit_gateway, "442000.zsdemo.window", "credit.query")
    supervisor = _member(credit_gateway, "440300.fgw.credit", "credit.supervise")
    subject = OTHERS[4]
    issued = _report(credit_gateway, bank, subject.uscc, "financing").json()
    read = credit_gateway.call(supervisor, "GET", f"/v1/credit/reports/{issued['report_id']}")
    assert read.status_code == 200 and read.json()["signed_report"] == issued["signed_report"]
    assert read.json()["status"]["requester"] == bank.id
    _report(credit_gateway, window, subject.uscc, "administrative_approval")
    assert credit_gateway.call(bank, "GET", f"/v1/credit/subjects/{subject.uscc}/queries").status_code == 403
    answer = credit_gateway.call(supervisor, "GET", f"/v1/credit/subjects/{subject.uscc}/queries")
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(item["requester"], item["purpose"]) for item in items] == [
        (window.id, "administrative_approval"),
        (bank.id, "financing"),
    ]
    assert "administrative_penalties" not in items[1]["sections_released"]
    assert "credit_commitments" in items[0]["sections_released"]
    assert all(item["outcome"] == "issued" and item["queried_at"] for item in items)


def test_soap_callers_query_and_verify_credit_reports(credit_gateway: Any, tmp_path: Path) -> None:
    member = credit_gateway.add_member("442000.zssoap.window", algorithm="rsa")  # WS-Security takes RSA
    credit_gateway.grant(member.id, "credit.query")
    key_file, cert_file = tmp_path / "member.key", tmp_path / "member.crt"
    key_file.write_bytes(member.key_pem)
    cert_file.write_bytes(member.cert_pem)
    x5c = next(key["x5c"][0] for key in credit_gateway.jwks()["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + x5c.encode() + b"\n-----END CERTIFICATE-----\n")
    client = gateway_soap_client(
        credit_gateway.url, key_file=key_file, certificate_file=cert_file, gateway_certificate_file=gateway_cert
    )
    subject = OTHERS[5]
    answer = client.service.QueryCreditReport(subjectCode=subject.uscc, purpose="public_resource_trading")
    assert answer.subjectCode == subject.uscc and answer.subjectName == subject.name
    assert "credit_commitments" not in answer.sectionReleased and "red_lists" in answer.sectionReleased
    assert json.loads(answer.reportJson)["report_id"] == answer.reportId
    verdict = client.service.VerifyCreditReport(signedReport=answer.signedReport)
    assert (verdict.verdict, verdict.reportId) == ("valid", answer.reportId)
