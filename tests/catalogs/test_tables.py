"""Code tables and field maps: complete, bijective per city, in step with the canonical model, loadable."""

from __future__ import annotations

import codecs
import itertools
import json
import re
import tomllib
import types
import typing
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import catalogs
from catalogs import (
    FORMATS,
    CatalogDataError,
    CodeTable,
    FieldSpec,
    RecordMap,
    UnknownCode,
    cities,
    city,
    code_table,
    code_table_names,
    field_map,
)
from catalogs._loader import _Entry
from gateway.canonical import (
    ApplicationState,
    ApplicationStatus,
    ApplicationSubmission,
    CreditRecord,
    CreditSubject,
    ExpertRelationKind,
    HolderIdType,
    Licence,
    LicenceStatus,
    Party,
    Seal,
    SealStatus,
    SealType,
    SubjectType,
    SubmittedMaterial,
    TradingCategory,
    TradingProject,
    TradingProjectStatus,
)

ROOT = Path(__file__).resolve().parents[2]
CITY_IDS = [c.id for c in cities()]
CORE_RECORD_TYPES = ("Licence", "Party", "CreditSubject", "CreditRecord", "ApplicationStatus")
"""What every city's field map carries; the others are carried by the cities that run such systems."""
_MAPPED: tuple[type[BaseModel], ...] = (Licence, Party, CreditSubject, CreditRecord, ApplicationStatus, Seal)
_MAPPED += (TradingProject, ApplicationSubmission, SubmittedMaterial)  # submissions: the handling cities
RECORD_TYPES: dict[str, type[BaseModel]] = {model.__name__: model for model in _MAPPED}
TABLES = code_table_names()
CITY_RECORDS = [(c, r) for c in CITY_IDS for r in RECORD_TYPES if r in field_map(c).records]

DATE_FORMATS = {"iso-date", "yyyyMMdd", "yyyy-MM-dd"}
DATETIME_FORMATS = {"iso-datetime", "yyyyMMddHHmmss", "yyyy-MM-dd HH:mm:ss"}


def _literal_values(annotation: Any) -> tuple[str, ...]:
    args = typing.get_args(annotation)
    assert typing.get_origin(annotation) is Literal, annotation
    return tuple(args)


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _field_annotation(model: type[BaseModel], name: str) -> Any:
    return _unwrap_optional(model.model_fields[name].annotation)


# ---- the cities ----------------------------------------------------------------------------------


def test_the_three_partner_cities() -> None:
    assert [(c.id, c.region, c.name) for c in cities()] == [
        ("shenzhen", "440300", "深圳市"),
        ("zhongshan", "442000", "中山市"),
        ("hohhot", "150100", "呼和浩特市"),
    ]
    assert city("442000") == city("zhongshan")
    with pytest.raises(UnknownCode, match="no city 'guangzhou'"):
        city("guangzhou")


# ---- code tables ---------------------------------------------------------------------------------


