"""A credit report as a PAdES-signed Chinese PDF with a QR code (report id and digest): asked for on
GET /v1/credit/reports/{report_id}, validated with pyhanko, and verified by POST .../verify."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from io import BytesIO
from typing import Any

import httpx
import rfc8785
import segno
from asn1crypto import x509 as asn1_x509
from credit_world import credit_gateway_fixture, sandboxes_fixture  # noqa: F401 (the fixtures)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from catalogs import seed
from catalogs.credit_purposes import credit_purposes
from gateway.canonical import CreditSubject
from gateway.services.credit._pdf import report_pages

SHENZHEN = seed.generate().city("shenzhen")


def _penalised(subject: CreditSubject) -> bool:
    return subject.status == "active" and any(
        r.kind == "administrative_penalty" and r.repaired_on is None for r in subject.records
    )


PENALISED = next(subject for subject in SHENZHEN.credit_subjects if _penalised(subject))


def _member(gateway: Any, member_id: str, *rights: str) -> Any:
    member = gateway.add_member(member_id)
    for right in rights:
        gateway.grant(member.id, right)
    return member


def _verify_pdf(gateway: Any, member: Any, pdf: bytes) -> httpx.Response:
    return _post(gateway, member, "/v1/credit/reports/verify", {"signed_pdf": base64.b64encode(pdf).decode()})


def _post(gateway: Any, member: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return gateway.call(
        member, "POST", path, body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def _issued(gateway: Any, member: Any, purpose: str) -> dict[str, Any]:
    answer = _post(gateway, member, "/v1/credit/reports", {"subject_code": PENALISED.uscc, "purpose": purpose})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _pdf_of(gateway: Any, member: Any, report_id: str) -> bytes:
    answer = gateway.call(member, "GET", f"/v1/credit/reports/{report_id}?format=pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return answer.content


def _page_streams(pdf: bytes) -> list[str]:
    reader = PdfFileReader(BytesIO(pdf))
    return [page.get_object()["/Contents"].data.decode("ascii") for page in reader.root["/Pages"]["/Kids"]]


def _shown_text(pdf: bytes) -> str:
    """Every string the pages show, decoded from the UCS-2 hex strings of their content streams."""
    shown = []
    for stream in _page_streams(pdf):
        shown += [bytes.fromhex(text).decode("utf-16-be") for text in re.findall(r"<([0-9A-F]+)> Tj", stream)]
    return "\n".join(shown)


def _drawn_qr(pdf: bytes) -> list[list[bool]]:
    """The QR code's modules as the first page draws them (filled squares), row by row from the top."""
    stream = _page_streams(pdf)[0]
    squares = [tuple(map(float, found)) for found in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) [\d.]+ re", stream)]
    size = squares[0][2]
    left, top = min(x for x, _, _ in squares), max(y for _, y, _ in squares) + size
    count = round((max(x for x, _, _ in squares) + size - left) / size)
    grid = [[False] * count for _ in range(count)]
    for x, y, _ in squares:
        grid[round((top - y) / size) - 1][round((x - left) / size)] = True
    return grid


def _validated(pdf: bytes, signer_der: bytes) -> Any:
    reader = PdfFileReader(BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(signer_der)], allow_fetching=False)
    return validate_pdf_signature(signature, signer_validation_context=context)


def _gateway_certificate(signed_report: str) -> bytes:
    header = json.loads(base64.urlsafe_b64decode(signed_report.split(".")[0] + "=="))
    return base64.b64decode(header["x5c"][0])


def test_a_report_renders_as_a_signed_chinese_pdf_whose_qr_carries_its_id_and_digest(credit_gateway: Any) -> None:
    supervisor = _member(credit_gateway, "440300.scjg.pdf", "credit.query")
    issued = _issued(credit_gateway, supervisor, "supervision")
    report, report_id = issued["report"], issued["report_id"]
    digest = hashlib.sha256(rfc8785.dumps(report)).hexdigest()
    assert issued["report_digest"] == digest

    pdf = _pdf_of(credit_gateway, supervisor, report_id)
    assert pdf.startswith(b"%PDF-")

    text = _shown_text(pdf)
    assert "公共信用信息报告" in text
    for section in report["sections_released"]:
        assert credit_purposes().sections[section] in text
    assert PENALISED.name in text and PENALISED.uscc in text
    penalty = next(r for r in PENALISED.records if r.kind == "administrative_penalty" and r.repaired_on is None)
    assert str(penalty.decision_number) in text.replace("\n", "")
    assert "公示状态" in text

    expected = segno.make_qr(f"tongban:credit-report:v1;id={report_id};sha256={digest}", error="m", boost_error=False)
    assert _drawn_qr(pdf) == [[bool(dark) for dark in row] for row in expected.matrix]

    status = _validated(pdf, _gateway_certificate(issued["signed_report"]))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signer_reported_dt is not None

    verdict = _verify_pdf(credit_gateway, supervisor, pdf)
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["verdict"] == "valid" and verdict.json()["format"] == "PAdES"
    assert verdict.json()["report_id"] == report_id


