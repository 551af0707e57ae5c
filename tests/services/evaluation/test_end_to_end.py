"""A remote evaluation through the REST face with the real sandboxes: Hohhot the main venue, Zhongshan
and Shenzhen secondary; from scheduling through the draw, check-in and declarations to evaluating."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evaluation_world import (
    HOHHOT,
    SHENZHEN,
    ZHONGSHAN,
    Evaluation,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    hohhot_project,
    session_request,
)
from typer.testing import CliRunner

from gateway.cli import app as cli


def _pool_expert_at_a_company(evaluation: Evaluation, specialties: tuple[str, ...]) -> Any:
    """An available Hohhot expert of one of the project's specialties who works for a company."""
    return next(
        expert
        for expert in evaluation.data.city("hohhot").experts
        if expert.available
        and set(expert.specialties) & set(specialties)
        and expert.employer.id_number.startswith("91")
    )


def test_a_session_runs_from_scheduling_to_evaluating(evaluation: Evaluation, tmp_path: Path) -> None:
    project = hohhot_project(evaluation.data)
    conflicted = _pool_expert_at_a_company(evaluation, project.specialties)
    bidders = [*project.bidders, conflicted.employer]  # the expert's employer bids: the expert must not sit
    created = evaluation.post(
        evaluation.organiser, "/v1/evaluations", session_request(evaluation.data, project, bidders=bidders)
    )
    assert created.status_code == 201, created.text
    session = created.json()
    session_id, commitment = session["id"], session["seed_commitment"]
    assert session["state"] == "scheduled" and [seat["seat"] for seat in session["seats"]] == ["T1"]
    assert "identity" not in session["seats"][0]

    illegal = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "evaluating"})
    assert illegal.status_code == 409 and illegal.json()["code"] == "evaluation.illegal_transition"
    by_hand = evaluation.post(
        evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "committee_drawn"}
    )
    assert by_hand.status_code == 409 and by_hand.json()["code"] == "evaluation.not_ready"

    drawn = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {})
    assert drawn.status_code == 200, drawn.text
    public = drawn.json()
    assert public["state"] == "committee_drawn" and public["identities_shown"] is False
    assert all("identity" not in seat for seat in public["seats"]) and "seed" not in public["draw"]
    experts = [seat for seat in public["seats"] if seat["kind"] == "expert"]
    assert len(experts) == 6 and {seat["venue"] for seat in experts} == {HOHHOT, ZHONGSHAN, SHENZHEN}
    assert {seat["specialty"] for seat in experts} == set(project.specialties)

    # The supervisor sees who sits where, and the whole record; it re-runs to the same committee.
    supervised = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()
    record = supervised["draw"]
    assert hashlib.sha256(bytes.fromhex(record["seed"])).hexdigest() == commitment
    assert record["snapshot"]["pools_not_offered"] == []  # each venue's pool, Zhongshan's through SOAP too
    assert {venue: len(pool) for venue, pool in record["snapshot"]["pools"].items()} == {
        city: len(evaluation.data.city(city).experts) for city in (HOHHOT, ZHONGSHAN, SHENZHEN)
    }
    seated = {
        (seat["identity"]["city"], seat["identity"]["expert_id"])
        for seat in supervised["seats"]
        if seat["kind"] == "expert"
    }
    assert (conflicted.city, conflicted.expert_id) not in seated
    excluded = {(item["city"], item["expert_id"]): item["reasons"] for item in record["exclusions"]}
    assert {
        "rule": "employed_by_bidder",
        "detail": f"works for the bidder {conflicted.employer.id_number}",
    } in excluded[(conflicted.city, conflicted.expert_id)]
    record_file = tmp_path / "draw.json"
    record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    rerun = CliRunner().invoke(cli, ["evaluation", "redraw", str(record_file)])
    assert rerun.exit_code == 0, rerun.output
    # An outsider reads nothing of the session.
    assert evaluation.get(evaluation.outsider, f"/v1/evaluations/{session_id}").status_code == 403

    # Check-in: each seat at its venue, attested by that venue's member only.
    seats = supervised["seats"]
    wrong = next(city for city in (HOHHOT, SHENZHEN) if city != seats[1]["venue"])
    refused = evaluation.post(
        evaluation.venues[wrong],
        f"/v1/evaluations/{session_id}/checkins",
        {"seat": seats[1]["seat"], "venue": seats[1]["venue"]},
    )
    assert refused.status_code == 403
    for seat in seats:
        checked = evaluation.post(
            evaluation.venues[seat["venue"]],
            f"/v1/evaluations/{session_id}/checkins",
            {"seat": seat["seat"], "venue": seat["venue"]},
        )
        assert checked.status_code == 200, checked.text
    assert checked.json()["state"] == "checking_in"
    moved = evaluation.post(
        evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "committee_complete"}
    )
    assert moved.status_code == 200, moved.text

    # Declarations: one member declares a conflict; evaluation cannot start until that member is replaced.
    for seat in seats:
        conflict = seat["seat"] == "E2"
        body = {"seat": seat["seat"], "conflict": conflict}
        if conflict:
            body["statement"] = "本人近三年曾在投标人处兼职"
        declared = evaluation.post(evaluation.venues[seat["venue"]], f"/v1/evaluations/{session_id}/declarations", body)
        assert declared.status_code == 200, declared.text
    blocked = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "evaluating"})
    assert blocked.status_code == 409 and "E2" in blocked.json()["detail"]
    replaced = evaluation.post(
        evaluation.organiser,
        f"/v1/evaluations/{session_id}/replacements",
        {"seat": "E2", "reason": "conflict_of_interest"},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["state"] == "checking_in"
    e2 = next(
        seat
        for seat in evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()["seats"]
        if seat["seat"] == "E2"
    )
    assert e2["replaced"][0]["reason"] == "conflict_of_interest" and e2["identity"] != e2["replaced"][0]["identity"]
    assert (
        evaluation.post(
            evaluation.venues[e2["venue"]],
            f"/v1/evaluations/{session_id}/checkins",
            {"seat": "E2", "venue": e2["venue"]},
        ).status_code
        == 200
    )
    assert (
        evaluation.post(
            evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "committee_complete"}
        ).status_code
        == 200
    )
    assert (
        evaluation.post(
            evaluation.venues[e2["venue"]],
            f"/v1/evaluations/{session_id}/declarations",
            {"seat": "E2", "conflict": False},
        ).status_code
        == 200
    )
    started = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "evaluating"})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "evaluating"

    # Every venue follows the same log: ids 1, 2, 3... with no gap, every state change in it.
    events = evaluation.events(
        evaluation.venues[ZHONGSHAN], session_id, until=lambda event: event["data"].get("to") == "evaluating"
    )
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    path = [event["data"]["to"] for event in events if event["kind"] == "state_changed"]
    assert path == [
        "committee_drawn", "checking_in", "committee_complete", "declarations", "checking_in",
        "committee_complete", "declarations", "evaluating",
    ]  # fmt: skip
    assert all("identity" not in json.dumps(event, ensure_ascii=False) for event in events)

    # Each change is in the audit log with the session's id, the draw with its commitment and seed.
    draw_entries = evaluation.gateway.runtime.audit_log.entries_for(drawn.headers["x-tongban-exchange-id"])
    committed = [entry for _index, entry in draw_entries if entry["kind"] == "evaluation.committee_drawn"]
    assert committed and committed[0]["session_id"] == session_id
    assert committed[0]["data"]["seed_commitment"] == commitment and committed[0]["data"]["seed"] == record["seed"]

    # Scores: every member marks every bidder from its venue; one mark is far from the others'.
    bidder_codes = [bidder.id_number for bidder in bidders]
    early = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "scores_locked"})
    assert early.status_code == 409 and "scores are still missing" in early.json()["detail"]
    seats = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()["seats"]
    for number, seat in enumerate(seats):
        for rank, code in enumerate(bidder_codes):
            technical = 20.0 if (seat["seat"], rank) == ("E3", 0) else 50 - rank + number % 2
            marks = {"technical": technical, "commercial": 25.5, "price": 8}
            body = {"seat": seat["seat"], "bidder": code, "scores": marks}
            scored = evaluation.post(evaluation.venues[seat["venue"]], f"/v1/evaluations/{session_id}/scores", body)
            assert scored.status_code == 200, scored.text
    too_high = {"seat": "T1", "bidder": bidder_codes[0], "scores": {"technical": 61, "commercial": 1, "price": 1}}
    assert (
        evaluation.post(evaluation.venues[HOHHOT], f"/v1/evaluations/{session_id}/scores", too_high).status_code == 422
    )
    before_lock = evaluation.get(evaluation.organiser, f"/v1/evaluations/{session_id}").json()["scoring"]
    assert set(before_lock) == {"submitted"} and before_lock["submitted"]["E1"] == sorted(bidder_codes)
    locked = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "scores_locked"})
    assert locked.status_code == 200, locked.text
    flagged = locked.json()["scoring"]["deviations"]
    assert [(item["seat"], item["bidder"], item["criterion"]) for item in flagged] == [
        ("E3", bidder_codes[0], "technical")
    ]
    assert (
        evaluation.post(
            evaluation.venues[HOHHOT],
            f"/v1/evaluations/{session_id}/scores",
            {**too_high, "scores": {"technical": 1, "commercial": 1, "price": 1}},
        ).status_code
        == 409
    )
