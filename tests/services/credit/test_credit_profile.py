"""The individual-business credit profile: every point from a rule in the data, explained."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogs import seed
from catalogs.credit_profile import credit_profile_rules
from gateway.canonical import CreditRecord, CreditSubject
from gateway.services.credit._profile import profile_of

ON = date(2026, 12, 7)
RULES = credit_profile_rules()
SHOP = CreditSubject(
    uscc="92440300TBKW6F1R8A", name="深圳市南山区示例士多店", subject_type="individual_business", status="active"
)


def _record(kind: str, **extra: Any) -> CreditRecord:
    values: dict[str, Any] = {"title": "t", "authority": "深圳市市场监督管理局", "decided_on": date(2025, 3, 1)}
    return CreditRecord(kind=kind, **(values | extra))  # type: ignore[arg-type]


def test_each_point_comes_from_a_rule_and_caps_hold() -> None:
    records = (
        _record("administrative_penalty", decision_number="深市监罚〔2025〕1号", valid_until=date(2027, 1, 1)),
        _record("administrative_penalty", decision_number="深市监罚〔2024〕2号", repaired_on=date(2025, 9, 1)),
        _record("credit_commitment", commitment_outcome="kept"),
        *(_record("commendation", decision_number=f"深信激〔2025〕{n}号") for n in range(3)),
        _record("abnormal_operation", valid_until=date(2026, 1, 1)),  # its window has ended: no points
    )
    profile = profile_of(SHOP.model_copy(update={"records": records}), RULES, ON)
    by_rule = {item["rule"]: item for item in profile["explanation"]}
    assert {rule: item["points"] for rule, item in by_rule.items()} == {
        "penalty_publishing": -10,
        "penalty_repaired": -2,
        "commitment_kept": 3,
        "red_list": 10,
    }
    assert (by_rule["red_list"]["matched"], by_rule["red_list"]["counted"]) == (3, 2)
    assert by_rule["penalty_publishing"]["records"][0]["decision_number"] == "深市监罚〔2025〕1号"
    assert profile["score"] == 80 - 10 - 2 + 3 + 10 == profile["unbounded_score"]
    assert (profile["band"], profile["rule_set_version"]) == ("B", RULES.version)


def test_the_score_stays_in_range_and_the_band_follows_it() -> None:
    records = (
        _record("serious_dishonesty", valid_until=date(2027, 1, 1)),
        _record("dishonest_judgement_debtor", valid_until=date(2027, 1, 1)),
        _record("abnormal_operation"),
        _record("credit_commitment", commitment_outcome="breached"),
    )
    profile = profile_of(SHOP.model_copy(update={"records": records}), RULES, ON)
    assert profile["unbounded_score"] == 80 - 40 - 30 - 15 - 10
    assert (profile["score"], profile["band"]) == (0, "D")


@given(st.lists(st.sampled_from([r.kind for r in RULES.rules]), max_size=12))
def test_the_explanation_always_adds_up(kinds: list[str]) -> None:
    subject = SHOP.model_copy(update={"records": tuple(_record(kind) for kind in kinds)})
    profile = profile_of(subject, RULES, ON)
    assert profile["unbounded_score"] == RULES.base + sum(item["points"] for item in profile["explanation"])
    assert RULES.minimum <= profile["score"] <= RULES.maximum
    assert profile["band"] == RULES.band_for(profile["score"]).band


def _post(gateway: Any, member: Any, body: dict[str, Any]) -> Any:
    return gateway.call(
        member,
        "POST",
        "/v1/credit/profiles",
        body=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )


@pytest.fixture
def profiling_gateway(start_gateway: Any) -> Any:
    from adapters.sandboxes import start_sandboxes

    sandboxes = start_sandboxes(base_port=0)
    yield start_gateway(partner_urls=sandboxes.regions(), trust_list_urls={})
    sandboxes.stop()


def test_a_profile_end_to_end_for_an_individual_business_only(profiling_gateway: Any) -> None:
    gateway = profiling_gateway
    member = gateway.add_member("440300.scjg.supervision")
    gateway.grant(member.id, "credit.query")
    city = seed.generate().city("shenzhen")
    shop = next(s for s in city.credit_subjects if s.subject_type == "individual_business")
    company = next(s for s in city.credit_subjects if s.subject_type == "enterprise")

    answer = _post(gateway, member, {"subject_code": shop.uscc, "purpose": "supervision"})
    assert answer.status_code == 200, answer.text
    profile = answer.json()
    assert profile["score"] == profile_of(shop, RULES, gateway.runtime.clock.now().date())["score"]
    assert profile["subject"]["name"] == shop.name and answer.headers["ratelimit-remaining"]
    assert "administrative_penalties" in profile["sections_read"]

    not_a_shop = _post(gateway, member, {"subject_code": company.uscc, "purpose": "supervision"})
    assert not_a_shop.status_code == 422 and "individual_business" in not_a_shop.json()["detail"]
    withheld = _post(gateway, member, {"subject_code": shop.uscc, "purpose": "financing"})
    assert withheld.status_code == 403 and "administrative_penalties" in withheld.json()["detail"]
