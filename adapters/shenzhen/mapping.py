"""Shenzhen's wire format (REST/JSON, camelCase) to and from the canonical model, driven by catalogs/ data.

The walk over `field_map("shenzhen")` is the REST/JSON cities' shared one (adapters/_json_mapping.py:
layouts value, flat, object, list; JSON null for absent values; a tolerant reader). What is Shenzhen's:
its formats text, integer, iso-date and iso-datetime, the holder spread flat into the licence, and
MalformedPartnerData, a ValueError naming the Shenzhen field by its path (`creditRecords[0].decisionDate`).
Times go out at Shenzhen's local offset (+08:00); a naive datetime cannot be written and is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final

from pydantic import ValidationError

from adapters._json_mapping import JsonMapping, MalformedRecord
from catalogs import CatalogError, code_table, field_map
from gateway.canonical import EvaluationExpert

__all__ = [
    "CITY",
    "expert_from_partner",
    "expert_to_partner",
    "NOT_FOUND_CODE",
    "OK_CODE",
    "MalformedPartnerData",
    "ShenzhenMapping",
]

CITY: Final = "shenzhen"
OK_CODE: Final = "00000"
"""The code of a successful answer in Shenzhen's envelope {"code", "message", "data"}."""
NOT_FOUND_CODE: Final = "40401"
"""The code of Shenzhen's "no such record" answer (HTTP 404)."""
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


class MalformedPartnerData(MalformedRecord):
    """A Shenzhen record the field map cannot read (or a canonical value it cannot write); names the field."""

    city = CITY


class ShenzhenMapping(JsonMapping):
    """Pure mapping between canonical records and Shenzhen's JSON objects; no I/O, no clock."""

    city: str = "440300"

    def __init__(self) -> None:
        super().__init__(field_map(CITY), MalformedPartnerData)

    # The trading centre's expert pool (评标专家库): expertStatus "1" 正常, "2" 暂停 (suspended, sanctioned, on leave).

    def _write_formatted(self, value: Any, fmt: str, field: str) -> str:
        if fmt == "iso-date":
            return value.isoformat()
        if fmt == "iso-datetime":
            if value.tzinfo is None or value.utcoffset() is None:
                raise MalformedPartnerData(field, "a naive datetime has no offset to send")
            return value.astimezone(self._tz).isoformat()
        return super()._write_formatted(value, fmt, field)

    def _read_formatted(self, raw: str, fmt: str, field: str) -> Any:
        if fmt == "iso-date":
            return _parse(field, raw, _ISO_DATE, date.fromisoformat, "an ISO 8601 date (YYYY-MM-DD)")
        if fmt == "iso-datetime":
            return _parse(field, raw, _ISO_DATETIME, datetime.fromisoformat, "an ISO 8601 time with offset")
        return super()._read_formatted(raw, fmt, field)


def _parse(field: str, raw: str, pattern: re.Pattern[str], parse: Any, what: str) -> Any:
    if not pattern.match(raw):
        raise MalformedPartnerData(field, f"expected {what}, got {raw!r}")
    try:
        return parse(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPartnerData(field, f"expected {what}, got {raw!r}") from exc


def expert_to_partner(expert: EvaluationExpert) -> dict[str, Any]:
    specialties = code_table("evaluation_specialty")
    return {
        "expertNo": expert.expert_id,
        "expertName": expert.name,
        "idCardNo": expert.id_number,
        "specialtyCodes": [specialties.to_city(CITY, code) for code in expert.specialties],
        "proTitle": expert.title,
        "workUnit": {"unitName": expert.employer.name, "creditCode": expert.employer.id_number},
        "regionCode": expert.city,
        "expertStatus": "1" if expert.available else "2",
        "avoidUnits": [
            {"creditCode": item.credit_code, "relationType": code_table("expert_relation").to_city(CITY, item.relation)}
            for item in expert.relations
        ],
        "penalties": [
            {"reason": item.reason, "startDate": item.starts_on.isoformat(), "endDate": item.ends_on.isoformat()}
            for item in expert.sanctions
        ],
    }


def expert_from_partner(row: Any, where: str = "data") -> EvaluationExpert:
    if not isinstance(row, dict):
        raise MalformedPartnerData(where, "expected an expert object")
    codes, unit = row.get("specialtyCodes"), row.get("workUnit")
    if not isinstance(codes, list) or not codes:
        raise MalformedPartnerData(f"{where}.specialtyCodes", "expected a non-empty array of specialty codes")
    if not isinstance(unit, dict):
        raise MalformedPartnerData(f"{where}.workUnit", "expected the work unit's object")
    if row.get("expertStatus") not in ("1", "2"):
        raise MalformedPartnerData(f"{where}.expertStatus", 'expected "1" or "2"')
    relations = _objects(row, "avoidUnits", where)
    sanctions = _objects(row, "penalties", where)
    try:
        specialties = tuple(code_table("evaluation_specialty").from_city(CITY, str(code)) for code in codes)
    except CatalogError as exc:
        raise MalformedPartnerData(f"{where}.specialtyCodes", f"unknown specialty: {exc}") from exc
    try:
        return EvaluationExpert.model_validate(
            {
                "expert_id": row.get("expertNo"),
                "name": row.get("expertName"),
                "id_number": row.get("idCardNo"),
                "specialties": specialties,
                "title": row.get("proTitle") or "",
                "employer": {"name": unit.get("unitName"), "id_type": "uscc", "id_number": unit.get("creditCode")},
                "city": row.get("regionCode"),
                "available": row.get("expertStatus") == "1",
                "relations": [
                    {
                        "credit_code": item.get("creditCode"),
                        "relation": _relation(item.get("relationType"), f"{where}.avoidUnits[{index}]"),
                    }
                    for index, item in enumerate(relations)
                ],
                "sanctions": [
                    {
                        "reason": item.get("reason"),
                        "starts_on": _day(item.get("startDate"), f"{where}.penalties[{index}].startDate"),
                        "ends_on": _day(item.get("endDate"), f"{where}.penalties[{index}].endDate"),
                    }
                    for index, item in enumerate(sanctions)
                ],
            }
        )
    except ValidationError as exc:
        raise MalformedPartnerData(where, f"not an expert record: {exc.errors()[0]['msg']}") from exc


def _objects(row: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    """An expert's array of objects (absent: none), each checked to be an object."""
    items = row.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedPartnerData(f"{where}.{name}", "expected an array of objects")
    return items


def _relation(code: Any, where: str) -> str:
    try:
        return code_table("expert_relation").from_city(CITY, str(code))
    except CatalogError as exc:
        raise MalformedPartnerData(f"{where}.relationType", f"unknown relation: {exc}") from exc


def _day(raw: Any, where: str) -> date:
    return _parse(where, str(raw), _ISO_DATE, date.fromisoformat, "an ISO 8601 date (YYYY-MM-DD)")
