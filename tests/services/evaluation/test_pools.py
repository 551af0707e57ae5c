"""The cities' expert pools through their adapters: what the sandboxes hold, in the canonical model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.hohhot import HohhotClient
from adapters.hohhot import MalformedPartnerData as HohhotMalformed
from adapters.hohhot import create_app as hohhot_sandbox
from adapters.hohhot import expert_from_partner as hohhot_expert
from adapters.shenzhen import MalformedPartnerData as ShenzhenMalformed
from adapters.shenzhen import ShenzhenClient, expert_to_partner
from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.shenzhen import expert_from_partner as shenzhen_expert
from catalogs import seed
from gateway.canonical import EvaluationExpert


@pytest.mark.parametrize(
    ("city", "sandbox", "client"),
    [("hohhot", hohhot_sandbox, HohhotClient), ("shenzhen", shenzhen_sandbox, ShenzhenClient)],
)
def test_a_city_pool_reads_as_the_seed_holds_it(city: str, sandbox: Any, client: Any, serve: Any) -> None:
    data = seed.generate()
    server = serve(sandbox(seed_data=data))
    expected = [EvaluationExpert.model_validate(expert.model_dump()) for expert in data.city(city).experts]

    async def read() -> tuple[list[EvaluationExpert], list[EvaluationExpert]]:
        async with client(server.url) as pool:
            return await pool.find_experts(), await pool.find_experts("legal_services")

    everyone, lawyers = asyncio.run(read())
    assert sorted(everyone, key=lambda e: e.expert_id) == sorted(expected, key=lambda e: e.expert_id)
    assert lawyers and {e.expert_id for e in lawyers} == {
        e.expert_id for e in expected if "legal_services" in e.specialties
    }
    assert any(not expert.available for expert in everyone)  # the pools hold suspended experts too


def test_shenzhen_writes_and_reads_an_expert_the_same() -> None:
    expert = EvaluationExpert.model_validate(seed.generate().city("shenzhen").experts[0].model_dump())
    row = expert_to_partner(expert)
    assert row["expertStatus"] in ("1", "2") and row["specialtyCodes"][0].isdigit()
    assert shenzhen_expert(row) == expert


@pytest.mark.parametrize(
    ("read", "malformed", "row", "field"),
    [
        (hohhot_expert, HohhotMalformed, {"specialty_list": [], "available_flag": "1"}, "specialty_list"),
        (
            hohhot_expert,
            HohhotMalformed,
            {"specialty_list": [{"specialty_code": "Z9"}], "available_flag": "1"},
            "specialty_list",
        ),
        (
            hohhot_expert,
            HohhotMalformed,
            {"specialty_list": [{"specialty_code": "A020101"}], "available_flag": "Y"},
            "available_flag",
        ),
        (shenzhen_expert, ShenzhenMalformed, {"specialtyCodes": ["1001"], "workUnit": {}, "expertStatus": "1"}, "data"),
        (
            shenzhen_expert,
            ShenzhenMalformed,
            {"specialtyCodes": ["1001"], "workUnit": "x", "expertStatus": "1"},
            "workUnit",
        ),
    ],
)
def test_a_malformed_expert_row_names_its_field(
    read: Any, malformed: type[Exception], row: dict[str, Any], field: str
) -> None:
    with pytest.raises(malformed, match=field):
        read(row)