def test_the_tables_the_adapters_need_are_shipped() -> None:
    wanted = {
        "licence_type",
        "licence_status",
        "subject_type",
        "subject_status",
        "credit_record_kind",
        "application_state",
        "holder_id_type",
        "gender",
        "seal_type",
        "seal_status",
        "trading_category",
        "trading_project_status",
    }
    assert wanted <= set(TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_every_table_covers_every_city(name: str) -> None:
    assert set(code_table(name).cities) == set(CITY_IDS)


@pytest.mark.parametrize(("name", "city_id"), list(itertools.product(TABLES, CITY_IDS)))
def test_every_table_is_a_bijection_for_every_city(name: str, city_id: str) -> None:
    table = code_table(name)
    city_codes = [table.to_city(city_id, canonical) for canonical in table.canonical_codes]
    assert len(set(city_codes)) == len(city_codes) == len(table)
    assert sorted(table.from_city(city_id, code) for code in city_codes) == sorted(table.canonical_codes)
    assert dict(table.city_codes(city_id)) == dict(zip(city_codes, table.canonical_codes, strict=True))
    for canonical in table:
        assert table.label(canonical).strip()
        assert table.label(canonical, city_id).strip()


@pytest.mark.parametrize("name", TABLES)
def test_translation_is_real_no_two_cities_share_a_code_and_none_uses_the_canonical_one(name: str) -> None:
    table = code_table(name)
    for canonical in table:
        codes = [table.to_city(c, canonical) for c in CITY_IDS]
        assert len(set(codes)) == len(codes), (canonical, codes)
        assert canonical not in codes


@pytest.mark.parametrize(
    ("name", "annotation"),
    [
        ("licence_status", LicenceStatus),
        ("subject_type", SubjectType),
        ("application_state", ApplicationState),
        ("holder_id_type", HolderIdType),
        ("credit_record_kind", CreditRecord.model_fields["kind"].annotation),
        ("subject_status", CreditSubject.model_fields["status"].annotation),
        ("seal_type", SealType),
        ("seal_status", SealStatus),
        ("trading_category", TradingCategory),
        ("trading_project_status", TradingProjectStatus),
        ("expert_relation", ExpertRelationKind),
    ],
)
def test_tables_hold_exactly_the_canonical_models_codes(name: str, annotation: Any) -> None:
    assert set(code_table(name).canonical_codes) == set(_literal_values(annotation))


def test_licence_types_include_the_common_e_licences() -> None:
    table = code_table("licence_type")
    wanted = {
        "business_licence": "营业执照",
        "food_operation_permit": "食品经营许可证",
        "drug_operation_permit": "药品经营许可证",
        "construction_qualification": "建筑业企业资质证书",
        "individual_business_licence": "个体工商户营业执照",
        "resident_id_card": "居民身份证",
    }
    for canonical, label in wanted.items():
        assert table.label(canonical) == label
    assert len(table) >= 10


def test_application_states_carry_their_chinese_names() -> None:
    table = code_table("application_state")
    labels = {code: table.label(code) for code in table}
    assert labels == {
        "received": "收件",
        "accepted": "受理",
        "correction": "补正",
        "processing": "办理中",
        "concluded": "办结",
        "delivered": "送达",
        "not_accepted": "不予受理",
        "returned": "退回",
        "withdrawn": "撤回",
    }


def test_translation_examples() -> None:
    status = code_table("licence_status")
    assert status.to_city("shenzhen", "revoked") == "03"
    assert status.to_city("zhongshan", "revoked") == "DX"
    assert status.from_city("442000", "ZX") == "cancelled"
    assert status.label("revoked", "zhongshan") == "吊销"
    licence_type = code_table("licence_type")
    assert licence_type.to_city("shenzhen", "business_licence") == "SZ-YYZZ"
    assert licence_type.from_city("zhongshan", "1001") == "business_licence"
    assert code_table("gender").from_city("zhongshan", "2") == "female"
    assert code_table("seal_status").to_city("shenzhen", "revoked") == "03"
    assert code_table("seal_status").from_city("zhongshan", "CX") == "revoked"
    assert code_table("seal_type").from_city("zhongshan", "HTZ") == "contract"
    assert code_table("seal_type").label("official") == "法定名称章"
    assert code_table("trading_category").to_city("zhongshan", "government_procurement") == "ZFCG"
    assert code_table("trading_project_status").from_city("shenzhen", "30") == "evaluating"
    assert code_table("trading_project_status").label("candidates_publicised", "zhongshan") == "中标候选人公示"


def test_unknown_codes_name_the_table_the_city_and_the_code() -> None:
    status = code_table("licence_status")
    with pytest.raises(UnknownCode, match=r"'licence_status' has no zhongshan code '03'"):
        status.from_city("zhongshan", "03")
    with pytest.raises(UnknownCode, match=r"'licence_status' has no canonical code 'lost'"):
        status.to_city("shenzhen", "lost")
    with pytest.raises(UnknownCode, match=r"'licence_status' has no canonical code 'lost'"):
        status.label("lost")
    with pytest.raises(UnknownCode, match="no city 'beijing'"):
        status.to_city("beijing", "valid")
    with pytest.raises(UnknownCode, match="no code table 'colours'"):
        code_table("colours")
    with pytest.raises(UnknownCode, match="no code table"):
        code_table("../regions")


def test_a_table_that_is_not_a_bijection_is_refused() -> None:
    twice = _Entry("a", "甲", {"shenzhen": ("1", "一")})
    same_code = _Entry("b", "乙", {"shenzhen": ("1", "一")})
    with pytest.raises(CatalogDataError, match="stands for both 'a' and 'b'"):
        CodeTable("t", "", ("shenzhen",), (twice, same_code))
    missing_city = _Entry("c", "丙", {"shenzhen": ("3", "三")})
    with pytest.raises(CatalogDataError, match="exactly the cities"):
        CodeTable("t", "", ("shenzhen", "zhongshan"), (missing_city,))
    with pytest.raises(CatalogDataError, match="appears twice"):
        CodeTable("t", "", ("shenzhen",), (twice, twice))


def test_code_tables_are_cached_and_immutable() -> None:
    table = code_table("licence_type")
    assert code_table("licence_type") is table
    with pytest.raises(AttributeError):
        table.name = "other"


_TABLE_CITY_CODE = st.sampled_from(TABLES).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(CITY_IDS), st.sampled_from(code_table(name).canonical_codes))
)


