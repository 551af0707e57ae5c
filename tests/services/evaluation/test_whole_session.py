"""The issue's whole flow in one session, through the REST face with the real sandboxes and their PKI:
a Hohhot main venue with Zhongshan and Shenzhen secondary venues, from scheduling to archive. The
draw re-runs from its revealed seed; a declared conflict is replaced from the reserve; a suspended
session resumes; a venue that drops its stream resumes it without gap or repeat; every member signs
the report through the cloud signature service of the member's city; the record proves every event
and the archive verifies offline against the audit log's key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from evaluation_world import (
    HOHHOT,
    SHENZHEN,
    ZHONGSHAN,
    SigningEvaluation,
    default_marks,
    hohhot_project,
    session_request,
    sign_for_seat,
    signing_evaluation_fixture,  # noqa: F401 (the `signing_evaluation` fixture)
    signing_sandboxes_fixture,  # noqa: F401 (the `signing_sandboxes` fixture)
)
from typer.testing import CliRunner

from gateway.cli import app as cli


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_session_runs_from_scheduling_to_archive(signing_evaluation: SigningEvaluation, tmp_path: Path) -> None:
    world = signing_evaluation
    project = hohhot_project(world.data)
    session = _ok(world.post(world.organiser, "/v1/evaluations", session_request(world.data, project)), 201)
    base = f"/v1/evaluations/{session['id']}"

    def organise(step: str, body: dict[str, Any]) -> dict[str, Any]:
        return _ok(world.post(world.organiser, f"{base}/{step}", body))

    def at_venue(seat: dict[str, Any], step: str, body: dict[str, Any]) -> dict[str, Any]:
        return _ok(world.post(world.venues[seat["venue"]], f"{base}/{step}", {"seat": seat["seat"], **body}))

    def supervised() -> dict[str, Any]:
        return _ok(world.get(world.supervisor, base))

    # The draw, re-run by anyone from the revealed seed and the published snapshot.
    organise("draw", {})
    record_file = tmp_path / "draw.json"
    record_file.write_text(json.dumps(supervised()["draw"], ensure_ascii=False), encoding="utf-8")
    rerun = CliRunner().invoke(cli, ["evaluation", "redraw", str(record_file)])
    assert rerun.exit_code == 0, rerun.output
    seats = supervised()["seats"]
    assert {seat["venue"] for seat in seats} == {HOHHOT, ZHONGSHAN, SHENZHEN}

    # Check-in and declarations; E1 declares a conflict and gives way to a reserve.
    for seat in seats:
        at_venue(seat, "checkins", {"venue": seat["venue"]})
    organise("transitions", {"to": "committee_complete"})
    for seat in seats:
        conflict = seat["seat"] == "E1"
        at_venue(
            seat, "declarations", {"conflict": conflict, **({"statement": "近三年曾任投标人顾问"} if conflict else {})}
        )
    organise("replacements", {"seat": "E1", "reason": "conflict_of_interest"})
    e1 = next(seat for seat in supervised()["seats"] if seat["seat"] == "E1")
    assert e1["identity"] != e1["replaced"][0]["identity"]
    at_venue(e1, "checkins", {"venue": e1["venue"]})
    organise("transitions", {"to": "committee_complete"})
    at_venue(e1, "declarations", {"conflict": False})
    organise("transitions", {"to": "evaluating"})

    # Suspended with a timer, resumed in time: back where it was.
    paused = organise("transitions", {"to": "suspended", "reason": "副会场网络中断", "resume_within_minutes": 30})
    assert paused["paused_from"] == "evaluating" and paused["suspension"]["resume_by"]
    assert organise("transitions", {"to": "evaluating", "reason": "网络恢复"})["state"] == "evaluating"

    # Scores from every venue, locked; the report drafted and signed by every member remotely.
    seats = supervised()["seats"]
    for seat_index, seat in enumerate(seats):
        for bidder_index, bidder in enumerate(session["bidders"]):
            marks = default_marks(seat_index, bidder_index)
            at_venue(seat, "scores", {"bidder": bidder["credit_code"], "scores": marks})
    organise("transitions", {"to": "scores_locked"})
    report = organise("report", {})["report"]
    assert report["content"]["ranking"][0]["bidder"] == session["bidders"][0]["credit_code"]
    organise("transitions", {"to": "signing"})
    for seat in seats:
        signed = sign_for_seat(world, session["id"], seat)
        assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "signed"

    # Until the award is published nobody but the supervisors learns who sat; then, as the notice names them.
    assert all("identity" not in seat for seat in _ok(world.get(world.organiser, base))["seats"])
    award = {"notice_url": "https://ggzy.huhhot.gov.cn/gs/zbhxr/2026/12/0001.html"}
    assert organise("award", award)["award"]["notice_url"] == award["notice_url"]
    named = _ok(world.get(world.venues[ZHONGSHAN], base))["seats"]
    by_seat = {seat["seat"]: seat["identity"] for seat in seats}
    for seat in named:
        assert seat["identity"]["name"] == by_seat[seat["seat"]]["name"]
        assert "id_number" not in seat["identity"] and "expert_id" not in seat["identity"]
    again = world.post(world.organiser, f"{base}/award", award)
    assert again.status_code == 409, again.text
    assert organise("transitions", {"to": "archived"})["state"] == "archived"

    # A venue that dropped its stream after event 5 resumes with exactly the events it missed.
    venue = world.venues[ZHONGSHAN]
    whole = world.events(venue, session["id"])  # up to the archived session's end (204)
    ids = [event["id"] for event in whole]
    assert ids == list(range(1, len(ids) + 1))
    assert [event["id"] for event in world.events(venue, session["id"], last_event_id=5)] == ids[5:]
    kinds = {event["kind"] for event in whole}
    assert {"committee_drawn", "seat_replaced", "report_drafted", "signed", "award_published"} <= kinds
    assert not any(by_seat["E2"]["id_number"] in json.dumps(event, ensure_ascii=False) for event in whole)

    # The record proves every event; the main venue's archive verifies offline with the log's key.
    record = _ok(world.get(world.supervisor, f"{base}/record"))
    assert [event["id"] for event in record["events"]] == ids
    assert all(event["audit"]["entry"]["data"] == event["data"] for event in record["events"])
    archive = _ok(world.get(world.venues[HOHHOT], f"{base}/archive"))
    archive_file, key_file = tmp_path / "archive.json", tmp_path / "audit.pem"
    archive_file.write_text(json.dumps(archive, ensure_ascii=False), encoding="utf-8")
    log = world.gateway.runtime.transparency_log
    assert log is not None
    key_file.write_bytes(
        log.signer.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    checked = CliRunner().invoke(cli, ["audit", "check", str(archive_file), "--key", str(key_file)])
    assert checked.exit_code == 0, checked.output
    assert "FAIL" not in checked.output and "manifest" in checked.output
