"""The public-credit report (公共信用信息报告): who the subject is, which city's credit platform holds
its records, which sections a purpose releases, and the report itself, in the order of the national
report, as RFC 8785 canonical JSON signed by the gateway (compact JWS, JAdES-style header with the
certificate chain in x5c and the signing time in sigT).

    identify_subject(code)          -> SubjectCode (422 naming the GB 32100 / GB 11643 rule that failed)
    credit_city(subject, cities)    -> the partner city whose platform holds the subject (GB/T 2260 parents)
    build_report(...)               -> the report as a JSON-ready dict, only the released sections
    sign_report(report, key, cert)  -> the compact JWS
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import rfc8785

import catalogs
import trust
from catalogs.credit_purposes import CreditPurpose, credit_purposes
from gateway import errors
from gateway.canonical import CreditRecord, CreditSubject

__all__ = [
    "REPORT_TYPE",
    "SECTION_KINDS",
    "SubjectCode",
    "build_report",
    "credit_city",
    "identify_subject",
    "purpose_named",
    "released_sections",
    "sign_report",
]

REPORT_TYPE = "tongban:public-credit-report:v1"
REPORT_CONTENT_TYPE = "application/vnd.tongban.credit-report+json"

# Which canonical record kinds each section of the national report gathers.
SECTION_KINDS: dict[str, tuple[str, ...]] = {
    "administrative_licences": ("administrative_licence",),
    "administrative_penalties": ("administrative_penalty",),
    "serious_dishonesty": ("serious_dishonesty", "dishonest_judgement_debtor", "sanction"),
    "abnormal_operation": ("abnormal_operation",),
    "red_lists": ("commendation",),
    "credit_commitments": ("credit_commitment",),
}

SubjectCategory = Literal[
    "enterprise", "individual_business", "social_organisation", "public_institution", "government", "other", "person"
]


@dataclass(frozen=True)
class SubjectCode:
    code: str
    category: SubjectCategory
    region: str  # GB/T 2260: positions 3-8 of a credit code, 1-6 of an identity number

    @property
    def is_person(self) -> bool:
        return self.category == "person"


def _organisation_category(code: str) -> SubjectCategory:
    """From the registration authority (position 1) and organisation type (position 2), GB 32100 annex."""
    authority, kind = code[0], code[1]
    if authority == "9":
        return "individual_business" if kind == "2" else "enterprise"
    if authority == "5":
        return "social_organisation"
    if authority == "1":
        return "government" if kind == "1" else "public_institution"
    return "other"


def identify_subject(code: object) -> SubjectCode:
    """A subject by its unified social credit code (GB 32100) or, for a person, its resident identity
    number (GB 11643); InvalidContent saying which rule the code breaks."""
    if not isinstance(code, str) or not code:
        raise errors.InvalidContent("subject_code is required: a unified social credit code (GB 32100)")
    try:
        catalogs.validate_uscc(code)
    except catalogs.InvalidCode as uscc_problem:
        if len(code) == 18 and code[:17].isdigit():
            try:
                catalogs.validate_resident_id(code)
            except catalogs.InvalidCode as id_problem:
                raise errors.InvalidContent(
                    f"subject_code is neither a unified social credit code ({uscc_problem}) "
                    f"nor a resident identity number ({id_problem})"
                ) from id_problem
            return SubjectCode(code, "person", code[:6])
        raise errors.InvalidContent(f"subject_code: {uscc_problem}") from uscc_problem
    return SubjectCode(code, _organisation_category(code), code[2:8])


def credit_city(subject: SubjectCode, cities: Iterable[str]) -> str:
    """The partner city whose credit platform holds the subject: its region or a GB/T 2260 parent."""
    reachable = set(cities)
    try:
        region: catalogs.Region | None = catalogs.region(subject.region)
    except catalogs.CatalogError as exc:
        where = "positions 3-8" if not subject.is_person else "positions 1-6"
        raise errors.InvalidContent(
            f"subject_code: {where} ({subject.region}) are not a GB/T 2260 region code the catalogue knows"
        ) from exc
    while region is not None:
        if region.code in reachable:
            return region.code
        region = catalogs.region(region.parent) if region.parent else None
    raise errors.NotFound(
        f"no credit platform is reachable for region {subject.region}; "
        f"the gateway reaches {', '.join(sorted(reachable))}"
    )


def purpose_named(code: object) -> CreditPurpose:
    if not isinstance(code, str) or not code:
        raise errors.InvalidContent(
            "purpose is required: one of " + ", ".join(p.code for p in credit_purposes().purposes)
        )
    try:
        return credit_purposes().purpose(code)
    except catalogs.UnknownCode as exc:
        raise errors.InvalidContent(str(exc)) from exc


def released_sections(purpose: CreditPurpose, subject: SubjectCode) -> tuple[str, ...]:
    """The sections the purpose releases; a person's report only for purposes allowing personal data."""
    if subject.is_person and not purpose.personal_data:
        raise errors.AccessDenied(
            f"purpose {purpose.code} does not allow a natural person's credit information to be released"
        )
    return purpose.sections


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _item(record: CreditRecord, on: date) -> dict[str, Any]:
    kind_label = catalogs.code_table("credit_record_kind").label(record.kind)
    item: dict[str, Any] = {
        "kind": record.kind,
        "kind_label": kind_label,
        "title": record.title,
        "source_department": record.authority,
        "decision_number": record.decision_number,
        "decided_on": _day(record.decided_on),
        "valid_until": _day(record.valid_until),
    }
    if record.kind == "administrative_penalty":
        if record.repaired_on is not None:
            publication = "ended_by_repair"
        elif record.valid_until is not None and record.valid_until < on:
            publication = "ended"
        else:
            publication = "publishing"
        item["publication_window"] = {"from": _day(record.decided_on), "until": _day(record.valid_until)}
        item["publication_status"] = publication
        item["repaired"] = record.repaired_on is not None
        item["repaired_on"] = _day(record.repaired_on)
    if record.kind == "credit_commitment":
        item["commitment_outcome"] = record.commitment_outcome or "in_force"
        item["kept"] = None if record.commitment_outcome is None else record.commitment_outcome == "kept"
    return item


