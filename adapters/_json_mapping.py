"""The field-map-driven walk the REST/JSON cities share: canonical records to JSON objects and back.

Nothing here names a city's field: the walk follows the city's FieldMap (its RecordMaps and FieldSpecs)
and translates codes with the code tables it names. Layouts:

    value   one JSON value under the spec's name, in the spec's format, through its code table if any
    flat    a nested record (Licence.holder) spread into the parent under the inner specs' names
    object  a nested record as a JSON object under the spec's name
    list    a JSON array under the spec's name of records mapped by the record's own map

The formats text and integer are JSON's own. Every other format (a city's dates and times) is a string
that the city's mapping, a subclass of JsonMapping, writes and reads in `_write_formatted` and
`_read_formatted`; that, its FieldMap and its MalformedRecord subclass are all a city adds.

Absent optional values are written as JSON null; on reading, a missing key and null both mean None.
Keys the map does not know are ignored (a tolerant reader). Anything else the map cannot read raises
the city's MalformedRecord, a ValueError naming the wire field by its path (`creditRecords[0].decisionDate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

import gateway.canonical as canonical
from catalogs import CatalogError, FieldMap, FieldSpec, RecordMap, code_table

__all__ = ["JsonMapping", "MalformedRecord"]

# Any canonical record the field map has a map for.
_Record = TypeVar("_Record", bound=BaseModel)


class MalformedRecord(ValueError):
    """A city's record its field map cannot read (or a canonical value it cannot write); names the wire field."""

    city: ClassVar[str]  # the field map's name of the city, which starts the message ("shenzhen")

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{self.city} field {field}: {problem}")
        self.field = field
        self.problem = problem


def _model(record_name: str) -> type[BaseModel]:
    model = getattr(canonical, record_name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CatalogError(f"the field map names record {record_name!r}, which gateway.canonical lacks")
    return model


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class JsonMapping:
    """Pure mapping between canonical records and one city's JSON objects; no I/O, no clock."""

    def __init__(self, field_map: FieldMap, malformed: type[MalformedRecord]) -> None:
        if malformed.city != field_map.city:
            raise CatalogError(f"{malformed.__name__} names city {malformed.city!r}, the map {field_map.city!r}")
        self._map = field_map
        self._malformed = malformed
        self._tz = field_map.local_timezone  # the city's local time, for its time formats

    @property
    def field_map(self) -> FieldMap:
        return self._map

    # ---- what a city's mapping adds: its string formats ----------------------------------------------

    def _write_formatted(self, value: Any, fmt: str, field: str) -> str:
        """A canonical value as a string in one of the city's formats (a date or a time)."""
        raise self._malformed(field, f"format {fmt!r} is not a JSON format this mapping writes")

    def _read_formatted(self, raw: str, fmt: str, field: str) -> Any:
        """The canonical value of a string in one of the city's formats (a date or a time)."""
        raise self._malformed(field, f"format {fmt!r} is not a JSON format this mapping reads")

    # ---- canonical -> city -----------------------------------------------------------------------------

    def to_partner(self, record: BaseModel) -> dict[str, Any]:
        """The city's JSON object (a dict of JSON-ready values) for a canonical record."""
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
                value = code_table(spec.code_table).to_city(self._map.city, value)
            except CatalogError as exc:
                raise self._malformed(field, str(exc)) from exc
        if spec.format in ("integer", "text"):
            return value
        return self._write_formatted(value, spec.format, field)

    # ---- city -> canonical -----------------------------------------------------------------------------

    def from_partner(self, data: Any, record_type: type[_Record], where: str = "") -> _Record:
        """The canonical record (of any type the field map holds) for the city's JSON object found at `where`;
        the city's MalformedRecord names a bad field."""
        record = self._read(data, record_type, where)
        assert isinstance(record, record_type)
        return record

    def _read(self, data: Any, model: type[BaseModel], where: str) -> BaseModel:
        if not isinstance(data, dict):
            raise self._malformed(where or "<record>", f"expected a JSON object, got {type(data).__name__}")
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
                    raise self._malformed(field, f"expected a JSON array, got {type(raw).__name__}")
                item_model = _model(spec.record or "")
                values[spec.canonical] = tuple(
                    self._read(item, item_model, f"{field}[{i}]") for i, item in enumerate(raw)
                )
            else:
                values[spec.canonical] = self._read_value(raw, spec, where)
        return self._build(model, values, record_map.fields, where)

    def _build(
        self, model: type[BaseModel], values: dict[str, Any], specs: Mapping[str, FieldSpec], where: str
    ) -> BaseModel:
        try:
            return model(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            error = exc.errors()[0]
            raise self._malformed(self._locate(error["loc"], specs, where), error["msg"]) from exc

    def _locate(self, loc: tuple[Any, ...], specs: Mapping[str, FieldSpec], where: str) -> str:
        """The city's path of a pydantic error location given in canonical names."""
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
                raise self._malformed(field, f"expected an integer, got {raw!r}")
            value: Any = raw
        elif not isinstance(raw, str):
            raise self._malformed(field, f"expected a string, got {raw!r}")
        elif spec.format == "text":
            value = raw
        else:
            value = self._read_formatted(raw, spec.format, field)
        if spec.code_table is not None:
            try:
                value = code_table(spec.code_table).from_city(self._map.city, value)
            except CatalogError as exc:
                raise self._malformed(field, str(exc)) from exc
        return value
