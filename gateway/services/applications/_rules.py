"""What an application must be: the item, the cities, the applicant and the materials, checked before
anything is stored; and how an application is shown (its limit, warnings and timeline)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import catalogs
from catalogs.service_items import Material, ServiceItem
from gateway import errors
from gateway.services.applications._calendar import CalendarNotCovered, Limit, WorkingDays, limit_on
from gateway.services.applications._states import CLOCK_STOPPED, LABELS
from gateway.services.applications._store import StoredApplication, local_day
from trust import content_digest

__all__ = [
    "MAX_MATERIAL_BYTES",
    "PAIRED_CITY",
    "RATING_LEVELS",
    "REASON_REQUIRED",
    "MaterialRequest",
    "SubmissionRequest",
    "limit_of",
    "parse_submission",
    "view",
    "warnings_of",
]

MAX_MATERIAL_BYTES: Final = 5 * 1024 * 1024  # one uploaded material, decoded
# 深中通办: an item with departments in several cities received in one of the pair is handled in the other.
PAIRED_CITY: Final = {"440300": "442000", "442000": "440300"}
# The national 好差评 scale (GB/T 39735 "政务服务评价工作指南"), best first.
RATING_LEVELS: Final = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
REASON_REQUIRED: Final = frozenset({"不满意", "非常不满意"})
_DIGEST: Final = re.compile(r"^sha-256=:[A-Za-z0-9+/]{43}=:$")
_SUBJECT_ID: Final = {"person": "resident_id", "enterprise": "uscc"}


@dataclass(frozen=True)
class MaterialRequest:
    code: str
    name: str
    digest: str | None = None  # uploaded (content) or referenced elsewhere
    reference: str | None = None
    size: int | None = None
    licence_city: str | None = None  # an e-licence stands in for it (免提交), fetched with consent
    licence_type: str | None = None

    def recorded(self) -> dict[str, Any]:
        found = {"code": self.code, "name": self.name, "source": "licence" if self.licence_city else "upload"}
        for key in ("digest", "reference", "size"):
            if getattr(self, key) is not None:
                found[key] = getattr(self, key)
        return found


@dataclass(frozen=True)
class SubmissionRequest:
    item: ServiceItem
    receiving_city: str
    handling_city: str
    applicant: dict[str, str]  # type, name, id_type, id_number
    agent: dict[str, str] | None
    materials: tuple[MaterialRequest, ...]


def _text(data: dict[str, Any], name: str, where: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise errors.InvalidContent(f"{where}{name} must be a non-empty string of at most {limit} characters")
    return value.strip()


def _party(data: Any, where: str, subject: str) -> dict[str, str]:
    if not isinstance(data, dict):
        raise errors.InvalidContent(f"{where} must be an object with name and id_number")
    name = _text(data, "name", f"{where}.")
    id_number = _text(data, "id_number", f"{where}.", limit=18)
    assert name is not None and id_number is not None
    try:
        if subject == "enterprise":
            catalogs.validate_uscc(id_number)
        else:
            catalogs.validate_resident_id(id_number)
    except catalogs.CatalogError as exc:
        standard = "a unified social credit code (GB 32100)" if subject == "enterprise" else "an ID number (GB 11643)"
        raise errors.InvalidContent(f"{where}.id_number must be {standard} with a valid check character") from exc
    return {"type": subject, "name": name, "id_type": _SUBJECT_ID[subject], "id_number": id_number}


def _material(raw: Any, wanted: Material, index: int) -> MaterialRequest:
    where = f"materials[{index}] ({wanted.code})"
    given = [key for key in ("content_b64", "digest", "licence") if raw.get(key) is not None]
    if len(given) != 1:
        raise errors.InvalidContent(f"{where}: give exactly one of content_b64, digest (with reference) or licence")
    if given == ["content_b64"]:
        text = raw["content_b64"]
        if not isinstance(text, str) or len(text) > (MAX_MATERIAL_BYTES * 4) // 3 + 4:
            raise errors.InvalidContent(f"{where}: content_b64 must be base64 of at most {MAX_MATERIAL_BYTES} bytes")
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.InvalidContent(f"{where}: content_b64 is not base64") from exc
        if not content:
            raise errors.InvalidContent(f"{where}: the material is empty")
        return MaterialRequest(wanted.code, wanted.name, digest=content_digest(content), size=len(content))
    if given == ["digest"]:
        digest, reference = raw["digest"], raw.get("reference")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise errors.InvalidContent(f"{where}: digest must be an RFC 9530 sha-256 value, sha-256=:<base64>:")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 500:
            raise errors.InvalidContent(f"{where}: a digest needs the reference where the file is kept")
        return MaterialRequest(wanted.code, wanted.name, digest=digest, reference=reference)
    licence = raw["licence"]
    if not wanted.licence_types:
        raise errors.InvalidContent(f"{where}: no e-licence stands in for this material; upload it")
    if not isinstance(licence, dict) or not isinstance(licence.get("issuing_city"), str):
        raise errors.InvalidContent(f"{where}: licence must name its issuing_city (and licence_type)")
    licence_type = licence.get("licence_type")
    if licence_type is None and len(wanted.licence_types) == 1:
        licence_type = wanted.licence_types[0]
    if licence_type not in wanted.licence_types:
        raise errors.InvalidContent(f"{where}: licence_type must be one of {', '.join(wanted.licence_types)}")
    return MaterialRequest(wanted.code, wanted.name, licence_city=licence["issuing_city"], licence_type=licence_type)


def parse_submission(body: Any, caller_city: str, item_of: Callable[[str], ServiceItem | None]) -> SubmissionRequest:
    """The checked request: InvalidContent naming the first problem, AccessDenied for another city's window."""
    if not isinstance(body, dict):
        raise errors.InvalidContent("the body must be a JSON object")
    code = _text(body, "item_code", "", limit=40)
    assert code is not None
    item = item_of(code)
    if item is None:
        raise errors.InvalidContent(f"there is no service item {code} in the catalogue")
    receiving = _text(body, "receiving_city", "", limit=6)
    if receiving != caller_city:
        raise errors.AccessDenied(f"a window of {caller_city} receives applications for {caller_city} only")
    candidates = sorted(city for city in item.departments if city != receiving)
    named = body.get("handling_city")
    if named is not None:
        if named not in candidates:
            raise errors.InvalidContent(f"handling_city must be one of {', '.join(candidates)} for item {code}")
        handling = named
    elif len(candidates) == 1:
        handling = candidates[0]
    elif PAIRED_CITY.get(receiving) in candidates:
        handling = PAIRED_CITY[receiving]
    else:
        raise errors.InvalidContent(f"name the handling_city: item {code} is handled in {', '.join(candidates)}")
    applicant = _party(body.get("applicant"), "applicant", item.subject)
    agent = None if body.get("agent") is None else _party(body["agent"], "agent", "person")
    raw_materials = body.get("materials")
    if not isinstance(raw_materials, list) or not all(isinstance(raw, dict) for raw in raw_materials):
        raise errors.InvalidContent("materials must be a list of objects, each with its code")
    wanted = {material.code: material for material in item.materials}
    materials: list[MaterialRequest] = []
    for index, raw in enumerate(raw_materials):
        material = wanted.get(raw.get("code"))
        if material is None:
            raise errors.InvalidContent(
                f"materials[{index}]: item {code} asks for no material {raw.get('code')!r}; "
                f"it asks for {', '.join(wanted)}"
            )
        if any(found.code == material.code for found in materials):
            raise errors.InvalidContent(f"materials[{index}]: {material.code} is given twice")
        materials.append(_material(raw, material, index))
    missing = [m.code for m in item.materials if m.required and m.code not in {f.code for f in materials}]
    if missing:
        raise errors.InvalidContent(f"required materials are missing: {', '.join(missing)}")
    return SubmissionRequest(item, receiving, handling, applicant, agent, tuple(materials))


