"""The v2 avoidance rules through the REST face and the real sandboxes: an expert related to a bidder (as
the pool reports it), the supervising department's staff and experts under sanction are kept off the
committee, each with its reason, and the published record re-runs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from evaluation_world import (
    HOHHOT,
    ZHONGSHAN,
    Evaluation,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    hohhot_project,
    session_request,
)
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.services.evaluation import ALGORITHM


def _candidates(evaluation: Evaluation, specialties: tuple[str, ...]) -> list[Any]:
    """Every expert of the session's venues who has one of its specialties (the draw's candidates)."""
    return [
        expert
        for city in (HOHHOT, ZHONGSHAN, "440300")
        for expert in evaluation.data.city(city).experts
        if set(expert.specialties) & set(specialties)
    ]


def test_relations_the_supervising_department_and_sanctions_are_avoided(evaluation: Evaluation, tmp_path: Path) -> None:
    project = hohhot_project(evaluation.data)
    candidates = _candidates(evaluation, project.specialties)
    related = next(expert for expert in candidates if expert.relations)
    relation = related.relations[0]
    enterprise = next(
        party
        for city in evaluation.data.cities
        for party in city.enterprises
        if party.id_number == relation.credit_code
    )
    official = next(expert for expert in candidates if expert.employer.id_number.startswith("12"))
    department = {"name": official.employer.name, "credit_code": official.employer.id_number}
    body = session_request(evaluation.data, project, bidders=[*project.bidders, enterprise])
    created = evaluation.post(evaluation.organiser, "/v1/evaluations", {**body, "supervising_department": department})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    assert created.json()["supervising_department"] == department
    assert evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {}).status_code == 200

    record = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()["draw"]
    assert record["algorithm"] == ALGORITHM
    assert record["snapshot"]["session"]["supervising_department"] == department["credit_code"]
    excluded = {(item["city"], item["expert_id"]): item["reasons"] for item in record["exclusions"]}
    words = {
        "close_relative_employed": "a close relative works for",
        "shareholder": "holds or held shares in",
        "former_employer": "worked in the last three years for",
    }[relation.relation]
    assert {"rule": "related_to_bidder", "detail": f"{words} the bidder {enterprise.id_number}"} in excluded[
        (related.city, related.expert_id)
    ]
    staff = {(e.city, e.expert_id) for e in candidates if e.employer.id_number == department["credit_code"]}
    assert staff and all(
        {
            "rule": "staff_of_supervising_department",
            "detail": f"works for the supervising department {department['credit_code']}",
        }
        in excluded[key]
        for key in staff
    )
    drawn_on = date.fromisoformat(record["snapshot"]["session"]["drawn_on"])
    sanctioned = {
        (e.city, e.expert_id) for e in candidates for s in e.sanctions if s.starts_on <= drawn_on <= s.ends_on
    }
    with_rule = {key for key, reasons in excluded.items() if any(r["rule"] == "under_sanction" for r in reasons)}
    assert with_rule == sanctioned
    seated = {(item["city"], item["expert_id"]) for item in record["committee"] + record["reserves"]}
    assert not seated & ({(related.city, related.expert_id)} | staff | sanctioned)

    record_file = tmp_path / "draw.json"
    record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert CliRunner().invoke(cli, ["evaluation", "redraw", str(record_file)]).exit_code == 0


def test_the_supervising_department_is_checked_on_creation(evaluation: Evaluation) -> None:
    body = session_request(evaluation.data, hohhot_project(evaluation.data))
    bad = {"name": "呼和浩特市财政局", "credit_code": "11150100MB1234567X"}
    answer = evaluation.post(evaluation.organiser, "/v1/evaluations", {**body, "supervising_department": bad})
    assert answer.status_code == 422 and "supervising_department.credit_code" in answer.json()["detail"]
    without = evaluation.post(evaluation.organiser, "/v1/evaluations", body)
    assert without.status_code == 201 and without.json()["supervising_department"] is None
