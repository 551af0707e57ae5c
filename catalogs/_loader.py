"""Typed, cached access to the catalogue's data: regions, cities, code tables and field maps.

Everything is read from package data with importlib.resources (catalogs/data/...), so it works
from a source tree, an editable install and an installed wheel alike. Each file is parsed and
checked once, on first use; the objects handed out are immutable and shared.

Code tables translate a field's codes between the canonical model and each city:

    table = code_table("licence_status")
    table.to_city("zhongshan", "revoked")      # "DX"
    table.from_city("shenzhen", "03")          # "revoked"

Field maps say, per canonical record type, what each city calls each field, how its values are
written (`format`) and which code table translates them:

    spec = field_map("zhongshan").record("Licence").field("issued_on")
    spec.name, spec.format                     # ("FZRQ", "yyyyMMdd")

A city is named by its id ("shenzhen") or its GB/T 2260 code ("440300") wherever one is asked for.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal

from catalogs._errors import CatalogDataError, InvalidCode, UnknownCode

__all__ = [
    "FORMATS",
    "City",
    "CodeTable",
    "FieldMap",
    "FieldSpec",
    "RecordMap",
    "Region",
    "Service",
    "cities",
    "city",
    "code_table",
    "code_table_names",
    "field_map",
    "region",
    "regions",
]

Layout = Literal["value", "flat", "object", "list"]

FORMATS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "text": "a string, passed as is",
        "integer": "an integer (a JSON number, or decimal digits in XML)",
        "wan-yuan": "a decimal string in units of 10,000 yuan (万元), at most four decimal places",
        "iso-date": "ISO 8601 calendar date, YYYY-MM-DD",
        "iso-datetime": "RFC 3339 date and time with its UTC offset",
        "yyyyMMdd": "a date as eight digits, no separators",
        "yyyyMMddHHmmss": "a local date and time (at the city's offset) as fourteen digits",
        "yyyy-MM-dd": "a date with hyphens",
        "yyyy-MM-dd HH:mm:ss": "a local date and time (at the city's offset), a space between date and time",
    }
)
"""The value formats a field map may name, each with what it means on the wire."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REGION = re.compile(r"^[1-8]\d{5}$")
_LAYOUTS: Final = frozenset({"value", "flat", "object", "list"})


# ---- reading package data ------------------------------------------------------------------------


def _data_dir() -> Any:
    return resources.files("catalogs") / "data"


def _read_json(*parts: str) -> Any:
    resource = _data_dir()
    for part in parts:
        resource = resource / part
    where = "catalogs/data/" + "/".join(parts)
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogDataError(f"{where} is missing") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogDataError(f"{where} is not valid JSON: {exc}") from exc