@given(_TABLE_CITY_CODE)
def test_to_city_and_from_city_round_trip(case: tuple[str, str, str]) -> None:
    name, city_id, canonical = case
    table = code_table(name)
    city_code = table.to_city(city_id, canonical)
    assert table.from_city(city_id, city_code) == canonical
    assert table.to_city(city(city_id).region, table.from_city(city(city_id).region, city_code)) == city_code


@given(st.sampled_from(TABLES), st.sampled_from(CITY_IDS), st.text(max_size=20))
def test_from_city_knows_exactly_the_city_codes(name: str, city_id: str, code: str) -> None:
    table = code_table(name)
    if code in table.city_codes(city_id):
        assert table.to_city(city_id, table.from_city(city_id, code)) == code
    else:
        with pytest.raises(UnknownCode):
            table.from_city(city_id, code)


# ---- field maps ----------------------------------------------------------------------------------


def _value_specs(record: RecordMap) -> list[tuple[str, FieldSpec]]:
    """(canonical path, spec) for every value field, flat records spread out."""
    found = []
    for spec in record.fields.values():
        if spec.layout == "flat":
            found += [(f"{spec.canonical}.{inner.canonical}", inner) for inner in spec.fields.values()]
        elif spec.layout == "value":
            found.append((spec.canonical, spec))
    return found


def test_the_seal_platforms_and_trading_centres_are_mapped() -> None:
    for city_id in ("shenzhen", "zhongshan"):
        assert {"Seal", "TradingProject"} <= set(field_map(city_id).records), city_id
    assert len(CITY_RECORDS) >= len(CITY_IDS) * len(CORE_RECORD_TYPES) + 4


@pytest.mark.parametrize(("city_id", "record_type"), CITY_RECORDS)
def test_every_canonical_field_has_a_mapping(city_id: str, record_type: str) -> None:
    model = RECORD_TYPES[record_type]
    record = field_map(city_id).record(record_type)
    assert set(record.fields) == set(model.model_fields)
    for name, spec in record.fields.items():
        annotation = _field_annotation(model, name)
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if typing.get_origin(annotation) is tuple:
            nested = typing.get_args(annotation)[0]
            assert spec.layout == "list"
        if nested is None:
            assert spec.layout == "value", name
            continue
        assert spec.record == nested.__name__, name
        if spec.layout == "flat":
            assert set(spec.fields) == set(nested.model_fields), name
        else:
            assert spec.layout in ("object", "list")
            assert set(field_map(city_id).record(nested.__name__).fields) == set(nested.model_fields)


