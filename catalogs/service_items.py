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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ITEM_CODE_PATTERN",
    "MODES",
    "Material",
    "ResultType",
    "ServiceItem",
    "Subject",
    "load_service_items",
]

Subject = Literal["enterprise", "person"]
Mode = Literal["全程网办", "异地代收代办", "多地联办"]
ResultType = Literal["licence", "certificate", "decision"]
MODES: tuple[str, ...] = ("全程网办", "异地代收代办", "多地联办")
# Region-free item codes: a sector prefix, the item's number in the joint list, and its sub-item.
ITEM_CODE_PATTERN = r"^[A-Z]{2,6}-[0-9]{4}(-[0-9]{2})?$"


class Material(BaseModel):
    """One required material; `licence_types` are the e-licence types that stand in for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    name: str = Field(min_length=2, max_length=100)
    required: bool = True
    licence_types: tuple[str, ...] = ()

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

    code: str = Field(pattern=ITEM_CODE_PATTERN)
    name: str = Field(min_length=2, max_length=100)
    sector: str = Field(min_length=2, max_length=40)  # e.g. 市场监管, 人力资源社会保障
    subject: Subject
    mode: Mode
    departments: dict[str, str]  # GB/T 2260 city code -> responsible department
    materials: tuple[Material, ...]
    legal_limit_days: int = Field(ge=1, le=365)  # working days
    promised_limit_days: int = Field(ge=1, le=365)  # working days
    fee: Decimal = Field(ge=0, max_digits=10, decimal_places=2)  # yuan; 0 is free of charge
    legal_basis: str = Field(min_length=2, max_length=500)
    result_type: ResultType
    result_licence_type: str | None = None  # the e-licence issued, when the result is one

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


@cache
def load_service_items() -> MappingProxyType[str, ServiceItem]:
    """The shipped catalogue, by item code, checked once."""
    text = resources.files("catalogs").joinpath("data/service_items.json").read_text("utf-8")
    items = [ServiceItem.model_validate(raw) for raw in json.loads(text)["items"]]
    by_code = {item.code: item for item in items}
    if len(by_code) != len(items):
        raise ValueError("the shipped catalogue repeats an item code")
    return MappingProxyType(by_code)
