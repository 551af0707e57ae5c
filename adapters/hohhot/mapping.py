"""Hohhot's wire format (REST/JSON, snake_case) to and from the canonical model, driven by catalogs/ data.

The walk over `field_map("hohhot")` is the REST/JSON cities' shared one (adapters/_json_mapping.py:
layouts value, flat, object, list; JSON null for absent values; a tolerant reader). What is Hohhot's:
its formats text, integer, `yyyy-MM-dd` and `yyyy-MM-dd HH:mm:ss` (Beijing time, no offset on the
wire), the holder nested as an object, and MalformedPartnerData, a ValueError naming the Hohhot field
by its path (`credit_records[0].decide_date`). Writing refuses what the wire cannot carry rather than
lose it: a naive datetime (no instant to convert) and a fraction of a second (the format has whole seconds).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final

from pydantic import ValidationError

from adapters._json_mapping import JsonMapping, MalformedRecord
from catalogs import CatalogError, code_table, field_map
from gateway.canonical import EvaluationExpert

__all__ = ["CITY", "expert_from_partner", "HohhotMapping", "MalformedPartnerData"]

CITY: Final = "hohhot"
_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


class MalformedPartnerData(MalformedRecord):
    """A Hohhot record the field map cannot read (or a canonical value it cannot write); names the field."""

    city = CITY


class HohhotMapping(JsonMapping):
    """Pure mapping between canonical records and Hohhot's JSON objects; no I/O, no clock."""

    city: str = "150100"

    def __init__(self) -> None:
        super().__init__(field_map(CITY), MalformedPartnerData)

    def _write_formatted(self, value: Any, fmt: str, field: str) -> str:
        if fmt == "yyyy-MM-dd":
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if fmt == "yyyy-MM-dd HH:mm:ss":
            if value.tzinfo is None or value.utcoffset() is None:
                raise MalformedPartnerData(field, "a naive datetime has no instant to send in Beijing time")
            if value.microsecond:
                raise MalformedPartnerData(
                    field, "yyyy-MM-dd HH:mm:ss carries whole seconds; refusing to drop a fraction"
                )
            local = value.astimezone(self._tz)
            return (
                f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
                f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
            )
        return super()._write_formatted(value, fmt, field)

    def _read_formatted(self, raw: str, fmt: str, field: str) -> Any:
        if fmt == "yyyy-MM-dd":
            return _date(field, raw)
        if fmt == "yyyy-MM-dd HH:mm:ss":
            return self._datetime(field, raw)
        return super()._read_formatted(raw, fmt, field)

    def _datetime(self, field: str, raw: str) -> datetime:
        match = _DATETIME.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            year, month, day, hour, minute, second = (int(part) for part in match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=self._tz)
        except ValueError as exc:
            raise MalformedPartnerData(field, f"expected Beijing time as yyyy-MM-dd HH:mm:ss, got {raw!r}") from exc


def _date(field: str, raw: str) -> date:
    match = _DATE.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        year, month, day = (int(part) for part in match.groups())
        return date(year, month, day)
    except ValueError as exc:
        raise MalformedPartnerData(field, f"expected a date as yyyy-MM-dd, got {raw!r}") from exc


def expert_from_partner(row: Any, where: str = "data") -> EvaluationExpert:
    """An expert of Hohhot's pool (评标专家库) from its row: Hohhot's specialty codes become canonical ones."""
    if not isinstance(row, dict):
        raise MalformedPartnerData(where, "expected an expert object")
    listed = row.get("specialty_list")
    if not isinstance(listed, list) or not listed:
        raise MalformedPartnerData(f"{where}.specialty_list", "expected a non-empty array of specialties")
    specialties = code_table("evaluation_specialty")
    try:
        codes = tuple(specialties.from_city(CITY, str(item.get("specialty_code"))) for item in listed)
    except (AttributeError, CatalogError) as exc:
        raise MalformedPartnerData(f"{where}.specialty_list", f"unknown specialty: {exc}") from exc
    if row.get("available_flag") not in ("0", "1"):
        raise MalformedPartnerData(f"{where}.available_flag", 'expected "0" or "1"')
    relations = _listed(row, "avoid_unit_list", where)
    sanctions = _listed(row, "punish_list", where)
    try:
        return EvaluationExpert.model_validate(
            {
                "expert_id": row.get("expert_code"),
                "name": row.get("expert_name"),
                "id_number": row.get("cert_num"),
                "specialties": codes,
                "title": row.get("prof_title") or "",
                "employer": {
                    "name": row.get("work_unit"),
                    "id_type": "uscc",
                    "id_number": row.get("work_unit_credit_code"),
                },
                "city": row.get("division_code"),
                "available": row.get("available_flag") == "1",
                "relations": [
                    {
                        "credit_code": item.get("unit_credit_code"),
                        "relation": _relation(item.get("relation_type"), f"{where}.avoid_unit_list[{index}]"),
                    }
                    for index, item in enumerate(relations)
                ],
                "sanctions": [
                    {
                        "reason": item.get("punish_reason"),
                        "starts_on": _date(
                            f"{where}.punish_list[{index}].punish_start_date", str(item.get("punish_start_date"))
                        ),
                        "ends_on": _date(
                            f"{where}.punish_list[{index}].punish_end_date", str(item.get("punish_end_date"))
                        ),
                    }
                    for index, item in enumerate(sanctions)
                ],
            }
        )
    except ValidationError as exc:
        raise MalformedPartnerData(where, f"not an expert record: {exc.errors()[0]['msg']}") from exc


def _listed(row: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    """An expert's list of objects (absent: none), each checked to be an object."""
    items = row.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedPartnerData(f"{where}.{name}", "expected an array of objects")
    return items


def _relation(code: Any, where: str) -> str:
    try:
        return code_table("expert_relation").from_city(CITY, str(code))
    except CatalogError as exc:
        raise MalformedPartnerData(f"{where}.relation_type", f"unknown relation: {exc}") from exc