@pytest.mark.parametrize(("city_id", "record_type"), CITY_RECORDS)
def test_no_two_canonical_fields_share_a_partner_name(city_id: str, record_type: str) -> None:
    names = field_map(city_id).record(record_type).partner_names()
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    raw = json.loads((ROOT / "catalogs" / "data" / "field_maps" / f"{city_id}.json").read_text(encoding="utf-8"))
    raw_names: list[str] = []
    for spec in raw["records"][record_type]["fields"].values():
        raw_names += [s["name"] for s in spec["fields"].values()] if spec.get("layout") == "flat" else [spec["name"]]
    assert sorted(raw_names) == sorted(names)  # checked on the file itself, not only through the loader


@pytest.mark.parametrize(("city_id", "record_type"), CITY_RECORDS)
def test_formats_and_code_tables_fit_the_canonical_types(city_id: str, record_type: str) -> None:
    record = field_map(city_id).record(record_type)
    for path, spec in _value_specs(record):
        model: type[BaseModel] = RECORD_TYPES[record_type]
        *outer, name = path.split(".")
        if outer:
            model = _field_annotation(model, outer[0])
        annotation = _field_annotation(model, name)
        assert spec.format in FORMATS
        if annotation is date:
            assert spec.format in DATE_FORMATS, path
        elif annotation is datetime:
            assert spec.format in DATETIME_FORMATS, path
        elif annotation is int:
            assert spec.format in ("integer", "wan-yuan"), path
        else:
            assert spec.format == "text", path
        if typing.get_origin(annotation) is Literal:
            assert spec.code_table is not None, f"{path} is coded but has no code table"
            assert set(code_table(spec.code_table).canonical_codes) == set(typing.get_args(annotation)), path
        if spec.code_table is not None:
            assert spec.code_table in TABLES


def test_licence_type_is_translated_everywhere() -> None:
    for city_id in CITY_IDS:
        assert field_map(city_id).record("Licence").field("licence_type").code_table == "licence_type"


@pytest.mark.parametrize(
    ("city_id", "pattern", "date_format", "datetime_format"),
    [
        ("shenzhen", r"^[a-z]+([A-Z][a-z]*)*$", "iso-date", "iso-datetime"),
        ("zhongshan", r"^[A-Z]+$", "yyyyMMdd", "yyyyMMddHHmmss"),
        ("hohhot", r"^[a-z]+(_[a-z]+)*$", "yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss"),
    ],
)
def test_each_city_keeps_its_own_style(city_id: str, pattern: str, date_format: str, datetime_format: str) -> None:
    fmap = field_map(city_id)
    for record in fmap.records.values():
        for name in record.partner_names():
            assert re.match(pattern, name), (city_id, name)
        for path, spec in _value_specs(record):
            if spec.format in DATE_FORMATS:
                assert spec.format == date_format, path
            if spec.format in DATETIME_FORMATS:
                assert spec.format == datetime_format, path


