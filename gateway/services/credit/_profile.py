"""The individual-business credit profile (个体工商户信用画像): a score and band from the rule set in
catalogs/data/credit_profile_rules.json, every point explained by the rule and the records that
earned it. The profile reads only sections the purpose releases; a purpose that withholds one the
rules need cannot ask for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from catalogs.credit_profile import ProfileRules, RuleState, credit_profile_rules
from catalogs.credit_purposes import CreditPurpose
from gateway import errors
from gateway.canonical import CreditRecord, CreditSubject
from gateway.exchange import Exchange
from gateway.operations import json_reply
from gateway.services.credit._operations import CreditOperation, charge_for, fetch_subject, json_body, with_headers
from gateway.services.credit._report import SECTION_KINDS, SubjectCode, credit_city, identify_subject, purpose_named
from gateway.services.credit._store import QuotaState, record_query

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["CreditProfile", "profile_of", "sections_read"]

_SECTION_OF = {kind: section for section, kinds in SECTION_KINDS.items() for kind in kinds}


def sections_read(rules: ProfileRules) -> list[str]:
    return sorted({_SECTION_OF[rule.kind] for rule in rules.rules})


def _holds(record: CreditRecord, state: RuleState, on: date) -> bool:
    current = record.valid_until is None or record.valid_until >= on
    if state == "publishing":
        return record.repaired_on is None and current
    if state == "repaired":
        return record.repaired_on is not None
    if state == "in_force":
        return current
    if state in ("kept", "breached"):
        return record.commitment_outcome == state
    return True


def profile_of(subject: CreditSubject, rules: ProfileRules, on: date) -> dict[str, Any]:
    """The score (base plus each rule's points, within the rule set's range), its band, and per rule
    that matched: the records it counted and the points they earned."""
    explanation: list[dict[str, Any]] = []
    for rule in rules.rules:
        matched = sorted(
            (r for r in subject.records if r.kind == rule.kind and _holds(r, rule.state, on)),
            key=lambda r: (r.decided_on, r.decision_number or ""),
            reverse=True,
        )
        if not matched:
            continue
        counted = matched[: rule.max_count]
        explanation.append(
            {
                "rule": rule.code,
                "label": rule.label,
                "points_each": rule.points,
                "matched": len(matched),
                "counted": len(counted),
                "points": rule.points * len(counted),
                "records": [
                    {"title": r.title, "decision_number": r.decision_number, "decided_on": r.decided_on.isoformat()}
                    for r in counted
                ],
            }
        )
    unbounded = rules.base + sum(item["points"] for item in explanation)
    score = min(rules.maximum, max(rules.minimum, unbounded))
    band = rules.band_for(score)
    return {
        "rule_set_version": rules.version,
        "base": rules.base,
        "unbounded_score": unbounded,
        "score": score,
        "range": [rules.minimum, rules.maximum],
        "band": band.band,
        "band_label": band.label,
        "explanation": explanation,
    }


@dataclass
class CreditProfile(CreditOperation):
    """POST /v1/credit/profiles {subject_code, purpose}: an individual business's profile."""

    name: str = "credit.profiles.create"
    subject: SubjectCode | None = field(default=None, init=False)
    purpose: CreditPurpose | None = field(default=None, init=False)
    quota: QuotaState | None = field(default=None, init=False)

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        payload = json_body(exchange.request.body, {"subject_code", "purpose"}, "subject_code and purpose")
        self.purpose = purpose_named(payload.get("purpose"))
        self.subject = identify_subject(payload.get("subject_code"))
        rules = credit_profile_rules()
        if self.subject.category not in rules.subject_types:
            raise errors.InvalidContent(
                f"credit profiles are made for {', '.join(rules.subject_types)} (个体工商户: codes beginning 92); "
                f"{self.subject.code} is a {self.subject.category}"
            )
        withheld = [name for name in sections_read(rules) if name not in self.purpose.sections]
        if withheld:
            raise errors.AccessDenied(
                f"purpose {self.purpose.code} does not release {', '.join(withheld)}, which the profile reads"
            )
        exchange.purpose = self.purpose.code

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert exchange.caller is not None and self.subject is not None and self.purpose is not None
        self.quota = await charge_for(runtime, exchange.caller.id, self.purpose.code, 1)
        subject_code, rules = self.subject, credit_profile_rules()
        city = credit_city(subject_code, runtime.partners.cities if runtime.partners is not None else ())
        subject = await fetch_subject(runtime, city, subject_code.code)
        now = runtime.clock.now()
        read = sections_read(rules) if subject is not None else []

        def trail() -> None:
            assert exchange.caller is not None and self.purpose is not None
            with runtime.database.write() as connection:
                record_query(
                    connection,
                    subject_code=subject_code.code,
                    requester=exchange.caller.id,
                    purpose=self.purpose.code,
                    sections=read,
                    report_id=None,
                    outcome="profiled" if subject is not None else "not_found",
                    exchange_id=exchange.id,
                    at=now,
                )

        await runtime.in_thread(trail)
        if subject is None:
            raise errors.NotFound(f"the {city} credit platform has no subject {subject_code.code}")
        exchange.result = {
            "subject": {"code": subject_code.code, "name": subject.name, "category": subject_code.category},
            "source": {"city": city},
            "as_of": now.isoformat(timespec="seconds"),
            "requester": exchange.caller.id,
            "purpose": self.purpose.code,
            "sections_read": read,
            **profile_of(subject, rules, now.date()),
        }

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.quota is not None
        exchange.reply = with_headers(json_reply(200, exchange.result), self.quota.headers())
