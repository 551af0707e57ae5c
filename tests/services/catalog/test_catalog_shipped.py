"""The shipped catalogue: 633 distinct, real-looking items, valid against the model and its schema."""

from __future__ import annotations

import collections
import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from catalogs import cities, code_table
from catalogs._generate_service_items import EXPECTED_ITEMS, generate, main
from catalogs.service_items import MODES, SECTORS, ServiceItem, catalogue_json_schema, load_service_items

PLACEHOLDER = re.compile(r"(事项|项目|item|test|示例|样例|占位)\s*[0-9０-９]+|^[0-9]+$|xxx|TODO", re.IGNORECASE)


def shipped_document() -> dict[str, Any]:
    return json.loads(resources.files("catalogs").joinpath("data/service_items.json").read_text("utf-8"))


def shipped_schema() -> dict[str, Any]:
    return json.loads(resources.files("catalogs").joinpath("data/service_items.schema.json").read_text("utf-8"))


def test_the_catalogue_has_633_items_with_unique_codes_and_names() -> None:
    items = shipped_document()["items"]
    assert len(items) == EXPECTED_ITEMS == 633
    assert len({item["code"] for item in items}) == 633
    assert len({item["name"] for item in items}) == 633
    assert len(load_service_items()) == 633


def test_no_name_looks_like_a_placeholder() -> None:
    names = [item["name"] for item in shipped_document()["items"]]
    assert [name for name in names if PLACEHOLDER.search(name)] == []
    # Every name is Chinese text, as real catalogues name items.
    assert all(re.search(r"[\u4e00-\u9fff]{2}", name) for name in names)


@pytest.mark.parametrize("name", ["事项1", "item 17", "事项 23", "示例3", "12"])
def test_the_placeholder_pattern_catches_placeholders(name: str) -> None:
    assert PLACEHOLDER.search(name)


def test_named_real_items_are_there() -> None:
    names = {item.name for item in load_service_items().values()}
    expected = {
        "企业设立登记",
        "企业设立登记（有限责任公司）",
        "企业设立登记（合伙企业）",
        "食品经营许可证核发",
        "食品经营许可证注销",
        "社会保障卡申领",
        "异地就医备案",
        "住房公积金转移接续",
        "机动车驾驶证补领",
        "药品经营许可证核发",
        "建筑业企业资质证书变更",
        "失业保险金申领",
        "职工基本养老保险关系转移接续",
        "出生医学证明补发",
        "婚姻登记档案查询",
        "不动产登记资料查询",
        "道路运输经营许可证核发",
        "纳税人涉税信息查询",
        "排污许可证核发",
        "教师资格认定",
        "医师执业注册",
    }
    assert expected <= names


def test_the_items_span_the_sectors_and_a_realistic_mix() -> None:
    items = list(load_service_items().values())
    sectors = collections.Counter(item.sector for item in items)
    assert set(sectors) == set(SECTORS)
    modes = collections.Counter(item.mode for item in items)
    assert set(modes) == set(MODES) and min(modes.values()) >= 20
    assert collections.Counter(item.subject for item in items).keys() == {"enterprise", "person"}
    fees = [item.fee for item in items if item.fee]
    assert 20 <= len(fees) <= 100  # most items are free of charge
    assert sum(bool(m.licence_types) for item in items for m in item.materials) > 500  # 免提交 is common
    assert {item.result_type for item in items} == {"licence", "certificate", "decision"}


def test_every_item_names_a_department_in_shenzhen_and_zhongshan() -> None:
    for item in load_service_items().values():
        assert set(item.departments) == {"440300", "442000"}, item.code
        assert item.departments["440300"].startswith(("深圳市", "国家税务总局深圳市")), item.code
        assert "中山市" in item.departments["442000"], item.code


def test_the_sub_items_carry_their_principal_items_number() -> None:
    items = load_service_items()
    assert items["SCJG-0002"].name == "食品经营许可证核发"
    assert items["SCJG-0002-01"].name == "食品经营许可证变更"
    assert items["SCJG-0001-01"].name == "企业设立登记（有限责任公司）"
    for code in items:
        principal = code[: code.rindex("-")] if code.count("-") == 2 else None
        if principal:
            assert principal in items, code


def test_the_shipped_catalogue_validates_against_the_schema_and_the_model() -> None:
    document = shipped_document()
    jsonschema.Draft202012Validator.check_schema(shipped_schema())
    jsonschema.Draft202012Validator(shipped_schema()).validate(document)
    for raw in document["items"]:
        ServiceItem.model_validate(raw)


def test_the_schema_file_is_the_models_schema_and_agrees_on_required_fields() -> None:
    schema = shipped_schema()
    assert schema == catalogue_json_schema()
    item = schema["$defs"]["ServiceItem"]
    required_by_model = {name for name, field in ServiceItem.model_fields.items() if field.is_required()}
    assert set(item["required"]) == required_by_model
    assert set(item["properties"]) == set(ServiceItem.model_fields)
    assert all(item["properties"][name].get("description") for name in ServiceItem.model_fields)
    assert item["properties"]["mode"]["enum"] == list(MODES)
    assert item["properties"]["sector"]["enum"] == list(SECTORS)
    assert set(item["properties"]["departments"]["propertyNames"]["enum"]) == {c.region for c in cities()}
    licence_types = set(code_table("licence_type").canonical_codes)
    assert set(schema["$defs"]["Material"]["properties"]["licence_types"]["items"]["enum"]) == licence_types


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"mode": "上门办"}, "mode"),
        ({"sector": "外星事务"}, "sector"),
        ({"code": "scjg-1"}, "code"),
        ({"departments": {"440300": "深圳市市场监督管理局", "999999": "x"}}, "departments"),
        ({"fee": "-1"}, "fee"),
    ],
)
def test_schema_and_model_both_refuse_a_bad_item(change: dict[str, Any], path: str) -> None:
    raw = {**shipped_document()["items"][1], **change}
    errors = list(jsonschema.Draft202012Validator(shipped_schema()).iter_errors({"version": "x", "items": [raw]}))
    assert errors and any(path in [str(part) for part in error.absolute_path] for error in errors)
    with pytest.raises(ValueError, match=path):
        ServiceItem.model_validate(raw)


def test_the_generator_reproduces_the_shipped_files() -> None:
    assert generate() == shipped_document()
    assert main(["--check"]) == 0