def section_contents(subject: CreditSubject, sections: Iterable[str], on: date) -> dict[str, Any]:
    """The released sections of the report, from the platform's canonical record."""
    contents: dict[str, Any] = {}
    for section in sections:
        if section == "basic_registration":
            contents[section] = {
                "name": subject.name,
                "subject_type": subject.subject_type,
                "registration_status": subject.status,
                "established_on": _day(subject.established_on),
                "legal_representative": subject.legal_representative,
                "registered_capital_cny": subject.registered_capital_cny,
                "address": subject.address,
            }
            continue
        kinds = SECTION_KINDS[section]
        records = sorted(
            (r for r in subject.records if r.kind in kinds),
            key=lambda r: (r.decided_on, r.decision_number or "", r.title),
            reverse=True,
        )
        contents[section] = [_item(record, on) for record in records]
    return contents


def build_report(
    *,
    report_id: str,
    subject_code: SubjectCode,
    city: str,
    subject: CreditSubject,
    purpose: CreditPurpose,
    requester: str,
    gateway_id: str,
    as_of: datetime,
) -> dict[str, Any]:
    catalogue = credit_purposes()
    released = released_sections(purpose, subject_code)
    return {
        "type": REPORT_TYPE,
        "report_id": report_id,
        "issuer": gateway_id,
        "catalogue_version": catalogue.version,
        "as_of": as_of.isoformat(timespec="seconds"),
        "requester": requester,
        "purpose": {"code": purpose.code, "label": purpose.label},
        "subject": {
            "code": subject_code.code,
            "category": subject_code.category,
            "name": subject.name,
            "registration_region": subject_code.region,
        },
        "source": {"city": city, "city_name": catalogs.city(city).name, "system": "credit_platform"},
        "sections_released": list(released),
        "sections_withheld": [name for name in catalogue.sections if name not in released],
        "sections": section_contents(subject, released, as_of.date()),
    }


def sign_report(
    report: dict[str, Any], private_key: Any, certificate_chain: Sequence[bytes], signed_at: datetime
) -> str:
    """The report as a compact JWS over its RFC 8785 form; the header carries the certificate chain
    (x5c, DER, the signer's first), the signer's SHA-256 thumbprint and the signing time (JAdES sigT,
    marked critical). A city's credit platform signs its own reports the same way."""
    header = {
        "alg": "ES256",
        "cty": REPORT_CONTENT_TYPE,
        "x5c": [base64.b64encode(der).decode("ascii") for der in certificate_chain],
        "x5t#S256": trust.b64url(hashlib.sha256(certificate_chain[0]).digest()),
        "sigT": signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "crit": ["sigT"],
    }
    return trust.sign_compact(header, rfc8785.dumps(report), private_key)
