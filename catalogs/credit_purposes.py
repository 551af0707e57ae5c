"""The purposes a public-credit report may be asked for (信用报告查询用途), as data.

catalogs/data/credit_purposes.json names the report's sections and, for each purpose, the sections
it releases and whether a natural person's report may be released for it:

    catalogue = credit_purposes()
    catalogue.purpose("government_procurement").sections   # ("basic_registration", ...)
    catalogue.version                                        # "2026.1": stamped on every report

The file is checked on loading: every purpose names only known sections and no code twice.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalogs._errors import CatalogDataError, UnknownCode

__all__ = ["CreditPurpose", "CreditPurposes", "credit_purposes"]


class CreditPurpose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str = Field(min_length=1)
    basis: str = Field(min_length=1, description="the rule that allows asking for this purpose")
    personal_data: bool = Field(description="whether a natural person's report may be released")
    sections: tuple[str, ...] = Field(min_length=1)


class CreditPurposes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str = Field(min_length=1)
    description: str
    sections: dict[str, str]
    purposes: tuple[CreditPurpose, ...]

    @model_validator(mode="after")
    def _consistent(self) -> CreditPurposes:
        codes = [purpose.code for purpose in self.purposes]
        if len(set(codes)) != len(codes):
            raise ValueError("a purpose code is listed twice")
        for purpose in self.purposes:
            unknown = sorted(set(purpose.sections) - set(self.sections))
            if unknown:
                raise ValueError(f"purpose {purpose.code} releases unknown sections {', '.join(unknown)}")
        return self

    def purpose(self, code: str) -> CreditPurpose:
        """The purpose with this code; UnknownCode naming the known ones otherwise."""
        for purpose in self.purposes:
            if purpose.code == code:
                return purpose
        raise UnknownCode(f"unknown purpose {code!r}; one of {', '.join(p.code for p in self.purposes)}")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@cache
def credit_purposes() -> CreditPurposes:
    text = (resources.files("catalogs") / "data" / "credit_purposes.json").read_text(encoding="utf-8")
    try:
        loaded = CreditPurposes.model_validate(json.loads(text))
    except ValueError as exc:
        raise CatalogDataError(f"catalogs/data/credit_purposes.json: {exc}") from exc
    return loaded
