"""The session's record and archive: every event proven by its audit entry against a signed
checkpoint (checked here with the Merkle code itself), the archive of an aborted-then-archived
session verified offline by `tongban audit check`, and each kind of tampering caught by name."""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
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

from gateway.audit import (
    Verifier,
    canonical_entry,
    document_sha256,
    leaf_hash,
    open_note,
    parse_checkpoint,
    verify_inclusion,
)
from gateway.cli import app as cli


def _post_ok(evaluation: Evaluation, member: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = evaluation.post(member, path, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _run_to_evaluating(evaluation: Evaluation) -> tuple[str, list[dict[str, Any]]]:
    """A session drawn, checked in, declared and evaluating, with one member's marks in; its id and
    the seats as the supervisor sees them (identities included)."""
    project = hohhot_project(evaluation.data)
    created = evaluation.post(evaluation.organiser, "/v1/evaluations", session_request(evaluation.data, project))
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    base = f"/v1/evaluations/{session_id}"
    _post_ok(evaluation, evaluation.organiser, f"{base}/draw", {})
    seats = evaluation.get(evaluation.supervisor, base).json()["seats"]
    for seat in seats:
        venue = evaluation.venues[seat["venue"]]
        _post_ok(evaluation, venue, f"{base}/checkins", {"seat": seat["seat"], "venue": seat["venue"]})
    _post_ok(evaluation, evaluation.organiser, f"{base}/transitions", {"to": "committee_complete"})
    for seat in seats:
        body = {"seat": seat["seat"], "conflict": False}
        _post_ok(evaluation, evaluation.venues[seat["venue"]], f"{base}/declarations", body)
    _post_ok(evaluation, evaluation.organiser, f"{base}/transitions", {"to": "evaluating"})
    first = seats[0]
    for bidder in project.bidders:
        marks = {
            "seat": first["seat"],
            "bidder": bidder.id_number,
            "scores": {"technical": 50, "commercial": 25.5, "price": 8},
        }
        _post_ok(evaluation, evaluation.venues[first["venue"]], f"{base}/scores", marks)
    return session_id, seats


def _public_key(evaluation: Evaluation) -> Ed25519PublicKey:
    log = evaluation.gateway.runtime.transparency_log
    assert log is not None
    return log.signer.private_key.public_key()


def _proven(item: dict[str, Any], root: bytes, size: int) -> None:
    """The entry hashes to its leaf, and its proof leads to the checkpoint's root (raises otherwise)."""
    computed = leaf_hash(canonical_entry(item["entry"]))
    assert base64.b64decode(item["leaf_hash"]) == computed
    proof = item["inclusion_proof"]
    assert proof["tree_size"] == size and proof["leaf_index"] == item["index"]
    verify_inclusion(computed, item["index"], size, [base64.b64decode(h) for h in proof["hashes"]], root)


def test_the_record_proves_every_event_and_names_no_one(evaluation: Evaluation) -> None:
    session_id, seats = _run_to_evaluating(evaluation)
    response = evaluation.get(evaluation.venues[ZHONGSHAN], f"/v1/evaluations/{session_id}/record")
    assert response.status_code == 200, response.text
    record = response.json()
    text, _signers = open_note(
        record["checkpoint"], [Verifier.from_public_key(record["origin"], _public_key(evaluation))]
    )
    checkpoint = parse_checkpoint(text)

    events = record["events"]
    kinds = [event["kind"] for event in events]
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    bidders = len(hohhot_project(evaluation.data).bidders)
    assert kinds[0] == "created" and "committee_drawn" in kinds and kinds.count("score_submitted") == bidders
    assert kinds.count("checked_in") == len(seats) and kinds.count("declared") == len(seats)
    for event in events:
        entry = event["audit"]["entry"]
        assert entry["kind"] == f"evaluation.{event['kind']}" and entry["data"] == event["data"]
        assert (entry["session_id"], entry["event_id"]) == (session_id, event["id"])
        _proven(event["audit"], checkpoint.root_hash, checkpoint.size)

    # The exchanges that made them: each with its request and response entries, proven too.
    assert len(record["exchanges"]) == len({event["audit"]["entry"]["exchange_id"] for event in events})
    for exchange in record["exchanges"]:
        assert [item["entry"]["kind"] for item in exchange["entries"]] == ["exchange.request", "exchange.response"]
        for item in exchange["entries"]:
            assert item["entry"]["exchange_id"] == exchange["exchange_id"]
            _proven(item, checkpoint.root_hash, checkpoint.size)

    # The entries say what the events say, which every venue follows: no expert is named.
    for seat in seats:
        identity = seat["identity"]
        for value in (identity.get("name"), identity.get("id_number"), identity.get("expert_id")):
            if value:
                assert str(value) not in response.text
    assert evaluation.get(evaluation.outsider, f"/v1/evaluations/{session_id}/record").status_code == 403


def test_the_archive_waits_for_the_end_and_the_main_venue(evaluation: Evaluation) -> None:
    session_id, _seats = _run_to_evaluating(evaluation)
    path = f"/v1/evaluations/{session_id}/archive"
    early = evaluation.get(evaluation.organiser, path)
    assert early.status_code == 409 and early.json()["code"] == "evaluation.not_ready"
    _post_ok(evaluation, evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "aborted"})
    assert evaluation.get(evaluation.venues[HOHHOT], path).status_code == 200
    for member in (evaluation.venues[SHENZHEN], evaluation.venues[ZHONGSHAN], evaluation.outsider):
        assert evaluation.get(member, path).status_code == 403


def _cli_env(evaluation: Evaluation) -> dict[str, str]:
    settings = evaluation.gateway.settings
    return {"TONGBAN_VAR_DIR": str(settings.var_dir), "TONGBAN_DATABASE_URL": settings.database_url}


def _check(archive: dict[str, Any], key_file: Path, tmp_path: Path) -> Any:
    archive_file = tmp_path / "archive.json"
    archive_file.write_text(json.dumps(archive, ensure_ascii=False), encoding="utf-8")
    bare = {name: None for name in os.environ if name.startswith("TONGBAN_")}
    return CliRunner().invoke(cli, ["audit", "check", str(archive_file), "--key", str(key_file)], env=bare)


def _failed(result: Any) -> set[str]:
    return {
        line.split(":", 1)[0].removeprefix("FAIL").strip()
        for line in result.stdout.splitlines()
        if line.startswith("FAIL")
    }


def _event_index(archive: dict[str, Any], kind: str) -> int:
    return next(index for index, event in enumerate(archive["events"]) if event["kind"] == kind)


TAMPERINGS: list[tuple[str, Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], set[str]]]] = [
    (
        "an event's data",
        lambda a: a["events"][_event_index(a, "declared")]["data"].update(conflict=True),
        lambda a: {f"event {a['events'][_event_index(a, 'declared')]['id']} data"},
    ),
    (
        "an entry",
        lambda a: a["events"][0]["audit"]["entry"].update(time="2020-01-01T00:00:00.000000+00:00"),
        lambda a: {"event 1 leaf hash", "event 1 inclusion"},
    ),
    (
        "a document",
        lambda a: a["documents"]["scores"][next(iter(a["documents"]["scores"]))].clear(),
        lambda a: {"document scores"},
    ),
    (
        "the manifest",
        lambda a: a["manifest"]["documents"].update(scores=document_sha256({})),
        lambda a: {"manifest", "document scores"},
    ),
    (
        "the manifest and its document together",
        lambda a: (a["documents"].update(scores={}), a["manifest"]["documents"].update(scores=document_sha256({}))),
        lambda a: {"manifest"},
    ),
    ("a dropped event", lambda a: a["events"].pop(2), lambda a: {"events contiguous"}),
    (
        "a report slipped in",  # its digest is its content's: only the manifest misses it
        lambda a: a["documents"].update(
            report={"content": {"ranking": []}, "digest": document_sha256({"ranking": []})}
        ),
        lambda a: {"document report"},
    ),
    (
        "a report whose digest is not its content's",
        lambda a: a["documents"].update(report={"content": {"ranking": []}, "digest": document_sha256({})}),
        lambda a: {"document report", "report digest"},
    ),
    (
        "an event of another session",
        lambda a: a.update(session_id="EV20261208000000000000"),
        # and then no proven entry binds the manifest
        lambda a: {f"event {event['id']} of this session" for event in a["events"]} | {"manifest"},
    ),
]


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("events not objects", lambda a: a.update(events=["created"])),
    ("an event id a list", lambda a: a["events"][0].update(id=[1])),
    ("audit a list", lambda a: a["events"][0].update(audit=["entry"])),
    ("manifest a list", lambda a: a.update(manifest=["scores"])),
    ("a report a string", lambda a: a["documents"].update(report="报告")),
    ("a document not JSON's numbers", lambda a: a["documents"].update(scores=2**60)),
]


