"""The cross-city service items (通办事项): the model every part of the gateway reads them as.

The shipped, representative catalogue is catalogs/data/service_items.json; an operator loads the
official list with `tongban catalog import FILE`. Each item names what a window needs to receive
an application and what the handling city promises:

    item = load_service_items()["..."]
    item.departments["440300"]            # the responsible department in Shenzhen
    item.materials[0].licence_types       # e-licence types that stand in for that material (免提交)
    item.promised_limit_days              # working days, counted with Chinese public holidays

The model is strict: an unknown field, an unknown licence type or a promised limit longer than the
legal one is refused, so that a bad import fails before anything is stored.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ITEM_CODE_PATTERN",
    "MODES",
    "Material",
    "ResultType",
    "SECTORS",
    "ServiceItem",
    "Subject",
    "catalogue_json_schema",
    "load_service_items",
    "shipped_catalogue_version",
]

Subject = Literal["enterprise", "person"]
Mode = Literal["全程网办", "异地代收代办", "多地联办"]
ResultType = Literal["licence", "certificate", "decision"]
MODES: tuple[str, ...] = ("全程网办", "异地代收代办", "多地联办")
# The sectors (办理领域) items are filed under: a closed list, so that a search filter and the
# OpenAPI enum name every one; an official list with another sector is refused at import, and the
# new sector is one line here.
SECTORS: tuple[str, ...] = (
    "市场监管",
    "人力资源社会保障",
    "医疗保障",
    "住房公积金",
    "公安",
    "交通运输",
    "税务",
    "自然资源",
    "住房城乡建设",
    "卫生健康",
    "教育",
    "民政",
    "生态环境",
    "文化和旅游",
    "农业农村",
    "水务",
    "应急管理",
    "商务",
    "司法行政",
    "档案",
    "残疾人服务",
    "退役军人事务",
    "消防救援",
    "烟草专卖",
    "城市管理",
    "科技",
    "发展改革",
    "气象",
)
# Region-free item codes: a sector prefix, the item's number in the joint list, and its sub-item.
ITEM_CODE_PATTERN = r"^[A-Z]{2,6}-[0-9]{4}(-[0-9]{2})?$"


class Material(BaseModel):
    """One required material; `licence_types` are the e-licence types that stand in for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="the material's code within its item")
    name: str = Field(min_length=2, max_length=100, description="what the applicant hands in, e.g. 营业执照")
    required: bool = Field(True, description="false: only in some cases (e.g. a power of attorney)")
    licence_types: tuple[str, ...] = Field(
        (), description="e-licence types (code_tables/licence_type.json) that stand in for it: 免提交"
    )

    @field_validator("licence_types")
    @classmethod
    def _known_licence_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from catalogs._loader import code_table

        known = set(code_table("licence_type").canonical_codes)
        unknown = [code for code in value if code not in known]
        if unknown:
            raise ValueError(f"unknown licence type(s) {', '.join(unknown)}; see code_tables/licence_type.json")
        return value


class ServiceItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=ITEM_CODE_PATTERN, description="sector prefix, number, sub-item: SCJG-0002-01")
    name: str = Field(min_length=2, max_length=100, description="the item's name, e.g. 食品经营许可证核发")
    sector: str = Field(min_length=2, max_length=40, json_schema_extra={"enum": list(SECTORS)}, description="办理领域")
    subject: Subject = Field(description="who applies: an enterprise or a person")
    mode: Mode = Field(
        description="全程网办 fully online; 异地代收代办 received in one city for the other; 多地联办 jointly"
    )
    departments: dict[str, str] = Field(
        description="GB/T 2260 city code -> the responsible department there (at least two cities)"
    )
    materials: tuple[Material, ...] = Field(description="what an application needs")
    legal_limit_days: int = Field(ge=1, le=365, description="the legal time limit, in working days")
    promised_limit_days: int = Field(ge=1, le=365, description="the promised limit, working days, <= the legal one")
    fee: Decimal = Field(ge=0, max_digits=10, decimal_places=2, description="yuan; 0 is free of charge")
    legal_basis: str = Field(min_length=2, max_length=500, description="the laws and regulations it rests on")
    result_type: ResultType = Field(description="what the applicant receives: a licence, a certificate or a decision")
    result_licence_type: str | None = Field(
        None, description="the e-licence type issued (code_tables/licence_type.json), when the result is one"
    )

    @field_validator("sector")
    @classmethod
    def _known_sector(cls, value: str) -> str:
        if value not in SECTORS:
            raise ValueError(f"unknown sector {value!r}; the sectors are {', '.join(SECTORS)}")
        return value

    @field_validator("departments")
    @classmethod
    def _known_cities(cls, value: dict[str, str]) -> dict[str, str]:
        from catalogs._loader import cities

        known = {city.region for city in cities()}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"departments name unknown city code(s) {', '.join(unknown)}")
        if len(value) < 2:
            raise ValueError("a cross-city item needs a responsible department in at least two cities")
        if any(not name.strip() for name in value.values()):
            raise ValueError("a department name is empty")
        return value

    @field_validator("result_licence_type")
    @classmethod
    def _known_result_licence_type(cls, value: str | None) -> str | None:
        from catalogs._loader import code_table

        if value is not None and value not in code_table("licence_type").canonical_codes:
            raise ValueError(f"unknown licence type {value}; see code_tables/licence_type.json")
        return value

    @model_validator(mode="after")
    def _limits(self) -> ServiceItem:
        if self.promised_limit_days > self.legal_limit_days:
            raise ValueError(
                f"the promised limit ({self.promised_limit_days}) exceeds the legal limit ({self.legal_limit_days})"
            )
        codes = [material.code for material in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("two materials share a code")
        return self


def catalogue_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a catalogue document, {"description", "version", "items"},
    derived from the model: catalogs/data/service_items.schema.json is this, written out."""
    item = ServiceItem.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    definitions = item.pop("$defs", {})
    definitions["ServiceItem"] = item
    # What the validators check against the code tables, stated in the schema too.
    from catalogs._loader import cities, code_table

    licence_types = sorted(code_table("licence_type").canonical_codes)
    definitions["Material"]["properties"]["licence_types"]["items"]["enum"] = licence_types
    item["properties"]["result_licence_type"]["anyOf"][0]["enum"] = licence_types
    for branch in item["properties"]["fee"]["anyOf"]:
        if branch["type"] == "string":
            branch["pattern"] = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$"
    departments = item["properties"]["departments"]
    departments["propertyNames"] = {"enum": sorted(city.region for city in cities())}
    departments["minProperties"] = 2
    departments["additionalProperties"] = {"type": "string", "minLength": 1, "pattern": "\\S"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:tongban:catalogue:service-items",
        "title": "深中通办 service item catalogue",
        "description": (
            "The cross-city service items (通办事项). Generated from catalogs.service_items.ServiceItem; "
            "the model also checks what a schema cannot: licence types against code_tables/licence_type.json, "
            "city codes against cities.json, promised_limit_days <= legal_limit_days, unique material codes."
        ),
        "type": "object",
        "required": ["version", "items"],
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "version": {"type": "string", "minLength": 1, "maxLength": 64},
            "items": {"type": "array", "items": {"$ref": "#/$defs/ServiceItem"}},
        },
        "$defs": definitions,
    }


@cache
def _shipped_document() -> dict[str, Any]:
    text = resources.files("catalogs").joinpath("data/service_items.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def shipped_catalogue_version() -> str:
    """The version the shipped catalogue names (recorded when it is loaded into a database)."""
    return str(_shipped_document()["version"])


@cache
def load_service_items() -> MappingProxyType[str, ServiceItem]:
    """The shipped catalogue, by item code, checked once."""
    items = [ServiceItem.model_validate(raw) for raw in _shipped_document()["items"]]
    by_code = {item.code: item for item in items}
    if len(by_code) != len(items):
        raise ValueError("the shipped catalogue repeats an item code")
    return MappingProxyType(by_code)
