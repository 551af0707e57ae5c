"""A credit report as a PDF for people (公共信用信息报告): the released sections in Chinese, a QR code
carrying the report id and its digest, the signed report (the compact JWS) attached as
credit-report.jws, the whole signed PAdES B-B with the gateway's certified key.

    report_digest(report)             -> SHA-256 (hex) of the report's RFC 8785 form: the bytes the JWS signs
    qr_payload(report_id, digest)     -> what the QR code says
    render_report_pdf(report, signed_report, private_key, certificate_chain, signed_at) -> the signed PDF
    signed_report_in(pdf)             -> (the attached JWS, the PDF signature's evidence); SignatureFailure if broken

The text uses Adobe's STSong-Light (a standard CJK font viewers supply), so no font file is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
import segno

import trust
from catalogs.credit_purposes import credit_purposes

__all__ = [
    "PDF_CONTENT_TYPE",
    "REPORT_ATTACHMENT",
    "qr_payload",
    "render_report_pdf",
    "report_digest",
    "report_pages",
    "signed_report_in",
]

PDF_CONTENT_TYPE = "application/pdf"
REPORT_ATTACHMENT = "credit-report.jws"
QR_PREFIX = "tongban:credit-report:v1"

_PAGE_WIDTH, _PAGE_HEIGHT = 595, 842  # A4 in points
_MARGIN = 56
_BOTTOM = 64  # the lowest baseline of body text; the page number sits below
_QR_SIZE = 112
_BODY, _HEADING, _TITLE = 10, 12.5, 18

_CATEGORIES = {
    "enterprise": "企业",
    "individual_business": "个体工商户",
    "social_organisation": "社会组织",
    "public_institution": "事业单位",
    "government": "机关",
    "person": "自然人",
    "other": "其他",
}
_STATUSES = {"active": "存续（在营）", "revoked": "吊销", "cancelled": "注销", "dissolved": "解散"}
_PUBLICATION = {"publishing": "公示中", "ended": "公示期满", "ended_by_repair": "已信用修复，停止公示"}
_OUTCOMES = {"in_force": "履约中", "kept": "已履约", "breached": "未履约（违诺）"}
_BASIC_FIELDS = (
    ("name", "名称"),
    ("subject_type", "主体类型"),
    ("registration_status", "登记状态"),
    ("established_on", "成立日期"),
    ("legal_representative", "法定代表人"),
    ("registered_capital_cny", "注册资本（元）"),
    ("address", "住所"),
)


def report_digest(report: dict[str, Any]) -> str:
    """The SHA-256 of the report's RFC 8785 form, hex: the payload the report's JWS signs."""
    return hashlib.sha256(rfc8785.dumps(report)).hexdigest()


def qr_payload(report_id: str, digest: str) -> str:
    return f"{QR_PREFIX};id={report_id};sha256={digest}"


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


@dataclass(frozen=True)
class _Line:
    text: str
    size: float = _BODY
    indent: float = 0
    space_before: float = 0


def _section_lines(name: str, content: Any) -> Iterator[_Line]:
    yield _Line(credit_purposes().sections.get(name, name), _HEADING, space_before=8)
    if name == "basic_registration":
        for field_name, label in _BASIC_FIELDS:
            value = content.get(field_name)
            if field_name == "subject_type":
                value = _CATEGORIES.get(str(value), value)
            if field_name == "registration_status":
                value = _STATUSES.get(str(value), value)
            yield _Line(f"{label}：{_shown(value)}", indent=12)
        return
    if not content:
        yield _Line("无记录", indent=12)
        return
    for number, item in enumerate(content, start=1):
        yield _Line(f"{number}. 【{item['kind_label']}】{item['title']}", indent=12)
        yield _Line(
            f"决定机关：{_shown(item['source_department'])}；决定文书号：{_shown(item['decision_number'])}；"
            f"决定日期：{_shown(item['decided_on'])}；有效期至：{_shown(item['valid_until'])}",
            indent=24,
        )
        if "publication_window" in item:
            window = item["publication_window"]
            repaired = f"是（{item['repaired_on']}）" if item["repaired"] else "否"
            yield _Line(
                f"公示期：{_shown(window['from'])} 至 {_shown(window['until'])}；"
                f"公示状态：{_PUBLICATION.get(item['publication_status'], item['publication_status'])}；"
                f"信用修复：{repaired}",
                indent=24,
            )
        if "commitment_outcome" in item:
            outcome = item["commitment_outcome"]
            yield _Line(f"履约情况：{_OUTCOMES.get(outcome, outcome)}", indent=24)


def _report_lines(report: dict[str, Any], digest: str) -> Iterator[_Line]:
    subject, source, purpose = report["subject"], report["source"], report["purpose"]
    yield _Line(f"报告编号：{report['report_id']}")
    yield _Line(f"信用主体：{subject['name']}（{_CATEGORIES.get(subject['category'], subject['category'])}）")
    yield _Line(f"统一社会信用代码：{subject['code']}")
    yield _Line(f"查询用途：{purpose['label']}（{purpose['code']}）")
    yield _Line(f"查询人：{report['requester']}")
    yield _Line(f"数据来源：{source['city_name']}公共信用信息平台（{source['city']}）")
    yield _Line(f"信息截至：{report['as_of']}；目录版本：{report['catalogue_version']}")
    yield _Line(f"出具单位：{report['issuer']}")
    yield _Line(f"报告摘要（SHA-256）：{digest}")
    sections = credit_purposes().sections
    withheld = [sections.get(name, name) for name in report["sections_withheld"]]
    if withheld:
        yield _Line("本用途不予公开：" + "、".join(withheld))
    for name in report["sections_released"]:
        yield from _section_lines(name, report["sections"].get(name))
    yield _Line(
        "说明：本报告经电子签名（PAdES）。二维码载有报告编号与摘要；签名的机器可读报告（JWS）"
        f"作为附件 {REPORT_ATTACHMENT} 附于本文件，可提交 POST /v1/credit/reports/verify 核验。",
        space_before=10,
    )


def _width(text: str, size: float) -> float:
    # STSong-Light: CJK glyphs one em wide; the proportional Latin glyphs are given half an em (see trust).
    return sum(size if ord(char) > 0x7F else size / 2 for char in text)


def _wrapped(text: str, size: float, width: float) -> Iterator[str]:
    line = ""
    for char in text:
        if line and _width(line + char, size) > width:
            yield line
            line = char
        else:
            line += char
    yield line


def _text(x: float, y: float, size: float, text: str) -> str:
    return f"BT /F1 {size:g} Tf 1 0 0 1 {x:g} {y:g} Tm {trust.pdf_text(text)} Tj ET"


def _qr_drawing(payload: str, left: float, top: float) -> tuple[list[str], float]:
    """The QR code as filled squares (vector, so it stays sharp at any zoom); its bottom."""
    code = segno.make_qr(payload, error="m", boost_error=False)
    matrix = code.matrix
    module = _QR_SIZE / len(matrix)
    squares = [
        f"{left + column * module:.2f} {top - (row + 1) * module:.2f} {module:.2f} {module:.2f} re"
        for row, cells in enumerate(matrix)
        for column, dark in enumerate(cells)
        if dark
    ]
    return ["q 0 g", *squares, "f Q"], top - _QR_SIZE


def report_pages(report: dict[str, Any]) -> list[bytes]:
    """The report laid out on A4 pages, as content streams: title and QR code first, then the lines."""
    digest = report_digest(report)
    qr_left, qr_top = _PAGE_WIDTH - _MARGIN - _QR_SIZE, _PAGE_HEIGHT - _MARGIN + 8
    qr, qr_bottom = _qr_drawing(qr_payload(report["report_id"], digest), qr_left, qr_top)
    first = [
        *qr,
        _text(qr_left, qr_bottom - 12, 7, "扫码核验：报告编号与摘要"),
        _text(_MARGIN, _PAGE_HEIGHT - _MARGIN - 10, _TITLE, "公共信用信息报告"),
    ]
    pages: list[list[str]] = [first]
    y: float = _PAGE_HEIGHT - _MARGIN - 44
    for line in _report_lines(report, digest):
        y -= line.space_before
        right = qr_left - 12 if len(pages) == 1 and y > qr_bottom - 20 else _PAGE_WIDTH - _MARGIN
        for piece in _wrapped(line.text, line.size, right - _MARGIN - line.indent):
            if y < _BOTTOM:
                pages.append([])
                y = _PAGE_HEIGHT - _MARGIN
            pages[-1].append(_text(_MARGIN + line.indent, y, line.size, piece))
            y -= line.size * 1.5
    total = len(pages)
    for number, drawing in enumerate(pages, start=1):
        drawing.append(_text(_PAGE_WIDTH / 2 - 30, 36, 8, f"第 {number} 页 共 {total} 页"))
    return ["\n".join(drawing).encode("ascii") for drawing in pages]


def render_report_pdf(
    report: dict[str, Any],
    signed_report: str,
    private_key: Any,
    certificate_chain: Sequence[bytes],
    signed_at: datetime,
) -> bytes:
    """The report's PDF, the signed JWS attached, signed PAdES B-B (the whole file is covered)."""
    pdf = trust.make_pdf(report_pages(report), {REPORT_ATTACHMENT: signed_report.encode("ascii")})
    return trust.sign_pdf(pdf, private_key, list(certificate_chain), signed_at)


def signed_report_in(pdf: bytes) -> tuple[str, trust.SignatureEvidence]:
    """The JWS a report PDF carries, read from the revision its signature covers; SignatureFailure
    when the PDF is not signed, was changed, or carries no report."""
    evidence = trust.examine_pdf(pdf, REPORT_ATTACHMENT)
    try:
        return evidence.signed_content.decode("ascii"), evidence
    except UnicodeDecodeError as exc:
        raise trust.SignatureFailure(
            trust.SubIndication.FORMAT_FAILURE, f"the attachment {REPORT_ATTACHMENT} is not a compact JWS"
        ) from exc