def test_a_changed_byte_breaks_the_pdf_signature_and_verification_says_tampered(credit_gateway: Any) -> None:
    member = _member(credit_gateway, "440300.bank.pdf", "credit.query")
    issued = _issued(credit_gateway, member, "financing")
    pdf = _pdf_of(credit_gateway, member, issued["report_id"])
    # Change the subject's code as the page shows it (UCS-2 hex): its first character becomes another digit.
    at = pdf.index(PENALISED.uscc.encode("utf-16-be").hex().upper().encode("ascii")) + 3
    forged = pdf[:at] + (b"8" if pdf[at : at + 1] != b"8" else b"7") + pdf[at + 1 :]
    assert len(forged) == len(pdf)

    status = _validated(forged, _gateway_certificate(issued["signed_report"]))
    assert not status.intact and not status.bottom_line  # the signed attributes still verify; the digest does not

    verdict = _verify_pdf(credit_gateway, member, forged)
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["verdict"] == "tampered", verdict.json()
    assert "PDF signature" in verdict.json()["reason"]


def test_the_pdf_is_asked_for_by_accept_and_follows_the_reports_verdict(credit_gateway: Any) -> None:
    member = _member(credit_gateway, "440300.zfcg.pdf", "credit.query")
    supervisor = _member(credit_gateway, "440300.fgw.pdf", "credit.supervise")
    other = _member(credit_gateway, "440300.other.pdf", "credit.query")
    issued = _issued(credit_gateway, member, "government_procurement")
    path = f"/v1/credit/reports/{issued['report_id']}"

    by_accept = credit_gateway.call(member, "GET", path, headers={"accept": "application/pdf"})
    assert by_accept.status_code == 200 and by_accept.headers["content-type"] == "application/pdf"
    assert by_accept.headers["x-tongban-report-digest"] == issued["report_digest"]
    assert credit_gateway.call(member, "GET", path).headers["content-type"].startswith("application/json")
    assert credit_gateway.call(member, "GET", path + "?format=xml").status_code == 422
    assert credit_gateway.call(other, "GET", path + "?format=pdf").status_code == 404

    revoked = _post(credit_gateway, supervisor, path + "/revoke", {"reason": "依据已变更"})
    assert revoked.status_code == 200, revoked.text
    verdict = _verify_pdf(credit_gateway, member, by_accept.content)
    assert verdict.json()["verdict"] == "revoked", verdict.json()
    assert _post(credit_gateway, member, "/v1/credit/reports/verify", {"signed_pdf": "bm90IGEgcGRm"}).status_code == 422
    both = {"signed_pdf": "JVBERi0=", "signed_report": issued["signed_report"]}
    assert _post(credit_gateway, member, "/v1/credit/reports/verify", both).status_code == 422


def test_a_long_report_runs_onto_numbered_pages() -> None:
    item = {
        "kind": "administrative_licence",
        "kind_label": "行政许可",
        "title": "食品经营许可证（含网络经营）" * 3,
        "source_department": "深圳市市场监督管理局",
        "decision_number": "深市监许〔2026〕0001号",
        "decided_on": "2026-01-05",
        "valid_until": "2031-01-04",
    }
    report = {
        "report_id": "20261207-0001",
        "issuer": "tongban.440300",
        "catalogue_version": "2026.1",
        "as_of": "2026-12-07T09:00:00+08:00",
        "requester": "440300.bank.loans",
        "purpose": {"code": "financing", "label": "融资信贷"},
        "subject": {"code": PENALISED.uscc, "category": "enterprise", "name": PENALISED.name},
        "source": {"city": "440300", "city_name": "深圳市"},
        "sections_released": ["administrative_licences"],
        "sections_withheld": [],
        "sections": {"administrative_licences": [item] * 40},
    }
    pages = report_pages(report)
    assert len(pages) > 2
    last = pages[-1].decode("ascii")
    assert f"第 {len(pages)} 页 共 {len(pages)} 页".encode("utf-16-be").hex().upper() in last
    # Nothing is drawn below the page number's line or above the page.
    for page in pages:
        for y in re.findall(r"1 0 0 1 [\d.]+ ([\d.]+) Tm", page.decode("ascii")):
            assert 36 <= float(y) <= 842