def _need(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise CatalogDataError(f"{where}: {problem}")


def _str(value: object, where: str, what: str) -> str:
    _need(isinstance(value, str) and bool(value), where, f"{what} must be a non-empty string")
    assert isinstance(value, str)
    return value


def _obj(value: object, where: str, what: str) -> dict[str, Any]:
    _need(isinstance(value, dict), where, f"{what} must be an object")
    assert isinstance(value, dict)
    return value


# ---- regions (GB/T 2260) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Region:
    """A GB/T 2260 administrative division: its six-digit code, name and the code it belongs to."""

    code: str
    name: str
    parent: str | None

    @property
    def level(self) -> Literal["province", "prefecture", "county"]:
        """Province-level (xx0000), prefecture-level (xxxx00) or county-level division."""
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "prefecture"
        return "county"


@cache
def _regions() -> Mapping[str, Region]:
    where = "catalogs/data/regions.json"
    data = _obj(_read_json("regions.json"), where, "the file")
    _need("GB/T 2260" in str(data.get("source", "")), where, "source must name GB/T 2260")
    found: dict[str, Region] = {}
    for raw in data.get("regions", []):
        entry = _obj(raw, where, "a region")
        code = _str(entry.get("code"), where, "code")
        _need(bool(_REGION.match(code)), where, f"{code!r} is not a six-digit GB/T 2260 code")
        _need(code not in found, where, f"{code} appears twice")
        parent = entry.get("parent")
        _need(parent is None or isinstance(parent, str), where, f"{code}: parent must be a code or null")
        found[code] = Region(code, _str(entry.get("name"), where, f"{code} name"), parent)
    for item in found.values():
        if item.parent is not None:
            _need(item.parent in found, where, f"{item.code}: parent {item.parent} is not listed")
            _need(item.parent != item.code, where, f"{item.code} is its own parent")
    return MappingProxyType(found)


def region(code: str) -> Region:
    """The GB/T 2260 division with this code; InvalidCode if malformed, UnknownCode if not listed."""
    if not isinstance(code, str) or not _REGION.match(code):
        raise InvalidCode(f"region code {code!r} is not a GB/T 2260 code (six digits, the first 1-8)")
    try:
        return _regions()[code]
    except KeyError:
        raise UnknownCode(f"region code {code} is not in the catalogue's GB/T 2260 list") from None


def regions(parent: str | None = None) -> tuple[Region, ...]:
    """Every listed division, or only the direct children of `parent`, in code order."""
    if parent is not None:
        region(parent)
    return tuple(r for r in _regions().values() if parent is None or r.parent == parent)


# ---- cities --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class City:
    """A partner city: its id in code tables and field maps, GB/T 2260 code and name."""

    id: str
    region: str
    name: str


@cache
def _cities() -> tuple[City, ...]:
    where = "catalogs/data/cities.json"
    data = _obj(_read_json("cities.json"), where, "the file")
    found: list[City] = []
    for raw in data.get("cities", []):
        entry = _obj(raw, where, "a city")
        ident = _str(entry.get("id"), where, "id")
        _need(bool(_NAME.match(ident)), where, f"city id {ident!r} must be lower-case letters, digits, _")
        code = _str(entry.get("region"), where, f"{ident} region")
        try:
            region(code)
        except (InvalidCode, UnknownCode) as exc:
            raise CatalogDataError(f"{where}: {ident}: {exc}") from exc
        found.append(City(ident, code, _str(entry.get("name"), where, f"{ident} name")))
    _need(len({c.id for c in found}) == len(found), where, "a city id appears twice")
    _need(len({c.region for c in found}) == len(found), where, "a region appears twice")
    return tuple(found)


def cities() -> tuple[City, ...]:
    """The partner cities, in the order cities.json lists them."""
    return _cities()


def city(key: str) -> City:
    """The city with this id ("zhongshan") or GB/T 2260 code ("442000")."""
    for item in _cities():
        if key in (item.id, item.region):
            return item
    known = ", ".join(f"{c.id} ({c.region})" for c in _cities())
    raise UnknownCode(f"no city {key!r}; the catalogue knows {known}")


# ---- code tables ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    canonical: str
    label: str
    codes: Mapping[str, tuple[str, str]]  # city id -> (city code, city label)


class CodeTable:
    """One code table: canonical codes and, for each city, that city's code and label for each."""

    __slots__ = ("_by_canonical", "_from_city", "cities", "description", "name")

    name: str
    description: str
    cities: tuple[str, ...]
    _by_canonical: Mapping[str, _Entry]
    _from_city: Mapping[str, Mapping[str, str]]

    def __init__(self, name: str, description: str, cities: tuple[str, ...], entries: tuple[_Entry, ...]) -> None:
        where = f"code table {name}"
        _need(len(entries) > 0, where, "no entries")
        by_canonical: dict[str, _Entry] = {}
        from_city: dict[str, dict[str, str]] = {c: {} for c in cities}
        for entry in entries:
            _need(entry.canonical not in by_canonical, where, f"canonical code {entry.canonical!r} appears twice")
            _need(
                set(entry.codes) == set(cities),
                where,
                f"{entry.canonical!r} must have a code for exactly the cities {', '.join(cities)}",
            )
            by_canonical[entry.canonical] = entry
            for city_id, (code, _label) in entry.codes.items():
                other = from_city[city_id].get(code)
                _need(
                    other is None, where, f"{city_id} code {code!r} stands for both {other!r} and {entry.canonical!r}"
                )
                from_city[city_id][code] = entry.canonical
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "cities", cities)
        object.__setattr__(self, "_by_canonical", MappingProxyType(by_canonical))
        object.__setattr__(self, "_from_city", MappingProxyType({c: MappingProxyType(m) for c, m in from_city.items()}))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CodeTable is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"CodeTable({self.name!r}, {len(self._by_canonical)} codes, cities={self.cities!r})"

    def __contains__(self, canonical_code: object) -> bool:
        return canonical_code in self._by_canonical

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_canonical)

    def __len__(self) -> int:
        return len(self._by_canonical)

    @property
    def canonical_codes(self) -> tuple[str, ...]:
        """The canonical codes, in the table's order."""
        return tuple(self._by_canonical)

    def _city_id(self, key: str) -> str:
        city_id = city(key).id
        if city_id not in self.cities:
            raise UnknownCode(f"code table {self.name!r} has no codes for city {city_id!r}")
        return city_id

    def _entry(self, canonical_code: str) -> _Entry:
        try:
            return self._by_canonical[canonical_code]
        except (KeyError, TypeError):
            raise UnknownCode(f"code table {self.name!r} has no canonical code {canonical_code!r}") from None

    def to_city(self, city: str, canonical_code: str) -> str:
        """The city's code for a canonical code; UnknownCode if the table has none."""
        city_id = self._city_id(city)
        return self._entry(canonical_code).codes[city_id][0]

    def from_city(self, city: str, city_code: str) -> str:
        """The canonical code for a city's code; UnknownCode if the city has no such code."""
        city_id = self._city_id(city)
        try:
            return self._from_city[city_id][city_code]
        except (KeyError, TypeError):
            raise UnknownCode(f"code table {self.name!r} has no {city_id} code {city_code!r}") from None

    def label(self, canonical_code: str, city: str | None = None) -> str:
        """The canonical label (Chinese) of a code, or the city's own label for it when a city is given."""
        entry = self._entry(canonical_code)
        if city is None:
            return entry.label
        return entry.codes[self._city_id(city)][1]

    def city_codes(self, city: str) -> Mapping[str, str]:
        """The city's codes, each mapped to its canonical code."""
        return self._from_city[self._city_id(city)]


