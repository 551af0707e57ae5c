"""The expert draw: a pure function of (snapshot, seed), avoidance with reasons, and the redraw check
(`tongban evaluation redraw`) that catches a tampered record."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from catalogs import make_uscc
from gateway.cli import app as cli
from gateway.services.evaluation import ALGORITHM, ALGORITHMS, DrawImpossible, check_record, draw, snapshot_digest

SPECIALTIES = ("information_technology", "financial_accounting", "legal_services")
TENDERER = make_uscc("1", "1", "150100", "TB000001")
BIDDER = make_uscc("9", "1", "440300", "TB000002")
ELSEWHERE = make_uscc("9", "1", "442000", "TB000003")


def _expert(city: str, number: int, specialty: str, **changes: Any) -> dict[str, Any]:
    return {
        "expert_id": f"{city}ZJ{number:04d}",
        "city": city,
        "specialties": [specialty],
        "available": True,
        "employer_credit_code": ELSEWHERE,
        "relations": [],
        "sanctions": [],
        **changes,
    }


def _snapshot(**session: Any) -> dict[str, Any]:
    pools = {
        city: [_expert(city, index + 1, SPECIALTIES[index % 3]) for index in range(12)] for city in ("150100", "440300")
    }
    return {
        "session": {
            "id": "EV20261208TEST",
            "specialties": list(SPECIALTIES),
            "venues": ["150100", "442000", "440300"],
            "seats": 6,
            "reserves": 3,
            "bidders": [BIDDER],
            "tenderer": TENDERER,
            "drawn_on": "2026-12-08",
            "recent_days": 90,
            "supervising_department": None,
            **session,
        },
        "pools": pools,
        "pools_not_offered": ["442000"],
        "recent": [],
    }


def _record(snapshot: dict[str, Any], seed: str, algorithm: str = ALGORITHM) -> dict[str, Any]:
    return {
        "session_id": snapshot["session"]["id"],
        "algorithm": algorithm,
        "drawn_at": "2026-12-08T08:30:00+00:00",
        "seed_commitment": hashlib.sha256(bytes.fromhex(seed)).hexdigest(),
        "seed": seed,
        "snapshot_digest": snapshot_digest(snapshot),
        "snapshot": snapshot,
        **draw(snapshot, seed, algorithm),
    }


SEED = "5eed" * 16


def test_the_same_snapshot_and_seed_draw_the_same_committee() -> None:
    first, again = draw(_snapshot(), SEED), draw(copy.deepcopy(_snapshot()), SEED)
    assert first == again
    other = draw(_snapshot(), "0" * 63 + "1")
    assert [seat["expert_id"] for seat in other["committee"]] != [seat["expert_id"] for seat in first["committee"]]


def test_seats_cover_the_specialties_and_alternate_venues_with_a_pool() -> None:
    result = draw(_snapshot(), SEED)
    committee = result["committee"]
    assert [seat["seat"] for seat in committee] == ["E1", "E2", "E3", "E4", "E5", "E6"]
    assert [seat["specialty"] for seat in committee] == [*SPECIALTIES, *SPECIALTIES]
    assert [seat["venue"] for seat in committee] == ["150100", "440300"] * 3  # Zhongshan offers no pool
    assert all(seat["city"] == seat["venue"] for seat in committee)
    chosen = {(seat["city"], seat["expert_id"]) for seat in committee}
    assert len(chosen) == 6 and [item["specialty"] for item in result["reserves"]] == list(SPECIALTIES)
    assert all(item["specialty"] in item["specialties"] for item in result["reserves"])
    assert not chosen & {(item["city"], item["expert_id"]) for item in result["reserves"]}


def test_avoidance_excludes_with_the_reason_for_each_rule() -> None:
    snapshot = _snapshot()
    pool = snapshot["pools"]["150100"]
    pool[0]["available"] = False
    pool[1]["employer_credit_code"] = BIDDER
    pool[2]["employer_credit_code"] = TENDERER
    snapshot["recent"] = [
        {"city": "150100", "expert_id": pool[3]["expert_id"], "tenderer": TENDERER, "on": "2026-10-01"},
        {"city": "150100", "expert_id": pool[4]["expert_id"], "tenderer": TENDERER, "on": "2026-08-01"},  # too long ago
        {"city": "150100", "expert_id": pool[5]["expert_id"], "tenderer": BIDDER, "on": "2026-12-01"},  # other tenderer
    ]
    result = draw(snapshot, SEED)
    reasons = {item["expert_id"]: [reason["rule"] for reason in item["reasons"]] for item in result["exclusions"]}
    assert reasons == {
        pool[0]["expert_id"]: ["unavailable"],
        pool[1]["expert_id"]: ["employed_by_bidder"],
        pool[2]["expert_id"]: ["employed_by_tenderer"],
        pool[3]["expert_id"]: ["recently_evaluated_for_tenderer"],
    }
    detail = next(item for item in result["exclusions"] if item["expert_id"] == pool[1]["expert_id"])["reasons"][0]
    assert detail["detail"] == f"works for the bidder {BIDDER}"
    drawn = {seat["expert_id"] for seat in result["committee"]} | {item["expert_id"] for item in result["reserves"]}
    assert not drawn & set(reasons)


def test_declared_relations_the_supervising_department_and_sanctions_are_avoided() -> None:
    department = make_uscc("1", "1", "150100", "TB000004")
    snapshot = _snapshot(supervising_department=department)
    pool = snapshot["pools"]["440300"]
    pool[0]["relations"] = [{"credit_code": BIDDER, "relation": "close_relative_employed"}]
    pool[1]["relations"] = [
        {"credit_code": ELSEWHERE, "relation": "shareholder"},  # not a party to this tender
        {"credit_code": TENDERER, "relation": "former_employer"},
    ]
    pool[2]["employer_credit_code"] = department
    pool[3]["sanctions"] = [{"starts_on": "2026-12-08", "ends_on": "2027-06-07"}]  # from the draw date on
    pool[4]["sanctions"] = [{"starts_on": "2025-01-01", "ends_on": "2026-12-07"}]  # over the day before
    pool[5]["sanctions"] = [{"starts_on": "2026-12-09", "ends_on": "2027-01-01"}]  # not yet in force
    result = draw(snapshot, SEED)
    reasons = {item["expert_id"]: item["reasons"] for item in result["exclusions"]}
    assert reasons == {
        pool[0]["expert_id"]: [
            {"rule": "related_to_bidder", "detail": f"a close relative works for the bidder {BIDDER}"}
        ],
        pool[1]["expert_id"]: [
            {"rule": "related_to_tenderer", "detail": "worked in the last three years for the tenderer"}
        ],
        pool[2]["expert_id"]: [
            {"rule": "staff_of_supervising_department", "detail": f"works for the supervising department {department}"}
        ],
        pool[3]["expert_id"]: [
            {"rule": "under_sanction", "detail": "under a sanction from 2026-12-08 until 2027-06-07"}
        ],
    }
    drawn = {seat["expert_id"] for seat in result["committee"]} | {item["expert_id"] for item in result["reserves"]}
    assert not drawn & set(reasons)
    assert check_record(_record(snapshot, SEED)) == []


def test_a_v1_record_re_runs_by_the_v1_rules_and_an_unknown_algorithm_is_refused(tmp_path: Path) -> None:
    snapshot = _snapshot()
    del snapshot["session"]["supervising_department"]
    for pool in snapshot["pools"].values():
        for expert in pool:
            del expert["relations"], expert["sanctions"]
    old = _record(snapshot, SEED, ALGORITHMS[0])  # as drawn before v2: its snapshot has no v2 fields
    assert old["algorithm"].startswith("tongban-draw-v1") and check_record(old) == []
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert CliRunner().invoke(cli, ["evaluation", "redraw", str(path)]).exit_code == 0
    assert any("cannot be re-run" in problem for problem in check_record({**old, "algorithm": ALGORITHM}))
    unknown = check_record({**old, "algorithm": "tongban-draw-v9"})
    assert unknown == [
        "the record cannot be re-run: its algorithm 'tongban-draw-v9' is not one this version re-runs: "
        + "; ".join(ALGORITHMS)
    ]
    path.write_text(json.dumps({**old, "algorithm": "tongban-draw-v9"}), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["evaluation", "redraw", str(path)])
    assert refused.exit_code == 1 and "not one this version re-runs" in refused.output


def test_a_pool_too_small_cannot_fill_the_committee() -> None:
    snapshot = _snapshot(specialties=["land_and_minerals"])
    with pytest.raises(DrawImpossible) as caught:
        draw(snapshot, SEED)
    assert caught.value.status == 409 and "land_and_minerals" in caught.value.detail


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), unavailable=st.sets(st.integers(0, 11), max_size=4))
def test_any_seed_draws_a_valid_committee_that_re_runs_the_same(seed: bytes, unavailable: set[int]) -> None:
    snapshot = _snapshot()
    for index in unavailable:
        snapshot["pools"]["440300"][index]["available"] = False
    record = _record(snapshot, seed.hex())
    assert check_record(record) == []
    excluded = {("440300", snapshot["pools"]["440300"][index]["expert_id"]) for index in unavailable}
    seated = {(seat["city"], seat["expert_id"]) for seat in record["committee"]}
    assert len(seated) == 6 and not seated & excluded
    for seat in record["committee"]:
        expert = next(e for e in snapshot["pools"][seat["city"]] if e["expert_id"] == seat["expert_id"])
        assert seat["specialty"] in expert["specialties"]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda r: r["committee"].reverse(), "the committee differ"),
        (lambda r: r.update(seed="ab" * 32), "does not match the commitment"),
        (lambda r: r["snapshot"]["pools"]["150100"][0].update(available=False), "snapshot does not match its digest"),
        (
            lambda r: r["exclusions"].append({"expert_id": "x", "city": "150100", "reasons": []}),
            "the exclusions differ",
        ),
    ],
)
def test_the_redraw_finds_a_tampered_record(tamper: Any, problem: str, tmp_path: Path) -> None:
    record = _record(_snapshot(), SEED)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    good = CliRunner().invoke(cli, ["evaluation", "redraw", str(path)])
    assert good.exit_code == 0, good.output
    assert "re-runs to the same result" in good.output
    tamper(record)
    assert any(problem in found for found in check_record(record))
    path.write_text(json.dumps(record), encoding="utf-8")
    bad = CliRunner().invoke(cli, ["evaluation", "redraw", str(path)])
    assert bad.exit_code == 1
    assert problem in bad.output


def test_the_redraw_refuses_what_is_not_a_record(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert CliRunner().invoke(cli, ["evaluation", "redraw", str(path)]).exit_code == 1
    path.write_text('{"seed": "zz"}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluation", "redraw", str(path)])
    assert result.exit_code == 1 and "cannot be re-run" in result.output