def test_the_partner_names_from_the_issue() -> None:
    sz = field_map("shenzhen").record("Licence")
    assert [sz.field(f).name for f in ("licence_number", "issued_on")] == ["licenceNo", "issueDate"]
    assert sz.canonical_path("holderName") == ("holder", "name")
    assert sz.canonical_path("holderCertNo") == ("holder", "id_number")
    zs = field_map("zhongshan").record("Licence")
    expected = {
        "ZZBH": ("licence_number",),
        "CYZMC": ("holder", "name"),
        "CYZZJHM": ("holder", "id_number"),
        "FZJGMC": ("issuer_name",),
        "FZRQ": ("issued_on",),
        "YXQZ": ("valid_until",),
        "ZZZT": ("status",),
    }
    assert {name: zs.canonical_path(name) for name in expected} == expected
    assert zs.field("issued_on").format == "yyyyMMdd"
    assert field_map("zhongshan").record(ApplicationStatus).field("updated_at").format == "yyyyMMddHHmmss"
    with pytest.raises(UnknownCode, match="no field named 'NOPE'"):
        zs.canonical_path("NOPE")


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_partner_name_leads_back_to_its_field(city_id: str) -> None:
    for record in field_map(city_id).records.values():
        for name in record.partner_names():
            path = record.canonical_path(name)
            spec = record.field(path[0])
            if len(path) == 2:
                spec = spec.fields[path[1]]
            assert spec.name == name


def test_zhongshan_names_its_gb18030_services() -> None:
    zs = field_map("zhongshan")
    assert zs.protocol == "soap-1.1"
    assert zs.gb18030_services == ("DzzzCxService", "XyxxCxService", "DzyzCxService")
    assert zs.encoding_for("DzzzCxService") == "GB18030"
    assert zs.encoding_for("DzyzCxService") == "GB18030"
    assert zs.encoding_for("BjztTbService") == "UTF-8"
    assert zs.encoding_for("JyxmCxService") == "UTF-8"
    assert zs.service("DzyzCxService").records == ("Seal", "Party")
    assert zs.service("JyxmCxService").records == ("TradingProject", "Party")
    assert field_map("shenzhen").gb18030_services == ()
    with pytest.raises(UnknownCode, match="no service 'Nope'"):
        zs.encoding_for("Nope")


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_field_maps_are_complete_and_consistent(city_id: str) -> None:
    fmap = field_map(city_id)
    assert fmap is field_map(city(city_id).region)
    assert fmap.city == city_id
    assert set(CORE_RECORD_TYPES) <= set(fmap.records) <= set(RECORD_TYPES)
    assert fmap.local_time_offset == "+08:00"
    carried = {record for service in fmap.services.values() for record in service.records}
    assert carried == set(fmap.records)
    for service in fmap.services.values():
        codecs.lookup(service.encoding)
    with pytest.raises(UnknownCode, match="no record type 'Stamp'"):
        fmap.record("Stamp")


def test_gb18030_payloads_carry_every_label() -> None:
    """Everything a code table or the seed may put in a GB18030 payload encodes without loss."""
    for name in TABLES:
        table = code_table(name)
        for canonical in table:
            for city_id in CITY_IDS:
                for text in (table.label(canonical, city_id), table.to_city(city_id, canonical)):
                    assert text.encode("gb18030").decode("gb18030") == text


# ---- packaging and the public API ----------------------------------------------------------------


def test_data_is_read_as_package_resources() -> None:
    data = resources.files("catalogs") / "data"
    names = {p.name for p in data.iterdir()}
    assert {"regions.json", "cities.json", "code_tables", "field_maps"} <= names
    assert {p.name for p in (data / "field_maps").iterdir() if p.name.endswith(".json")} == {
        f"{c}.json" for c in CITY_IDS
    }


def test_pyproject_ships_the_json_data() -> None:
    """The data folders have no __init__.py: they ship because setuptools finds namespace packages
    (its default under [tool.setuptools.packages.find]) and package-data includes *.json."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["packages"]["find"].get("namespaces", True) is True
    assert any(p.startswith("catalogs") for p in setuptools["packages"]["find"]["include"])
    assert "*.json" in setuptools["package-data"]["*"]


def test_the_package_exports_exactly_its_private_modules_public_names() -> None:
    from catalogs import _codes, _errors, _licence_ids, _loader

    assert catalogs.__all__ == sorted(catalogs.__all__)
    modules = (_codes, _errors, _licence_ids, _loader)
    assert set(catalogs.__all__) == set().union(*(set(module.__all__) for module in modules))