def code_table_names() -> tuple[str, ...]:
    """The names of every code table shipped, sorted."""
    return _code_table_names()


@cache
def _code_table_names() -> tuple[str, ...]:
    folder = _data_dir() / "code_tables"
    return tuple(sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json")))


@cache
def code_table(name: str) -> CodeTable:
    """The code table with this name (licence_type, licence_status, ...); UnknownCode if there is none."""
    if not isinstance(name, str) or name not in _code_table_names():
        raise UnknownCode(f"no code table {name!r}; the catalogue has {', '.join(_code_table_names())}")
    where = f"catalogs/data/code_tables/{name}.json"
    data = _obj(_read_json("code_tables", f"{name}.json"), where, "the file")
    _need(data.get("name") == name, where, f"name must be {name!r}")
    table_cities = tuple(_str(c, where, "a city") for c in data.get("cities", []))
    _need(len(table_cities) > 0, where, "cities must list the cities the table covers")
    for city_id in table_cities:
        try:
            _need(city(city_id).id == city_id, where, f"{city_id!r} must be a city id")
        except UnknownCode as exc:
            raise CatalogDataError(f"{where}: {exc}") from exc
    entries: list[_Entry] = []
    for raw in data.get("entries", []):
        entry = _obj(raw, where, "an entry")
        canonical = _str(entry.get("canonical"), where, "canonical")
        _need(bool(_NAME.match(canonical)), where, f"canonical code {canonical!r} must be lower_snake_case")
        codes: dict[str, tuple[str, str]] = {}
        for key, value in entry.items():
            if key in ("canonical", "label"):
                continue
            own = _obj(value, where, f"{canonical}.{key}")
            codes[key] = (
                _str(own.get("code"), where, f"{canonical}.{key}.code"),
                _str(own.get("label"), where, "label"),
            )
        entries.append(
            _Entry(canonical, _str(entry.get("label"), where, f"{canonical} label"), MappingProxyType(codes))
        )
    try:
        return CodeTable(name, str(data.get("description", "")), table_cities, tuple(entries))
    except CatalogDataError as exc:
        raise CatalogDataError(f"{where}: {exc}") from None


# ---- field maps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one canonical field travels to and from a city.

    layout "value":  a value under `name`, written in `format`, translated by `code_table` if set;
    layout "flat":   a nested canonical record (e.g. Licence.holder) spread into the parent, each of
                     its fields under its own name in `fields`;
    layout "object": a nested record under `name`, mapped by the city's map of `record`;
    layout "list":   a list under `name` of `record`s mapped by the city's map of that record, each
                     element named `item` where the wire needs one (XML).
    """

    canonical: str
    name: str | None
    format: str = "text"
    code_table: str | None = None
    layout: Layout = "value"
    record: str | None = None
    item: str | None = None
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: MappingProxyType({}))

    def partner_names(self) -> tuple[str, ...]:
        """The names this field occupies in the partner's record (several for a flat record)."""
        if self.layout == "flat":
            return tuple(n for spec in self.fields.values() for n in spec.partner_names())
        assert self.name is not None
        return (self.name,)


@dataclass(frozen=True, slots=True)
class RecordMap:
    """A city's names for one canonical record type (Licence, Party, CreditSubject, ...)."""

    record_type: str
    fields: Mapping[str, FieldSpec]
    element: str | None = None  # the record's own element name, where the wire needs one (XML)

    def field(self, canonical: str) -> FieldSpec:
        """The spec of one canonical field; UnknownCode if this map has none."""
        try:
            return self.fields[canonical]
        except KeyError:
            raise UnknownCode(f"{self.record_type} has no field {canonical!r} in this map") from None

    def partner_names(self) -> tuple[str, ...]:
        """Every name the record occupies on the wire, flat records spread out, in field order."""
        return tuple(n for spec in self.fields.values() for n in spec.partner_names())

    def canonical_path(self, partner_name: str) -> tuple[str, ...]:
        """Where a partner's name lands in the canonical record: ("issued_on",) or ("holder", "name")."""
        for spec in self.fields.values():
            if spec.layout == "flat":
                for inner in spec.fields.values():
                    if partner_name in inner.partner_names():
                        return (spec.canonical, inner.canonical)
            elif spec.name == partner_name:
                return (spec.canonical,)
        raise UnknownCode(f"{self.record_type} has no field named {partner_name!r} in this map")


@dataclass(frozen=True, slots=True)
class Service:
    """A partner service named in a field map, with the character encoding of its payloads."""

    name: str
    title: str
    encoding: str
    records: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Everything about one city's wire format that is data: protocol, encodings, names, formats."""

    city: str
    description: str
    protocol: str
    media_type: str
    encoding: str
    naming: str
    local_time_offset: str
    services: Mapping[str, Service]
    records: Mapping[str, RecordMap]

    @property
    def local_timezone(self) -> timezone:
        """The city's local time, for its time formats (local_time_offset, ±HH:MM)."""
        match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", self.local_time_offset)
        if match is None:
            raise CatalogDataError(f"{self.city}: local_time_offset {self.local_time_offset!r} is not ±HH:MM")
        sign = -1 if match.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))

    def record(self, record_type: str | type) -> RecordMap:
        """The map of one canonical record type, by name ("Licence") or by the model class itself."""
        name = record_type if isinstance(record_type, str) else record_type.__name__
        try:
            return self.records[name]
        except KeyError:
            raise UnknownCode(f"the {self.city} field map has no record type {name!r}") from None

    def service(self, name: str) -> Service:
        """One of the city's services by name; UnknownCode if the map names no such service."""
        try:
            return self.services[name]
        except KeyError:
            raise UnknownCode(f"the {self.city} field map has no service {name!r}") from None

    def encoding_for(self, service: str) -> str:
        """The character encoding of a service's payloads (GB18030 for some Zhongshan services)."""
        return self.service(service).encoding

    @property
    def gb18030_services(self) -> tuple[str, ...]:
        """The services whose payloads are GB18030-encoded."""
        return tuple(s.name for s in self.services.values() if s.encoding.upper() == "GB18030")


