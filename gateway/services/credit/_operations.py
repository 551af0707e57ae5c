"""The credit service's operations, run by the pipeline (authentication, rights, audit, signing):
issue a report (one subject or a batch), read one back, verify one, revoke one, and the query trail
of a subject. Every issue is counted against the requester's quota for the purpose and recorded with
the sections it released."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
import rfc8785
from sqlalchemy import Connection

import trust
from catalogs.credit_purposes import CreditPurpose, credit_purposes
from gateway import errors
from gateway.clock import new_exchange_id
from gateway.exchange import Exchange, Message
from gateway.operations import AnsweredByTheGateway, json_reply, page_of
from gateway.services.credit._pdf import PDF_CONTENT_TYPE, render_report_pdf, report_digest, signed_report_in
from gateway.services.credit._report import (
    build_report,
    credit_city,
    identify_subject,
    purpose_named,
    released_sections,
    section_contents,
    sign_report,
)
from gateway.services.credit._store import (
    QuotaState,
    charge_quota,
    find_report,
    record_query,
    revoke_report,
    store_report,
    subject_queries,
)

if TYPE_CHECKING:
    from gateway.canonical import CreditSubject
    from gateway.runtime import Runtime

__all__ = [
    "CREDIT_QUERY_RIGHT",
    "CREDIT_SUPERVISE_RIGHT",
    "MAX_BATCH",
    "CreditOperation",
    "IssueReport",
    "IssueReports",
    "ReadReport",
    "RevokeReport",
    "SubjectQueries",
    "VerifyReport",
    "verify_report_pdf",
    "verify_signed_report",
]

CREDIT_QUERY_RIGHT = "credit.query"
CREDIT_SUPERVISE_RIGHT = "credit.supervise"
MAX_BATCH = 100
MAX_BODY_BYTES = 256 * 1024


def json_body(body: bytes, fields: set[str], what: str) -> dict[str, Any]:
    try:
        payload = trust.parse_json(body or b"null")
    except trust.JsonRejected as exc:
        raise errors.InvalidContent(f"the body must be a JSON object ({what}): {exc.reason}") from exc
    if not isinstance(payload, dict):
        raise errors.InvalidContent(f"the body must be a JSON object ({what})")
    unknown = set(payload) - fields
    if unknown:
        raise errors.InvalidContent(f"unknown fields: {', '.join(sorted(unknown))}")
    return payload


def with_headers(reply: Message, extra: dict[str, str]) -> Message:
    for name, value in extra.items():
        reply.headers[name] = value
    return reply


@dataclass
class CreditOperation(AnsweredByTheGateway):
    """What every credit operation shares: audited, answered by the gateway itself."""

    name: str = "credit"
    required_right: str | None = CREDIT_QUERY_RIGHT
    audited: bool = True
    purpose_required: bool = False
    max_body_bytes: int | None = MAX_BODY_BYTES
    not_found: str | None = None

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        return None


def _quota_limit(runtime: Runtime, purpose: str) -> int:
    settings = runtime.settings
    return settings.credit_quotas.get(purpose, settings.credit_quota_per_window)


async def charge_for(runtime: Runtime, member_id: str, purpose: str, units: int) -> QuotaState:
    return await runtime.in_thread(
        lambda: charge_quota(
            runtime.database,
            member_id,
            purpose,
            units,
            limit=_quota_limit(runtime, purpose),
            window_seconds=runtime.settings.credit_quota_window_seconds,
            now=runtime.clock.now(),
        )
    )


async def fetch_subject(runtime: Runtime, city: str, code: str) -> CreditSubject | None:
    if runtime.partners is None:
        raise errors.ServiceUnavailable("no partner systems are configured")
    return await runtime.partners.client_for(city).get_credit_subject(code)


def _signing_identity(runtime: Runtime) -> tuple[Any, bytes]:
    """The gateway's certified signing key (the one its JWKS publishes with x5c)."""
    from cryptography.hazmat.primitives import serialization

    key, certificate = runtime.soap_identity()
    return key.private_key, certificate.public_bytes(serialization.Encoding.DER)


