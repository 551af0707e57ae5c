"""A replaced expert's identity is as confidential as a seated one's: the seat's `replaced` history
names them to supervisors only."""

from __future__ import annotations

from evaluation_world import (
    HOHHOT,
    ZHONGSHAN,
    Evaluation,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    hohhot_project,
    session_request,
)


def test_who_gave_way_is_shown_to_supervisors_only(evaluation: Evaluation) -> None:
    body = session_request(evaluation.data, hohhot_project(evaluation.data))
    session_id = evaluation.post(evaluation.organiser, "/v1/evaluations", body).json()["id"]
    base = f"/v1/evaluations/{session_id}"
    assert evaluation.post(evaluation.organiser, f"{base}/draw", {}).status_code == 200
    seat = next(seat for seat in evaluation.get(evaluation.supervisor, base).json()["seats"] if seat["seat"] == "E1")
    replaced = evaluation.post(evaluation.organiser, f"{base}/replacements", {"seat": "E1", "reason": "absent"})
    assert replaced.status_code == 200, replaced.text

    supervised = evaluation.get(evaluation.supervisor, base).json()
    history = next(item for item in supervised["seats"] if item["seat"] == "E1")["replaced"]
    assert [entry["identity"] for entry in history] == [seat["identity"]]
    for answer in (
        replaced,
        evaluation.get(evaluation.organiser, base),
        evaluation.get(evaluation.venues[HOHHOT], base),
        evaluation.get(evaluation.venues[ZHONGSHAN], base),
    ):
        view = next(item for item in answer.json()["seats"] if item["seat"] == "E1")
        assert [entry["reason"] for entry in view["replaced"]] == ["absent"]
        assert all("identity" not in entry for entry in view["replaced"])
        assert seat["identity"]["name"] not in answer.text and seat["identity"]["id_number"] not in answer.text
