"""The cities' expert pools through their adapters: what the sandboxes hold, in the canonical model."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from lxml import etree

from adapters.hohhot import HohhotClient
from adapters.hohhot import MalformedPartnerData as HohhotMalformed
from adapters.hohhot import create_app as hohhot_sandbox
from adapters.hohhot import expert_from_partner as hohhot_expert
from adapters.shenzhen import MalformedPartnerData as ShenzhenMalformed
from adapters.shenzhen import ShenzhenClient, expert_to_partner
from adapters.shenzhen import create_app as shenzhen_sandbox
from adapters.shenzhen import expert_from_partner as shenzhen_expert
from adapters.zhongshan import ZhongshanClient
from adapters.zhongshan import create_app as zhongshan_sandbox
from adapters.zhongshan import expert_from_partner as zhongshan_expert
from adapters.zhongshan import expert_to_partner as zhongshan_expert_element
from catalogs import seed
from gateway.canonical import EvaluationExpert


@pytest.mark.parametrize(
    ("city", "sandbox", "client"),
    [
        ("hohhot", hohhot_sandbox, HohhotClient),
        ("shenzhen", shenzhen_sandbox, ShenzhenClient),
        ("zhongshan", zhongshan_sandbox, ZhongshanClient),
    ],
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
    # ... and what the avoidance rules read: declared relations, sanctions in force and over.
    assert sum(1 for expert in everyone if expert.relations) == seed.EXPERTS_WITH_RELATIONS
    in_force = [e for e in everyone for s in e.sanctions if s.starts_on <= seed.AS_OF <= s.ends_on]
    over = [e for e in everyone for s in e.sanctions if s.ends_on < seed.AS_OF]
    assert len(in_force) == 2 and len(over) == 1


def test_shenzhen_writes_and_reads_an_expert_the_same() -> None:
    experts = [EvaluationExpert.model_validate(e.model_dump()) for e in seed.generate().city("shenzhen").experts]
    for expert in (experts[0], next(e for e in experts if e.relations), next(e for e in experts if e.sanctions)):
        row = expert_to_partner(expert)
        assert row["expertStatus"] in ("1", "2") and row["specialtyCodes"][0].isdigit()
        assert shenzhen_expert(row) == expert


def test_zhongshan_writes_and_reads_an_expert_the_same() -> None:
    experts = [EvaluationExpert.model_validate(e.model_dump()) for e in seed.generate().city("zhongshan").experts]
    related = next(e for e in experts if e.relations)
    element = zhongshan_expert_element(related)
    assert element.findtext("HBDW/DW/GXLX") in ("JQS", "CG", "CRZ")
    sanctioned = next(e for e in experts if e.sanctions)
    assert len(zhongshan_expert_element(sanctioned).findtext("CFJL/CF/KSRQ")) == 8
    for expert in (experts[0], related, sanctioned):
        assert zhongshan_expert(zhongshan_expert_element(expert)) == expert


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda e: e.find("ZYLB").clear(), "ZYLB"),
        (lambda e: setattr(e.find("ZJZT"), "text", "Y"), "ZJZT"),
        (lambda e: setattr(e.find("CFJL/CF/KSRQ"), "text", "2026-01-01"), "CFJL/CF[1]/KSRQ"),
        (lambda e: setattr(e.find("HBDW/DW/GXLX"), "text", "01"), "HBDW/DW[1]/GXLX"),
        (lambda e: etree.SubElement(e, "XB"), "PBZJ/XB"),
        (lambda e: setattr(e.find("CFJL/CF/JSRQ"), "text", "20000101"), "a sanction cannot end before it starts"),
    ],
)
def test_a_malformed_zhongshan_expert_names_its_element(change: Any, where: str) -> None:
    experts = seed.generate().city("zhongshan").experts
    related = EvaluationExpert.model_validate(next(e for e in experts if e.relations).model_dump())
    sanctioned = EvaluationExpert.model_validate(next(e for e in experts if e.sanctions).model_dump())
    both = related.model_copy(update={"sanctions": sanctioned.sanctions})
    element = zhongshan_expert_element(both)
    change(element)
    with pytest.raises(ValueError, match=re.escape(where)):
        zhongshan_expert(element)


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
        (
            hohhot_expert,
            HohhotMalformed,
            {"specialty_list": [{"specialty_code": "A020101"}], "available_flag": "1", "avoid_unit_list": "x"},
            "avoid_unit_list",
        ),
        (
            hohhot_expert,
            HohhotMalformed,
            {
                "specialty_list": [{"specialty_code": "A020101"}],
                "available_flag": "1",
                "avoid_unit_list": [{"unit_credit_code": "x", "relation_type": "01"}],
            },
            "relation_type",
        ),
        (shenzhen_expert, ShenzhenMalformed, {"specialtyCodes": ["1001"], "workUnit": {}, "expertStatus": "1"}, "data"),
        (
            shenzhen_expert,
            ShenzhenMalformed,
            {
                "specialtyCodes": ["1001"],
                "workUnit": {},
                "expertStatus": "1",
                "penalties": [{"reason": "x", "startDate": "20260101", "endDate": "2026-02-01"}],
            },
            "startDate",
        ),
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