_SPEC_KEYS = frozenset({"name", "format", "code_table", "layout", "record", "item", "fields"})


def _field_spec(canonical: str, raw: object, where: str, record_types: frozenset[str]) -> FieldSpec:
    spec = _obj(raw, where, canonical)
    unknown = sorted(set(spec) - _SPEC_KEYS)
    _need(not unknown, where, f"{canonical}: unknown keys {unknown}")
    layout = spec.get("layout", "value")
    _need(layout in _LAYOUTS, where, f"{canonical}: layout must be one of {sorted(_LAYOUTS)}")
    fmt = spec.get("format", "text")
    _need(fmt in FORMATS, where, f"{canonical}: format {fmt!r} is not one of {sorted(FORMATS)}")
    table = spec.get("code_table")
    if table is not None:
        _need(table in _code_table_names(), where, f"{canonical}: no code table {table!r}")
    record = spec.get("record")
    if layout == "value":
        _need(record is None and "fields" not in spec, where, f"{canonical}: a value has no record or fields")
        return FieldSpec(canonical, _str(spec.get("name"), where, f"{canonical}.name"), fmt, table)
    _need(record in record_types, where, f"{canonical}: layout {layout} needs a record type of this map")
    _need(fmt == "text" and table is None, where, f"{canonical}: a nested record has no format or code table")
    if layout == "flat":
        _need("name" not in spec, where, f"{canonical}: a flat record has no name of its own")
        inner = _obj(spec.get("fields"), where, f"{canonical}.fields")
        fields = {key: _field_spec(key, value, f"{where}: {canonical}", frozenset()) for key, value in inner.items()}
        return FieldSpec(canonical, None, layout="flat", record=record, fields=MappingProxyType(fields))
    _need("fields" not in spec, where, f"{canonical}: an {layout} takes its fields from the {record} map")
    item = spec.get("item")
    _need(item is None or (layout == "list" and isinstance(item, str)), where, f"{canonical}: item is for lists")
    return FieldSpec(
        canonical, _str(spec.get("name"), where, f"{canonical}.name"), layout=layout, record=record, item=item
    )