async def _issue(
    runtime: Runtime, exchange: Exchange, code: object, purpose: CreditPurpose
) -> tuple[dict[str, Any], str]:
    """One report: identify, find the platform, fetch, release what the purpose allows, sign, store,
    and record the query (also when the subject is not found)."""
    assert exchange.caller is not None
    subject_code = identify_subject(code)
    sections = list(released_sections(purpose, subject_code))
    city = credit_city(subject_code, runtime.partners.cities if runtime.partners is not None else ())
    subject = await fetch_subject(runtime, city, subject_code.code)
    now = runtime.clock.now()
    requester = exchange.caller.id

    def trail(connection: Connection, report_id: str | None, outcome: str, released: list[str]) -> None:
        record_query(
            connection,
            subject_code=subject_code.code,
            requester=requester,
            purpose=purpose.code,
            sections=released,
            report_id=report_id,
            outcome=outcome,
            exchange_id=exchange.id,
            at=now,
        )

    if subject is None:

        def not_found() -> None:
            with runtime.database.write() as connection:
                trail(connection, None, "not_found", [])

        await runtime.in_thread(not_found)
        raise errors.NotFound(f"the {city} credit platform has no subject {subject_code.code}")
    report = build_report(
        report_id=new_exchange_id(runtime.clock, runtime.entropy),
        subject_code=subject_code,
        city=city,
        subject=subject,
        purpose=purpose,
        requester=requester,
        gateway_id=runtime.settings.gateway_id,
        as_of=now,
    )
    private_key, certificate = _signing_identity(runtime)
    signed = sign_report(report, private_key, [certificate], now)

    def keep() -> None:
        with runtime.database.write() as connection:
            store_report(connection, report, signed, now)
            trail(connection, report["report_id"], "issued", sections)

    await runtime.in_thread(keep)
    return report, signed


def _answer(report: dict[str, Any], signed: str) -> dict[str, Any]:
    return {
        "report_id": report["report_id"],
        "report": report,
        "report_digest": report_digest(report),
        "signed_report": signed,
    }


@dataclass
class IssueReport(CreditOperation):
    """POST /v1/credit/reports {subject_code, purpose}: one signed report."""

    name: str = "credit.reports.create"
    subject_code: object = None
    purpose_code: object = None
    from_body: bool = True
    quota: QuotaState | None = field(default=None, init=False)
    purpose: CreditPurpose | None = field(default=None, init=False)

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        if self.from_body:
            payload = json_body(exchange.request.body, {"subject_code", "purpose"}, "subject_code and purpose")
            self.subject_code, self.purpose_code = payload.get("subject_code"), payload.get("purpose")
        self.purpose = purpose_named(self.purpose_code)
        released_sections(self.purpose, identify_subject(self.subject_code))  # 422 / 403 before any quota
        exchange.purpose = self.purpose.code

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None and self.purpose is not None
        self.quota = await charge_for(runtime, exchange.caller.id, self.purpose.code, 1)
        report, signed = await _issue(runtime, exchange, self.subject_code, self.purpose)
        exchange.result = _answer(report, signed)

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.quota is not None
        reply = json_reply(201, exchange.result)
        extra = self.quota.headers() | {"Location": f"/v1/credit/reports/{exchange.result['report_id']}"}
        exchange.reply = with_headers(reply, extra)


def _error_item(code: object, error: errors.TongbanError) -> dict[str, Any]:
    return {
        "subject_code": code,
        "status": error.status,
        "error": {"code": error.code, "title": error.title, "detail": error.detail},
    }


