"""Shenzhen's wire format (REST/JSON, camelCase) to and from the canonical model, driven by catalogs/ data.

Nothing here names a Shenzhen field: the walk follows `field_map("shenzhen")` (its RecordMaps and
FieldSpecs) and translates codes with the code tables it names. Layouts:

    value   one JSON value under the spec's name, in the spec's format (text, integer, iso-date,
            iso-datetime), through the spec's code table when it has one
    flat    a nested record (Licence.holder) spread into the parent under the inner specs' names
    object  a nested record as a JSON object under the spec's name
    list    a JSON array under the spec's name of records mapped by the record's own map

Absent optional values are written as JSON null; on reading, a missing key and null both mean None.
Keys the map does not know are ignored (a tolerant reader). Anything else the map cannot read raises
MalformedPartnerData, a ValueError naming the Shenzhen field by its path (`creditRecords[0].decisionDate`).
Times go out at Shenzhen's local offset (+08:00); a naive datetime cannot be written and is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

import gateway.canonical as canonical
from catalogs import CatalogError, FieldSpec, RecordMap, code_table, field_map
from gateway.canonical import ApplicationStatus, CreditSubject, Licence, Seal, TradingProject

__all__ = ["CITY", "NOT_FOUND_CODE", "OK_CODE", "MalformedPartnerData", "ShenzhenMapping"]

CITY: Final = "shenzhen"
OK_CODE: Final = "00000"
"""The code of a successful answer in Shenzhen's envelope {"code", "message", "data"}."""
NOT_FOUND_CODE: Final = "40401"
"""The code of Shenzhen's "no such record" answer (HTTP 404)."""
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
# Any canonical record the field map has a map for (adapters._base.CanonicalRecord names the original three).
_Record = TypeVar("_Record", bound=BaseModel)