def _encoding(value: object, where: str) -> str:
    name = _str(value, where, "encoding")
    try:
        codecs.lookup(name)
    except LookupError:
        raise CatalogDataError(f"{where}: {name!r} is not a character encoding Python knows") from None
    return name


@cache
def _field_map(city_id: str) -> FieldMap:
    where = f"catalogs/data/field_maps/{city_id}.json"
    data = _obj(_read_json("field_maps", f"{city_id}.json"), where, "the file")
    _need(data.get("city") == city_id, where, f"city must be {city_id!r}")
    encoding = _encoding(data.get("encoding"), where)
    raw_records = _obj(data.get("records"), where, "records")
    record_types = frozenset(raw_records)
    records: dict[str, RecordMap] = {}
    for record_type, raw in raw_records.items():
        rec_where = f"{where}: {record_type}"
        rec = _obj(raw, rec_where, "the record")
        specs = _obj(rec.get("fields"), rec_where, "fields")
        fields = {name: _field_spec(name, value, rec_where, record_types) for name, value in specs.items()}
        element = rec.get("element")
        _need(element is None or isinstance(element, str), rec_where, "element must be a string")
        record_map = RecordMap(record_type, MappingProxyType(fields), element)
        names = record_map.partner_names()
        twice = sorted({n for n in names if names.count(n) > 1})
        _need(not twice, rec_where, f"partner names used by more than one field: {twice}")
        records[record_type] = record_map
    services: dict[str, Service] = {}
    for name, raw in _obj(data.get("services", {}), where, "services").items():
        svc = _obj(raw, where, f"service {name}")
        carried = tuple(svc.get("records", ()))
        _need(set(carried) <= record_types, where, f"service {name} carries a record type the map lacks")
        services[name] = Service(
            name, str(svc.get("title", "")), _encoding(svc.get("encoding", encoding), where), carried
        )
    return FieldMap(
        city=city_id,
        description=str(data.get("description", "")),
        protocol=_str(data.get("protocol"), where, "protocol"),
        media_type=_str(data.get("media_type"), where, "media_type"),
        encoding=encoding,
        naming=str(data.get("naming", "")),
        local_time_offset=_str(data.get("local_time_offset"), where, "local_time_offset"),
        services=MappingProxyType(services),
        records=MappingProxyType(records),
    )


def field_map(city_key: str) -> FieldMap:
    """The field map of a city, by id ("hohhot") or GB/T 2260 code ("150100")."""
    return _field_map(city(city_key).id)