@dataclass
class IssueReports(CreditOperation):
    """POST /v1/credit/reports/batch {purpose, subject_codes}: up to 100 codes, each answered on its own."""

    name: str = "credit.reports.batch"
    codes: list[Any] = field(default_factory=list)
    purpose: CreditPurpose | None = field(default=None, init=False)
    quota: QuotaState | None = field(default=None, init=False)
    concurrency: int = 8

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        payload = json_body(exchange.request.body, {"subject_codes", "purpose"}, "subject_codes and purpose")
        self.purpose = purpose_named(payload.get("purpose"))
        codes = payload.get("subject_codes")
        if not isinstance(codes, list) or not 1 <= len(codes) <= MAX_BATCH:
            raise errors.InvalidContent(f"subject_codes must be a list of 1 to {MAX_BATCH} codes")
        self.codes = codes
        exchange.purpose = self.purpose.code

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None and self.purpose is not None
        purpose = self.purpose
        self.quota = await charge_for(runtime, exchange.caller.id, purpose.code, len(self.codes))
        gate = asyncio.Semaphore(self.concurrency)

        async def one(code: object) -> dict[str, Any]:
            async with gate:
                try:
                    report, signed = await _issue(runtime, exchange, code, purpose)
                except errors.TongbanError as error:
                    return _error_item(code, error)
                return {"subject_code": code, "status": 201, **_answer(report, signed)}

        items = await asyncio.gather(*(one(code) for code in self.codes))
        exchange.result = {
            "purpose": purpose.code,
            "items": list(items),
            "issued": sum(1 for item in items if item["status"] == 201),
            "failed": sum(1 for item in items if item["status"] != 201),
        }

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.quota is not None
        exchange.reply = with_headers(json_reply(200, exchange.result), self.quota.headers())


async def _supervisor(runtime: Runtime, member_id: str) -> bool:
    return await runtime.registry.has_right(member_id, CREDIT_SUPERVISE_RIGHT, runtime.in_thread)


def _wants_pdf(exchange: Exchange) -> bool:
    """?format=pdf, or an Accept header that names application/pdf (and not JSON first)."""
    formats = parse_qs(exchange.request.query).get("format", [])
    if formats:
        if formats[-1] not in ("pdf", "json"):
            raise errors.InvalidContent("format must be json or pdf")
        return formats[-1] == "pdf"
    accepted = [part.split(";")[0].strip().lower() for part in exchange.request.headers.get("accept", "").split(",")]
    return PDF_CONTENT_TYPE in accepted and (
        "application/json" not in accepted or accepted.index(PDF_CONTENT_TYPE) < accepted.index("application/json")
    )


@dataclass
class ReadReport(CreditOperation):
    """GET /v1/credit/reports/{report_id}: the requester's own report, or any for a supervisor; as
    JSON, or (?format=pdf, Accept: application/pdf) as a PAdES-signed PDF rendering."""

    name: str = "credit.reports.read"
    required_right: str | None = None  # the requester's own report, or a supervisor: checked below
    report_id: str = ""
    pdf: bytes | None = field(default=None, init=False)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None
        caller = exchange.caller.id
        wants_pdf = _wants_pdf(exchange)

        def read() -> Any:
            with runtime.database.read() as connection:
                return find_report(connection, self.report_id)

        stored = await runtime.in_thread(read) if len(self.report_id) <= 64 else None
        # Another member's report is as absent as an unknown one, unless the caller supervises.
        if stored is None or (stored.requester != caller and not await _supervisor(runtime, caller)):
            raise errors.NotFound(f"no credit report {self.report_id} of yours")
        _header, payload, _signature = stored.signed_report.split(".")
        report = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exchange.result = {**_answer(report, stored.signed_report), "status": stored.summary()}
        if wants_pdf:
            private_key, certificate = _signing_identity(runtime)
            now = runtime.clock.now()
            self.pdf = await runtime.in_thread(
                lambda: render_report_pdf(report, stored.signed_report, private_key, [certificate], now)
            )

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        if self.pdf is None:
            exchange.reply = json_reply(200, exchange.result)
            return
        headers = httpx.Headers(
            {
                "content-type": PDF_CONTENT_TYPE,
                "content-disposition": f'attachment; filename="credit-report-{self.report_id}.pdf"',
                "x-tongban-report-digest": exchange.result["report_digest"],
            }
        )
        exchange.reply = Message(status=200, headers=headers, body=self.pdf)


@dataclass
class RevokeReport(CreditOperation):
    """POST /v1/credit/reports/{report_id}/revoke {reason}: supervisors withdraw a report."""

    name: str = "credit.reports.revoke"
    required_right: str | None = CREDIT_SUPERVISE_RIGHT
    report_id: str = ""
    reason: str = ""

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        payload = json_body(exchange.request.body, {"reason"}, "reason")
        reason = payload.get("reason")
        if not isinstance(reason, str) or not 1 <= len(reason) <= 500:
            raise errors.InvalidContent("reason must be 1 to 500 characters: why the report is withdrawn")
        self.reason = reason

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        def revoke() -> Any:
            with runtime.database.write() as connection:
                return revoke_report(connection, self.report_id, self.reason, runtime.clock.now())

        exchange.result = (await runtime.in_thread(revoke)).summary()