def limit_of(application: StoredApplication, calendar: WorkingDays, today: date) -> Limit:
    """The promised limit on `today`: the working days spent waiting for 补正 do not count."""
    pauses: list[tuple[date, date | None]] = []
    for event in application.events:
        if pauses and pauses[-1][1] is None:
            pauses[-1] = (pauses[-1][0], local_day(event.at))
        if event.state in CLOCK_STOPPED:
            pauses.append((local_day(event.at), None))
    return limit_on(
        calendar,
        received=application.received_on,
        promised=application.promised_days,
        pauses=pauses,
        stopped=application.finished_on,
        today=today,
    )


def warnings_of(limit: Limit, paused: bool) -> list[dict[str, Any]]:
    if paused:
        return []
    if limit.overdue:
        return [
            {
                "kind": "overdue",
                "detail": f"past the promised {limit.promised} working days (deadline {limit.deadline.isoformat()})",
            }
        ]
    if limit.early_warning:
        return [
            {
                "kind": "early_warning",
                "detail": f"{limit.used} of the promised {limit.promised} working days used (80% reached)",
            }
        ]
    return []


def view(application: StoredApplication, calendar: WorkingDays, today: date) -> dict[str, Any]:
    """An application as its readers see it: status, deadline, warnings and the full timeline."""
    document = application.document
    answer: dict[str, Any] = {
        "id": application.id,
        "item_code": application.item_code,
        "item_name": document.get("item_name"),
        "receiving_city": application.receiving_city,
        "handling_city": application.handling_city,
        "handling_department": application.handling_department,
        "submitted_by": application.submitted_by,
        "applicant": document.get("applicant"),
        "agent": document.get("agent"),
        "materials": document.get("materials", []),
        "status": application.state,
        "status_label": LABELS[application.state],
        "received_at": application.received_at.isoformat(),
        "forwarded": application.forwarded_at is not None,
        "result": application.result,
        "rating": None
        if application.rating is None
        else {
            "level": application.rating.level,
            "reason": application.rating.reason,
            "at": application.rating.at.isoformat(),
            "audit_index": application.rating.audit_index,
        },
        "timeline": [
            {
                "state": event.state,
                "label": LABELS[event.state],
                "at": event.at.isoformat(),
                "by": event.by,
                "note": event.note,
                "audit_index": event.audit_index,
            }
            for event in application.events
        ],
    }
    if application.forwarded_at is None and application.forward_error:
        answer["forward_error"] = application.forward_error
    try:
        limit = limit_of(application, calendar, today)
    except CalendarNotCovered as exc:
        answer.update(deadline=None, time_limit=None, warnings=[{"kind": "calendar_not_covered", "detail": str(exc)}])
        return answer
    paused = application.state in CLOCK_STOPPED
    answer["deadline"] = limit.deadline.isoformat()
    answer["time_limit"] = {
        "promised_working_days": limit.promised,
        "used_working_days": limit.used,
        "paused_working_days": limit.paused,
        "clock": "paused" if paused else ("running" if limit.running else "stopped"),
        "on_time": None if limit.running else limit.used <= limit.promised,
    }
    answer["warnings"] = warnings_of(limit, paused)
    return answer