class MalformedPartnerData(ValueError):
    """A Shenzhen record the field map cannot read (or a canonical value it cannot write); names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"shenzhen field {field}: {problem}")
        self.field = field
        self.problem = problem


def _offset(text: str) -> timezone:
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if match is None:
        raise CatalogError(f"local_time_offset {text!r} is not ±HH:MM")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _model(record_name: str) -> type[BaseModel]:
    model = getattr(canonical, record_name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CatalogError(f"the field map names record {record_name!r}, which gateway.canonical lacks")
    return model


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class ShenzhenMapping:
    """Pure mapping between canonical records and Shenzhen's JSON objects; no I/O, no clock."""

    city: str = "440300"

    def __init__(self) -> None:
        self._map = field_map(CITY)
        self._tz = _offset(self._map.local_time_offset)

    # ---- canonical -> Shenzhen ---------------------------------------------------------------------

    def to_partner(self, record: Licence | CreditSubject | ApplicationStatus | Seal | TradingProject) -> dict[str, Any]:
        """The Shenzhen JSON object (a dict of JSON-ready values) for a canonical record."""
        return self._write(record, self._map.record(type(record)), "")

    def _write(self, record: BaseModel, record_map: RecordMap, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in record_map.fields.values():
            value = getattr(record, spec.canonical)
            if spec.layout == "flat":
                for inner in spec.fields.values():
                    inner_value = None if value is None else getattr(value, inner.canonical)
                    out[inner.name or ""] = self._write_value(inner_value, inner, where)
                continue
            name = spec.name or ""
            if spec.layout == "object":
                nested = self._map.record(spec.record or "")
                out[name] = None if value is None else self._write(value, nested, _path(where, name))
            elif spec.layout == "list":
                nested = self._map.record(spec.record or "")
                out[name] = [self._write(item, nested, f"{_path(where, name)}[{i}]") for i, item in enumerate(value)]
            else:
                out[name] = self._write_value(value, spec, where)
        return out

    def _write_value(self, value: Any, spec: FieldSpec, where: str) -> Any:
        if value is None:
            return None
        field = _path(where, spec.name or "")
        if spec.code_table is not None:
            try:
                value = code_table(spec.code_table).to_city(CITY, value)
            except CatalogError as exc:
                raise MalformedPartnerData(field, str(exc)) from exc
        if spec.format == "iso-date":
            return value.isoformat()
        if spec.format == "iso-datetime":
            if value.tzinfo is None or value.utcoffset() is None:
                raise MalformedPartnerData(field, "a naive datetime has no offset to send")
            return value.astimezone(self._tz).isoformat()
        if spec.format in ("integer", "text"):
            return value
        raise MalformedPartnerData(field, f"format {spec.format!r} is not a JSON format this mapping writes")

    # ---- Shenzhen -> canonical ---------------------------------------------------------------------

    def from_partner(self, data: Any, record_type: type[_Record]) -> _Record:
        """The canonical record for a Shenzhen JSON object; MalformedPartnerData names a bad field."""
        record = self._read(data, record_type, "")
        assert isinstance(record, record_type)
        return record

    def _read(self, data: Any, model: type[BaseModel], where: str) -> BaseModel:
        if not isinstance(data, dict):
            raise MalformedPartnerData(where or "<record>", f"expected a JSON object, got {type(data).__name__}")
        record_map = self._map.record(model)
        values: dict[str, Any] = {}
        for spec in record_map.fields.values():
            if spec.layout == "flat":
                inner_values = {
                    inner.canonical: self._read_value(data.get(inner.name or ""), inner, where)
                    for inner in spec.fields.values()
                }
                if any(v is not None for v in inner_values.values()):
                    values[spec.canonical] = self._build(_model(spec.record or ""), inner_values, spec.fields, where)
                continue
            name = spec.name or ""
            raw = data.get(name)
            if raw is None:
                continue
            field = _path(where, name)
            if spec.layout == "object":
                values[spec.canonical] = self._read(raw, _model(spec.record or ""), field)
            elif spec.layout == "list":
                if not isinstance(raw, list):
                    raise MalformedPartnerData(field, f"expected a JSON array, got {type(raw).__name__}")
                item_model = _model(spec.record or "")
                values[spec.canonical] = tuple(
                    self._read(item, item_model, f"{field}[{i}]") for i, item in enumerate(raw)
                )
            else:
                values[spec.canonical] = self._read_value(raw, spec, where)
        return self._build(model, values, record_map.fields, where)

    def _build(self, model: type[BaseModel], values: dict[str, Any], specs: Any, where: str) -> BaseModel:
        try:
            return model(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            error = exc.errors()[0]
            raise MalformedPartnerData(self._locate(error["loc"], specs, where), error["msg"]) from exc

    def _locate(self, loc: tuple[Any, ...], specs: Any, where: str) -> str:
        """The Shenzhen path of a pydantic error location given in canonical names."""
        if not loc:
            return where or "<record>"
        spec = specs.get(loc[0]) if isinstance(loc[0], str) else None
        if spec is None:
            return _path(where, ".".join(str(part) for part in loc))
        if spec.layout == "flat":
            if len(loc) == 1:  # the nested record as a whole: every name it is spread over
                return "/".join(_path(where, name) for name in spec.partner_names())
            return self._locate(loc[1:], spec.fields, where)
        field = _path(where, spec.name or "")
        rest = loc[1:]
        if spec.layout == "list" and rest and isinstance(rest[0], int):
            return self._locate(rest[1:], self._map.record(spec.record or "").fields, f"{field}[{rest[0]}]")
        if spec.layout == "object":
            return self._locate(rest, self._map.record(spec.record or "").fields, field)
        return field

    def _read_value(self, raw: Any, spec: FieldSpec, where: str) -> Any:
        if raw is None:
            return None
        field = _path(where, spec.name or "")
        if spec.format == "integer":
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise MalformedPartnerData(field, f"expected an integer, got {raw!r}")
            value: Any = raw
        elif not isinstance(raw, str):
            raise MalformedPartnerData(field, f"expected a string, got {raw!r}")
        elif spec.format == "iso-date":
            value = self._parse(field, raw, _ISO_DATE, date.fromisoformat, "an ISO 8601 date (YYYY-MM-DD)")
        elif spec.format == "iso-datetime":
            value = self._parse(field, raw, _ISO_DATETIME, datetime.fromisoformat, "an ISO 8601 time with offset")
        elif spec.format == "text":
            value = raw
        else:
            raise MalformedPartnerData(field, f"format {spec.format!r} is not a JSON format this mapping reads")
        if spec.code_table is not None:
            try:
                value = code_table(spec.code_table).from_city(CITY, value)
            except CatalogError as exc:
                raise MalformedPartnerData(field, str(exc)) from exc
        return value

    @staticmethod
    def _parse(field: str, raw: str, pattern: re.Pattern[str], parse: Any, what: str) -> Any:
        if not pattern.match(raw):
            raise MalformedPartnerData(field, f"expected {what}, got {raw!r}")
        try:
            return parse(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedPartnerData(field, f"expected {what}, got {raw!r}") from exc