@dataclass
class SubjectQueries(CreditOperation):
    """GET /v1/credit/subjects/{code}/queries: who asked about a subject, when and why (supervisors)."""

    name: str = "credit.subjects.queries"
    required_right: str | None = CREDIT_SUPERVISE_RIGHT
    subject_code: str = ""

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        identify_subject(self.subject_code)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        def read() -> list[dict[str, Any]]:
            with runtime.database.read() as connection:
                return subject_queries(connection, self.subject_code)

        found = await runtime.in_thread(read)
        exchange.result = {"subject_code": self.subject_code, **page_of(found, exchange.request.query)}


async def verify_signed_report(runtime: Runtime, signed: str) -> dict[str, Any]:
    """valid, superseded (the platform's records changed since), revoked, or tampered; with why."""

    def verdict(name: str, reason: str, report: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        answer = {"verdict": name, "reason": reason, **extra}
        if report is not None:
            answer["report_id"] = report.get("report_id")
            answer["subject_code"] = (report.get("subject") or {}).get("code")
        return answer

    try:
        evidence = await runtime.in_thread(trust.examine_jws, signed)
    except trust.SignatureFailure as failure:
        return verdict("tampered", f"the signature does not hold: {failure}")
    report = json.loads(evidence.signed_content)
    if not isinstance(report, dict) or evidence.signed_content != rfc8785.dumps(report):
        return verdict("tampered", "the signed content is not a report in RFC 8785 canonical form")
    _key, certificate = _signing_identity(runtime)
    if evidence.signer_certificate != certificate:
        return await _verify_platform_report(runtime, evidence, report, verdict)

    def read() -> Any:
        with runtime.database.read() as connection:
            return find_report(connection, str(report.get("report_id")))

    stored = await runtime.in_thread(read)
    if stored is None:
        return verdict("tampered", "this gateway issued no report with that id", report)
    if stored.signed_report != signed.strip():
        return verdict("tampered", "the gateway issued a different report under that id", report)
    if stored.revoked_at is not None:
        return verdict("revoked", f"revoked at {stored.revoked_at.isoformat()}: {stored.revoked_reason}", report)
    city = report["source"]["city"]
    changed = await _current_sections(runtime, city, stored.subject_code, stored.sections, report["sections"])
    if changed is None:
        return verdict("superseded", f"the {city} credit platform no longer holds the subject", report)
    if changed:
        return verdict(
            "superseded",
            f"the {city} credit platform's records changed since {report['as_of']}: {', '.join(changed)}; "
            "ask for a new report",
            report,
            changed_sections=changed,
        )
    return verdict("valid", f"signed by {report['issuer']} and current at the {city} credit platform", report)


CREDIT_PLATFORM_SERVICE_TYPES = frozenset({"credit-platform"})


async def _current_sections(
    runtime: Runtime, city: str, code: str, sections: list[str], signed: dict[str, Any]
) -> list[str] | None:
    """The sections whose content the platform now holds differently; None if it no longer holds the subject."""
    subject = await fetch_subject(runtime, city, code)
    if subject is None:
        return None
    current = section_contents(subject, sections, runtime.clock.now().date())
    return [name for name in sections if current.get(name) != signed.get(name)]


async def _verify_platform_report(
    runtime: Runtime, evidence: trust.SignatureEvidence, report: dict[str, Any], verdict: Any
) -> dict[str, Any]:
    """A report signed by a city's credit platform (mutual recognition): its certificate must chain
    to a credit-platform service on that city's trust list, and the report must name that city as
    its source; then, as for our own, is it still what the platform holds?"""
    recognition = runtime.services.get("recognition")
    if recognition is None:
        return verdict(
            "tampered", "not signed by this gateway, and no trust lists are held to recognise another signer"
        )
    now = runtime.clock.now()
    validation = await recognition.validate(evidence, CREDIT_PLATFORM_SERVICE_TYPES, now)
    if not validation.passed or validation.trust_anchor is None:
        reason = "; ".join(validation.messages) or "no trust list vouches for the signer"
        if validation.sub_indication == trust.SubIndication.REVOKED:
            return verdict("revoked", f"the signing platform's certificate is revoked: {reason}", report)
        return verdict("tampered", f"not signed by a credit platform on a current trust list: {reason}", report)
    city = validation.trust_anchor.trust_list_city
    source: dict[str, Any] = report["source"] if isinstance(report.get("source"), dict) else {}
    subject: dict[str, Any] = report["subject"] if isinstance(report.get("subject"), dict) else {}
    sections = report.get("sections_released")
    if source.get("city") != city or not isinstance(subject.get("code"), str) or not isinstance(sections, list):
        return verdict("tampered", f"signed by the {city} credit platform, but not a report of that platform", report)
    unknown = [name for name in sections if name not in credit_purposes().sections]
    if unknown:
        return verdict("tampered", f"the report names sections the catalogue does not know: {unknown}", report)
    changed = await _current_sections(runtime, city, subject["code"], sections, report.get("sections") or {})
    signer = f"the {city} credit platform ({validation.trust_anchor.service_name}, on {city}'s trust list)"
    if changed is None:
        return verdict("superseded", f"{signer} no longer holds the subject", report, recognised=True)
    if changed:
        return verdict(
            "superseded",
            f"signed by {signer}; its records changed since: {', '.join(changed)}",
            report,
            recognised=True,
            changed_sections=changed,
        )
    return verdict("valid", f"signed by {signer} and current there", report, recognised=True)


async def verify_report_pdf(runtime: Runtime, pdf: bytes) -> dict[str, Any]:
    """A report PDF this gateway rendered: its PAdES signature must hold over the whole file and be
    the gateway's; then the signed report it carries is verified as verify_signed_report does."""
    try:
        signed, evidence = await runtime.in_thread(lambda: signed_report_in(pdf))
    except trust.SignatureFailure as failure:
        return {"verdict": "tampered", "reason": f"the PDF signature does not hold: {failure}", "format": "PAdES"}
    _key, certificate = _signing_identity(runtime)
    if evidence.signer_certificate != certificate:
        return {"verdict": "tampered", "reason": "the PDF was not signed by this gateway", "format": "PAdES"}
    return {**await verify_signed_report(runtime, signed), "format": "PAdES"}


@dataclass
class VerifyReport(CreditOperation):
    """POST /v1/credit/reports/verify {signed_report} or {signed_pdf}: any member may check a report
    shown to it, as the compact JWS or as the signed PDF (base64)."""

    name: str = "credit.reports.verify"
    required_right: str | None = None
    signed_report: str | None = None
    signed_pdf: bytes | None = None
    # A PDF in base64 is a third larger than the file; reports render to a few pages.
    max_body_bytes: int | None = 4 * MAX_BODY_BYTES

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        if self.signed_report is None and self.signed_pdf is None:
            payload = json_body(exchange.request.body, {"signed_report", "signed_pdf"}, "signed_report or signed_pdf")
            if ("signed_report" in payload) == ("signed_pdf" in payload):
                raise errors.InvalidContent("give either signed_report (the compact JWS) or signed_pdf (base64)")
            if "signed_pdf" in payload:
                self.signed_pdf = _base64_pdf(payload["signed_pdf"])
                return
            self.signed_report = payload.get("signed_report")
        if self.signed_pdf is None and (not isinstance(self.signed_report, str) or not self.signed_report):
            raise errors.InvalidContent("signed_report is required: the compact JWS as issued")

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        if self.signed_pdf is not None:
            exchange.result = await verify_report_pdf(runtime, self.signed_pdf)
            return
        assert self.signed_report is not None
        exchange.result = await verify_signed_report(runtime, self.signed_report)


def _base64_pdf(value: object) -> bytes:
    if not isinstance(value, str) or not value:
        raise errors.InvalidContent("signed_pdf must be the report PDF in base64")
    try:
        pdf = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise errors.InvalidContent(f"signed_pdf is not base64: {exc}") from exc
    if not pdf.startswith(b"%PDF-"):
        raise errors.InvalidContent("signed_pdf is not a PDF (it does not start with %PDF-)")
    return pdf
