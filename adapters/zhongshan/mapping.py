"""Zhongshan's XML records to and from the canonical model, driven only by the field map and code tables.

Every element name, value format and code comes from catalogs/data/field_maps/zhongshan.json
and catalogs/data/code_tables/: this module walks RecordMap/FieldSpec and knows no Zhongshan
name itself. Records travel as unqualified elements (the WSDLs say elementFormDefault
"unqualified"), so names are compared by local name.

    mapping = ZhongshanMapping()
    element = mapping.to_partner(licence)                  # <DZZZ><ZZBH>...</ZZBH>...</DZZZ>
    mapping.from_partner(element, Licence) == licence      # True

Malformed data raises ValueError (a catalogs.CatalogError where a code is unknown) naming the
Zhongshan element at fault, e.g. "DZZZ/FZRQ: '2026-01-01' is not a date as yyyyMMdd".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

from catalogs import FieldMap, FieldSpec, RecordMap, code_table, field_map
from gateway.canonical import (
    ApplicationStatus,
    ApplicationSubmission,
    CreditRecord,
    CreditSubject,
    Licence,
    Party,
    Seal,
    SubmittedMaterial,
    TradingProject,
)

__all__ = ["ZhongshanMapping"]

_MODELS: Final[dict[str, type[BaseModel]]] = {
    model.__name__: model
    for model in (
        Licence,
        Party,
        CreditSubject,
        CreditRecord,
        ApplicationStatus,
        ApplicationSubmission,
        SubmittedMaterial,
        Seal,
        TradingProject,
    )
}
# Any canonical record the field map has a map for.
_Record = TypeVar("_Record", bound=BaseModel)
_DIGITS8: Final = re.compile(r"^\d{8}$")
_DIGITS14: Final = re.compile(r"^\d{14}$")
_INTEGER: Final = re.compile(r"^-?\d+$")
_WAN_YUAN: Final = re.compile(r"^\d+(\.\d{1,4})?$")
_TEN_THOUSAND: Final = Decimal(10000)


def _local_name(element: Any) -> str:
    return str(etree.QName(element).localname)


class ZhongshanMapping:
    """PartnerMapping for Zhongshan (442000): lxml elements named and coded as its SOAP services expect."""

    city: str

    def __init__(self, fields: FieldMap | None = None) -> None:
        self._map = fields if fields is not None else field_map("zhongshan")
        self.city = "442000"
        self._tz = self._map.local_timezone

    @property
    def field_map(self) -> FieldMap:
        """The field map this mapping follows."""
        return self._map

    def element_name(self, record_type: str | type) -> str:
        """The element that carries one record of this type on Zhongshan's wire."""
        record_map = self._map.record(record_type)
        if record_map.element is None:
            raise ValueError(f"the zhongshan field map names no element for {record_map.record_type}")
        return record_map.element

    # ---- single values (request parameters) -----------------------------------------------------

    def _spec_at(self, record_type: str | type, path: str) -> FieldSpec:
        first, _, rest = path.partition(".")
        spec = self._map.record(record_type).field(first)
        if rest:
            if spec.layout != "flat" or rest not in spec.fields:
                raise ValueError(f"{path}: not a value of {record_type} in the zhongshan field map")
            spec = spec.fields[rest]
        if spec.layout != "value" or spec.name is None:
            raise ValueError(f"{path}: not a single value of {record_type}")
        return spec

    def value_name(self, record_type: str | type, path: str) -> str:
        """Zhongshan's element name for one canonical value ("licence_number" -> "ZZBH")."""
        name = self._spec_at(record_type, path).name
        assert name is not None
        return name

    def value_to_partner(self, record_type: str | type, path: str, value: Any) -> str:
        """One canonical value as Zhongshan writes it (its code, its date format)."""
        return self._render(self._spec_at(record_type, path), value)

    def value_from_partner(self, record_type: str | type, path: str, text: str) -> Any:
        """One Zhongshan value as its canonical value; ValueError naming the element."""
        spec = self._spec_at(record_type, path)
        try:
            return self._parse_text(spec, text.strip())
        except ValueError as exc:
            raise ValueError(f"{spec.name}: {exc}") from None

    # ---- canonical -> Zhongshan ------------------------------------------------------------------

    def to_partner(self, record: Licence | CreditSubject | ApplicationStatus | BaseModel) -> Any:
        """The record as a Zhongshan element: the field map's element names, formats and codes."""
        record_map = self._map.record(type(record).__name__)
        return self._build(record, record_map, self.element_name(record_map.record_type))

    def _build(self, record: BaseModel, record_map: RecordMap, tag: str) -> Any:
        element = etree.Element(tag)
        for spec in record_map.fields.values():
            value = getattr(record, spec.canonical)
            if spec.layout == "flat":
                for inner in spec.fields.values():
                    self._append_value(element, inner, getattr(value, inner.canonical))
            elif spec.layout == "value":
                self._append_value(element, spec, value)
            elif value is None:
                continue
            elif spec.layout == "object":
                assert spec.name is not None and spec.record is not None
                element.append(self._build(value, self._map.record(spec.record), spec.name))
            else:  # list
                assert spec.name is not None and spec.record is not None
                container = etree.SubElement(element, spec.name)
                item_map = self._map.record(spec.record)
                item_tag = spec.item or self.element_name(spec.record)
                for item in value:
                    container.append(self._build(item, item_map, item_tag))
        return element

    def _append_value(self, parent: Any, spec: FieldSpec, value: Any) -> None:
        if value is None:
            return
        assert spec.name is not None
        etree.SubElement(parent, spec.name).text = self._render(spec, value)

    def _render(self, spec: FieldSpec, value: Any) -> str:
        if spec.code_table is not None:
            value = code_table(spec.code_table).to_city(self._map.city, value)
        fmt = spec.format
        if fmt == "yyyyMMdd":
            return f"{value.year:04d}{value.month:02d}{value.day:02d}"
        if fmt == "yyyy-MM-dd" or fmt == "iso-date":
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if fmt in ("yyyyMMddHHmmss", "yyyy-MM-dd HH:mm:ss"):
            if value.tzinfo is None:
                raise ValueError(f"{spec.name}: a date and time needs its UTC offset")
            local = value.astimezone(self._tz)
            return local.strftime("%Y%m%d%H%M%S" if fmt == "yyyyMMddHHmmss" else "%Y-%m-%d %H:%M:%S")
        if fmt == "iso-datetime":
            return str(value.isoformat())
        if fmt == "wan-yuan":
            amount = Decimal(int(value)) / _TEN_THOUSAND
            return format(amount.normalize(), "f") if amount else "0"
        if fmt == "integer":
            return str(int(value))
        return str(value)

    # ---- Zhongshan -> canonical ------------------------------------------------------------------

    def from_partner(self, data: Any, record_type: type[_Record]) -> _Record:
        """The canonical record from a Zhongshan element; ValueError naming the element at fault."""
        record_map = self._map.record(record_type)
        expected = self.element_name(record_map.record_type)
        if not etree.iselement(data) or not isinstance(data.tag, str):
            raise ValueError(f"{expected}: expected an XML element")
        if _local_name(data) != expected:
            raise ValueError(f"{_local_name(data)}: expected the element {expected}")
        record = self._read(data, record_map, expected)
        assert isinstance(record, record_type)
        return record

    def _read(self, element: Any, record_map: RecordMap, path: str) -> BaseModel:
        children = self._children(element, record_map, path)
        values: dict[str, Any] = {}
        for spec in record_map.fields.values():
            if spec.layout == "flat":
                values[spec.canonical] = {
                    inner.canonical: self._parse(inner, children.get(inner.name or ""), path)
                    for inner in spec.fields.values()
                }
                values[spec.canonical] = {k: v for k, v in values[spec.canonical].items() if v is not None}
                continue
            child = children.get(spec.name or "")
            if child is None:
                continue
            where = f"{path}/{spec.name}"
            assert spec.record is not None or spec.layout == "value"
            if spec.layout == "value":
                parsed = self._parse(spec, child, path)
                if parsed is not None:
                    values[spec.canonical] = parsed
            elif spec.layout == "object":
                assert spec.record is not None
                values[spec.canonical] = self._read(child, self._map.record(spec.record), where)
            else:
                assert spec.record is not None
                item_map = self._map.record(spec.record)
                item_tag = spec.item or self.element_name(spec.record)
                items = []
                if child.text is not None and child.text.strip():
                    raise ValueError(f"{where}: a list holds elements, not text")
                for index, item in enumerate(child, start=1):
                    item_where = f"{where}/{item_tag}[{index}]"
                    if not isinstance(item.tag, str) or _local_name(item) != item_tag:
                        raise ValueError(f"{where}: expected only {item_tag} elements, found {_local_name(item)}")
                    items.append(self._read(item, item_map, item_where))
                values[spec.canonical] = tuple(items)
        model = _MODELS[record_map.record_type]
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            raise ValueError(self._explain(exc, record_map, path)) from None

    def _children(self, element: Any, record_map: RecordMap, path: str) -> dict[str, Any]:
        allowed = set(record_map.partner_names())
        found: dict[str, Any] = {}
        if element.text is not None and element.text.strip():
            raise ValueError(f"{path}: a record holds elements, not text")
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = _local_name(child)
            if name not in allowed:
                raise ValueError(f"{path}/{name}: not a field of {record_map.record_type}")
            if name in found:
                raise ValueError(f"{path}/{name}: appears more than once")
            found[name] = child
        return found

    def _parse(self, spec: FieldSpec, child: Any, path: str) -> Any:
        if child is None:
            return None
        where = f"{path}/{spec.name}"
        if len(child):
            raise ValueError(f"{where}: holds elements where a value belongs")
        text = (child.text or "").strip()
        if not text:
            return None
        try:
            value = self._parse_text(spec, text)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return value

    def _parse_text(self, spec: FieldSpec, text: str) -> Any:
        fmt = spec.format
        value: Any = text
        if fmt == "yyyyMMdd":
            if not _DIGITS8.match(text):
                raise ValueError(f"{text!r} is not a date as yyyyMMdd")
            value = self._date(text)
        elif fmt == "yyyyMMddHHmmss":
            if not _DIGITS14.match(text):
                raise ValueError(f"{text!r} is not a date and time as yyyyMMddHHmmss")
            value = self._datetime(text, "%Y%m%d%H%M%S")
        elif fmt == "yyyy-MM-dd HH:mm:ss":
            value = self._datetime(text, "%Y-%m-%d %H:%M:%S")
        elif fmt in ("yyyy-MM-dd", "iso-date"):
            value = date.fromisoformat(text)
        elif fmt == "iso-datetime":
            value = datetime.fromisoformat(text)
        elif fmt == "wan-yuan":
            if not _WAN_YUAN.match(text):
                raise ValueError(f"{text!r} is not an amount in 万元 (at most four decimal places)")
            try:
                value = int(Decimal(text) * _TEN_THOUSAND)
            except InvalidOperation:
                raise ValueError(f"{text!r} is not an amount in 万元") from None
        elif fmt == "integer":
            if not _INTEGER.match(text):
                raise ValueError(f"{text!r} is not an integer")
            value = int(text)
        if spec.code_table is not None:
            value = code_table(spec.code_table).from_city(self._map.city, value)
        return value

    @staticmethod
    def _date(text: str) -> date:
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            raise ValueError(f"{text!r} is not a calendar date") from None

    def _datetime(self, text: str, pattern: str) -> datetime:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=self._tz)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date and time") from None

    @staticmethod
    def _explain(exc: ValidationError, record_map: RecordMap, path: str) -> str:
        problems = []
        for error in exc.errors():
            loc = error.get("loc", ())
            canonical = str(loc[0]) if loc else ""
            names = record_map.fields[canonical].partner_names() if canonical in record_map.fields else ()
            if len(loc) > 1 and canonical in record_map.fields and record_map.fields[canonical].layout == "flat":
                inner = record_map.fields[canonical].fields.get(str(loc[1]))
                names = inner.partner_names() if inner is not None else names
            where = "/".join(names) or record_map.record_type
            problems.append(f"{path}/{where}: {error.get('msg', 'invalid')}")
        return "; ".join(problems)
