"""The repository's copy of published GB 32100 codes (tests/vectors/gb32100-uscc.json), asked for
through the REST face: a published valid code passes every rule of the code (the sandbox platforms
hold no real enterprise, so 404 from Shenzhen's), a published invalid one and each corruption of a
valid one are 422 naming the rule broken."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import load_vectors
from credit_world import credit_gateway_fixture, sandboxes_fixture  # noqa: F401 (the fixtures)

import catalogs

VECTORS = load_vectors("gb32100-uscc.json")
SERVED = {"440300", "442000", "150100"}  # the cities whose credit platforms the sandboxes run


def _bank(gateway: Any) -> Any:
    member = gateway.add_member("442000.bank.loans")
    gateway.grant(member.id, "credit.query")
    return member


def _report(gateway: Any, member: Any, code: str) -> Any:
    body = json.dumps({"subject_code": code, "purpose": "financing"}).encode()
    return gateway.call(member, "POST", "/v1/credit/reports", body=body, headers={"content-type": "application/json"})


def _corruptions(code: str) -> list[tuple[str, str]]:
    """(corrupted code, the rule its 422 must name): one per rule of GB 32100."""
    other_check = next(c for c in catalogs.USCC_CHARSET if c != code[17])
    other_digit = next(c for c in "0123456789" if c != code[16])
    return [
        (code[:17], "has 17 characters; GB 32100 codes have 18"),
        (code[:5] + "O" + code[6:], "is not in the GB 32100 character set"),
        (code[:17] + other_check, "check character should be"),
        (code[:16] + other_digit + catalogs.uscc_check_character(code[:16] + other_digit), "positions 9-17"),
    ]


@pytest.mark.parametrize("vector", VECTORS["valid_published"], ids=lambda vector: vector["code"])
def test_a_published_valid_code_passes_every_rule_and_each_corruption_is_422(
    credit_gateway: Any, vector: dict[str, str]
) -> None:
    code, bank = vector["code"], _bank(credit_gateway)
    answer = _report(credit_gateway, bank, code)
    if code[2:8] in SERVED:
        assert answer.status_code == 404, answer.text  # a valid code the city's platform does not hold
        assert f"credit platform has no subject {code}" in answer.json()["detail"]
    else:  # valid, but of a city whose platform this gateway does not reach
        assert answer.status_code == 422, answer.text
        assert f"({code[2:8]}) are not a GB/T 2260 region code the catalogue knows" in answer.json()["detail"]
    for corrupted, rule in _corruptions(code):
        refused = _report(credit_gateway, bank, corrupted)
        assert refused.status_code == 422, (corrupted, refused.text)
        assert rule in refused.json()["detail"], (corrupted, refused.json()["detail"])


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda vector: vector["code"])
def test_a_published_invalid_code_is_422_naming_the_rule(credit_gateway: Any, vector: dict[str, str]) -> None:
    rule = "check character should be" if "check character" in vector["why"] else "not in the GB 32100 character set"
    answer = _report(credit_gateway, _bank(credit_gateway), vector["code"])
    assert answer.status_code == 422, answer.text
    assert rule in answer.json()["detail"], (vector["why"], answer.json()["detail"])
