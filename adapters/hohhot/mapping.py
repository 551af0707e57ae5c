"""Hohhot's wire format (REST/JSON, snake_case) to and from the canonical model, driven by catalogs/ data.

Nothing here names a Hohhot field: the walk follows `field_map("hohhot")` (its RecordMaps and
FieldSpecs) and translates codes with the code tables it names. Layouts:

    value   one JSON value under the spec's name, in the spec's format, through its code table if any
    object  a nested record as a JSON object under the spec's name (Hohhot nests the holder this way)
    flat    a nested record spread into the parent under the inner specs' names
    list    a JSON array under the spec's name of records mapped by the record's own map

Formats Hohhot uses: text, integer, `yyyy-MM-dd` and `yyyy-MM-dd HH:mm:ss` (Beijing time, no offset
on the wire). Absent optional values are written as JSON null; on reading, a missing key and null
both mean None. Keys the map does not know are ignored (a tolerant reader). Anything the map cannot
read raises MalformedPartnerData, a ValueError naming the Hohhot field by its path
(`credit_records[0].decide_date`). Writing refuses what the wire cannot carry rather than lose it:
a naive datetime (no instant to convert) and a fraction of a second (the format has whole seconds).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

import gateway.canonical as canonical
from catalogs import CatalogError, FieldSpec, RecordMap, code_table, field_map

__all__ = ["CITY", "HohhotMapping", "MalformedPartnerData"]

CITY: Final = "hohhot"
_Record = TypeVar("_Record", bound=BaseModel)
_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


class MalformedPartnerData(ValueError):
    """A Hohhot record the field map cannot read (or a canonical value it cannot write); names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"hohhot field {field}: {problem}")
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


class HohhotMapping:
    """Pure mapping between canonical records and Hohhot's JSON objects; no I/O, no clock."""

    city: str = "150100"

    def __init__(self) -> None:
        self._map = field_map(CITY)
        self._tz = _offset(self._map.local_time_offset)

    # ---- canonical -> Hohhot -----------------------------------------------------------------------

    def to_partner(self, record: BaseModel) -> dict[str, Any]:
        """The Hohhot JSON object (a dict of JSON-ready values) for a canonical record."""
        return self._write(record, self._map.record(type(record)), "")

    def code_to_partner(self, table: str, canonical_code: str) -> str:
        """Hohhot's code for a canonical code (for query parameters); UnknownCode if there is none."""
        return code_table(table).to_city(CITY, canonical_code)

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
            field = _path(where, name)
            if spec.layout == "object":
                nested = self._map.record(spec.record or "")
                out[name] = None if value is None else self._write(value, nested, field)
            elif spec.layout == "list":
                nested = self._map.record(spec.record or "")
                out[name] = [self._write(item, nested, f"{field}[{i}]") for i, item in enumerate(value)]
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
        if spec.format == "yyyy-MM-dd":
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if spec.format == "yyyy-MM-dd HH:mm:ss":
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
        if spec.format in ("integer", "text"):
            return value
        raise MalformedPartnerData(field, f"format {spec.format!r} is not a format this mapping writes")

    # ---- Hohhot -> canonical -----------------------------------------------------------------------

    def from_partner(self, data: Any, record_type: type[_Record], where: str = "") -> _Record:
        """The canonical record (of any type the field map holds) for a Hohhot JSON object found at `where`;
        MalformedPartnerData names a bad field."""
        record = self._read(data, record_type, where)
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
        """The Hohhot path of a pydantic error location given in canonical names."""
        if not loc:
            return where or "<record>"
        spec = specs.get(loc[0]) if isinstance(loc[0], str) else None
        if spec is None:
            return _path(where, ".".join(str(part) for part in loc))
        if spec.layout == "flat":
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
        elif spec.format == "yyyy-MM-dd":
            value = self._date(field, raw)
        elif spec.format == "yyyy-MM-dd HH:mm:ss":
            value = self._datetime(field, raw)
        elif spec.format == "text":
            value = raw
        else:
            raise MalformedPartnerData(field, f"format {spec.format!r} is not a format this mapping reads")
        if spec.code_table is not None:
            try:
                value = code_table(spec.code_table).from_city(CITY, value)
            except CatalogError as exc:
                raise MalformedPartnerData(field, str(exc)) from exc
        return value

    @staticmethod
    def _date(field: str, raw: str) -> date:
        match = _DATE.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
        except ValueError as exc:
            raise MalformedPartnerData(field, f"expected a date as yyyy-MM-dd, got {raw!r}") from exc

    def _datetime(self, field: str, raw: str) -> datetime:
        match = _DATETIME.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            year, month, day, hour, minute, second = (int(part) for part in match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=self._tz)
        except ValueError as exc:
            raise MalformedPartnerData(field, f"expected Beijing time as yyyy-MM-dd HH:mm:ss, got {raw!r}") from exc