def test_an_aborted_then_archived_session_verifies_offline_and_tampering_is_named(
    evaluation: Evaluation, tmp_path: Path
) -> None:
    session_id, _seats = _run_to_evaluating(evaluation)
    base = f"/v1/evaluations/{session_id}"
    _post_ok(evaluation, evaluation.organiser, f"{base}/transitions", {"to": "aborted", "reason": "投标人质疑"})
    archived = _post_ok(evaluation, evaluation.organiser, f"{base}/transitions", {"to": "archived"})
    assert archived["state"] == "archived"

    key = CliRunner().invoke(cli, ["audit", "key"], env=_cli_env(evaluation))
    assert key.exit_code == 0, key.output
    key_file = tmp_path / "audit-key.pem"
    key_file.write_text(key.stdout)

    full = evaluation.get(evaluation.supervisor, f"{base}/archive")
    assert full.status_code == 200, full.text
    archive = full.json()
    assert archive["format"] == "tongban-evaluation-archive/1" and archive["withheld"] == {}
    assert sorted(archive["documents"]) == ["draw", "scores", "session"]
    assert archive["documents"]["draw"]["seed"] and archive["documents"]["draw"]["snapshot"]["pools"]
    last = archive["events"][-1]
    assert (last["kind"], last["data"]["to"], last["data"]["documents"]) == (
        "state_changed",
        "archived",
        ["draw", "scores", "session"],
    )
    assert evaluation.organiser.id in archive["certificates"] and archive["gateway_keys"]["keys"]
    checked = _check(archive, key_file, tmp_path)
    assert checked.exit_code == 0, checked.output
    assert "FAIL" not in checked.stdout
    assert f"archive of session {session_id} verifies" in checked.stdout

    # The same archive from the local database, by the command line; then the main venue's copy.
    archive_file = tmp_path / "from-cli.json"
    exported = CliRunner().invoke(
        cli, ["evaluation", "archive", session_id, "-o", str(archive_file)], env=_cli_env(evaluation)
    )
    assert exported.exit_code == 0, exported.output
    from_cli = json.loads(archive_file.read_text(encoding="utf-8"))
    # The same entry; its proof may be against a newer checkpoint (the log made one meanwhile), checked below.

    def proven(copy: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in copy["events"][-1]["audit"].items() if key != "inclusion_proof"}

    assert from_cli["manifest"] == archive["manifest"] and proven(from_cli) == proven(archive)
    assert _check(from_cli, key_file, tmp_path).exit_code == 0

    # The main venue's copy withholds what names the experts, and still verifies against the same manifest.
    venue_copy = evaluation.get(evaluation.venues[HOHHOT], f"{base}/archive").json()
    assert "draw" not in venue_copy["documents"] and set(venue_copy["withheld"]) == {"draw"}
    assert venue_copy["manifest"] == archive["manifest"]
    assert _check(venue_copy, key_file, tmp_path).exit_code == 0

    problems = []
    for label, tamper, expected in TAMPERINGS:
        changed = copy.deepcopy(archive)
        tamper(changed)
        result = _check(changed, key_file, tmp_path)
        if result.exit_code == 0 or _failed(result) != expected(changed):
            problems.append((label, sorted(_failed(result)), result.stderr))
    for label, malform in MALFORMED:  # fails in one line, never a traceback
        changed = copy.deepcopy(archive)
        malform(changed)
        result = _check(changed, key_file, tmp_path)
        if result.exit_code == 0 or not result.stderr.startswith("tongban: archive does not verify"):
            problems.append((label, [], result.stderr or repr(result.exception)))
    assert problems == []


def test_an_archive_exported_before_archiving_does_not_prove_its_documents(
    evaluation: Evaluation, tmp_path: Path
) -> None:
    session_id, _seats = _run_to_evaluating(evaluation)
    _post_ok(evaluation, evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": "aborted"})
    archive = evaluation.get(evaluation.organiser, f"/v1/evaluations/{session_id}/archive").json()
    key_file = tmp_path / "audit-key.pem"
    key_file.write_text(CliRunner().invoke(cli, ["audit", "key"], env=_cli_env(evaluation)).stdout)
    result = _check(archive, key_file, tmp_path)
    assert result.exit_code != 0 and _failed(result) == {"manifest"}
    assert result.stderr == "tongban: archive does not verify: manifest\n"
