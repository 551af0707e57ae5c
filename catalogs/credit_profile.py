"""The individual-business credit profile's rule set (个体工商户信用画像), as data:
catalogs/data/credit_profile_rules.json. Checked on loading: known record kinds and states, bands
from the highest minimum down to one covering the lowest score."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalogs._errors import CatalogDataError
from catalogs._loader import code_table

__all__ = ["ProfileBand", "ProfileRule", "ProfileRules", "RuleState", "credit_profile_rules"]

RuleState = Literal["any", "publishing", "repaired", "in_force", "kept", "breached"]


class ProfileRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str = Field(min_length=1)
    kind: str
    state: RuleState
    points: int
    max_count: int = Field(ge=1)


class ProfileBand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    band: str = Field(min_length=1)
    label: str = Field(min_length=1)
    minimum: int


class ProfileRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str = Field(min_length=1)
    description: str
    subject_types: tuple[str, ...]
    base: int
    minimum: int
    maximum: int
    rules: tuple[ProfileRule, ...] = Field(min_length=1)
    bands: tuple[ProfileBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ProfileRules:
        kinds = code_table("credit_record_kind")
        for rule in self.rules:
            if rule.kind not in kinds:
                raise ValueError(f"rule {rule.code}: {rule.kind!r} is not a credit_record_kind")
        if len({rule.code for rule in self.rules}) != len(self.rules):
            raise ValueError("a rule code is listed twice")
        minimums = [band.minimum for band in self.bands]
        if minimums != sorted(minimums, reverse=True) or minimums[-1] > self.minimum:
            raise ValueError("bands must run from the highest minimum down to one covering the lowest score")
        if not self.minimum <= self.base <= self.maximum:
            raise ValueError("base must lie between minimum and maximum")
        return self

    def band_for(self, score: int) -> ProfileBand:
        return next(band for band in self.bands if score >= band.minimum)


@cache
def credit_profile_rules() -> ProfileRules:
    text = (resources.files("catalogs") / "data" / "credit_profile_rules.json").read_text(encoding="utf-8")
    try:
        return ProfileRules.model_validate(json.loads(text))
    except ValueError as exc:
        raise CatalogDataError(f"catalogs/data/credit_profile_rules.json: {exc}") from exc
