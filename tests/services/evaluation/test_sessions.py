"""Sessions through the REST face: what creation checks, who sees whom, re-forming a committee,
avoidance across sessions, and the event stream resumed with Last-Event-ID from another process."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from evaluation_world import (
    HOHHOT,
    ZHONGSHAN,
    Evaluation,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    hohhot_project,
    parse_sse,
    run_to_scores_locked,
    session_request,
)

from catalogs import make_uscc
from gateway.services.evaluation import check_record


def _create(evaluation: Evaluation, **changes: Any) -> Any:
    body = {**session_request(evaluation.data, hohhot_project(evaluation.data)), **changes}
    return evaluation.post(evaluation.organiser, "/v1/evaluations", body)


def _move(evaluation: Evaluation, session_id: str, to: str) -> Any:
    return evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/transitions", {"to": to})


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"committee_size": 6}, "odd"),
        ({"committee_size": 3}, "from 5 to 25"),
        ({"specialties": ["alchemy"]}, "evaluation_specialty"),
        ({"main_venue": "110100"}, "reaches no trading centre in city 110100"),
        ({"secondary_venues": [HOHHOT]}, "named once"),
        ({"bidders": [{"name": "某公司", "credit_code": "91440300MA5XXXXXX1"}]}, "bidders[0].credit_code"),
        ({"evaluation_at": "2026-12-08T09:00:00"}, "offset"),
        ({"surprise": 1}, "unknown fields: surprise"),
        ({"criteria": [{"code": "technical", "max": 50}]}, "add up to 100"),
    ],
)
def test_creation_checks_the_session(evaluation: Evaluation, changes: dict[str, Any], detail: str) -> None:
    response = _create(evaluation, **changes)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


def test_at_most_a_third_represents_the_tenderer(evaluation: Evaluation) -> None:
    people = evaluation.data.city("hohhot").persons[:3]
    representatives = [{"name": p.name, "id_number": p.id_number} for p in people]
    response = _create(evaluation, committee_size=7, tenderer_representatives=representatives)
    assert response.status_code == 422 and "at most a third" in response.json()["detail"]
    assert _create(evaluation, committee_size=7, tenderer_representatives=representatives[:2]).status_code == 201


def test_creating_needs_the_organise_right(evaluation: Evaluation) -> None:
    body = session_request(evaluation.data, hohhot_project(evaluation.data))
    assert evaluation.post(evaluation.venues[HOHHOT], "/v1/evaluations", body).status_code == 403


def test_identities_are_shown_to_supervisors_only(evaluation: Evaluation) -> None:
    session_id = _create(evaluation).json()["id"]
    assert evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {}).status_code == 200
    path = f"/v1/evaluations/{session_id}"
    for member in (evaluation.organiser, evaluation.venues[ZHONGSHAN], evaluation.venues[HOHHOT]):
        view = evaluation.get(member, path).json()
        assert view["identities_shown"] is False
        assert all("identity" not in seat for seat in view["seats"])
        assert set(view["draw"]) == {
            "algorithm",
            "seed_commitment",
            "snapshot_digest",
            "drawn_at",
            "seats",
            "reserves",
            "exclusions",
        }
        assert all(set(seat) == {"seat", "venue", "specialty"} for seat in view["draw"]["seats"])
    supervised = evaluation.get(evaluation.supervisor, path).json()
    assert supervised["identities_shown"] is True
    identities = [seat["identity"] for seat in supervised["seats"]]
    assert all(identity["name"] and len(identity["id_number"]) == 18 for identity in identities)
    names = {identity["name"] for identity in identities}
    organiser_text = evaluation.get(evaluation.organiser, path).text
    assert not any(name in organiser_text for name in names)


def test_a_suspended_session_re_forms_its_committee(evaluation: Evaluation) -> None:
    session_id = _create(evaluation).json()["id"]
    first = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {})
    assert first.status_code == 200
    first_record = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()["draw"]
    assert evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {}).status_code == 409
    assert _move(evaluation, session_id, "suspended").json()["paused_from"] == "committee_drawn"
    reformed = _move(evaluation, session_id, "scheduled").json()
    assert reformed["state"] == "scheduled" and [seat["seat"] for seat in reformed["seats"]] == ["T1"]
    # The first seed was revealed with the first draw: the re-formed committee's draw has a new one,
    # committed to (and audited) when the committee was dissolved, before any pool is read again.
    assert reformed["seed_commitment"] != first.json()["draw"]["seed_commitment"]
    second = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/draw", {})
    assert second.status_code == 200, second.text
    assert second.json()["draw"]["seed_commitment"] == reformed["seed_commitment"]
    supervised = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()
    assert supervised["draw"]["seed"] != first_record["seed"] and not check_record(supervised["draw"])
    # The dissolved committee never sat: nobody is avoided for it.
    record = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{session_id}").json()["draw"]
    assert all(r["rule"] != "recently_evaluated_for_tenderer" for item in record["exclusions"] for r in item["reasons"])


def test_who_sat_for_the_tenderer_lately_is_avoided_next_time(evaluation: Evaluation) -> None:
    first_id = _create(evaluation).json()["id"]
    evaluation.post(evaluation.organiser, f"/v1/evaluations/{first_id}/draw", {})
    first = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{first_id}").json()
    sat = {
        (seat["identity"]["city"], seat["identity"]["expert_id"]) for seat in first["seats"] if seat["kind"] == "expert"
    }
    second_id = _create(evaluation).json()["id"]
    evaluation.post(evaluation.organiser, f"/v1/evaluations/{second_id}/draw", {})
    second = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{second_id}").json()
    avoided = {
        (item["city"], item["expert_id"])
        for item in second["draw"]["exclusions"]
        if any(reason["rule"] == "recently_evaluated_for_tenderer" for reason in item["reasons"])
    }
    assert avoided == sat
    seated_again = {
        (seat["identity"]["city"], seat["identity"]["expert_id"])
        for seat in second["seats"]
        if seat["kind"] == "expert"
    }
    assert not seated_again & sat
    # Another tenderer's session is not affected.
    other = {"name": "呼和浩特市第一中学", "credit_code": make_uscc("1", "2", "150100", "TB000009")}
    third_id = _create(evaluation, tenderer=other).json()["id"]
    evaluation.post(evaluation.organiser, f"/v1/evaluations/{third_id}/draw", {})
    third = evaluation.get(evaluation.supervisor, f"/v1/evaluations/{third_id}").json()["draw"]
    assert all(r["rule"] != "recently_evaluated_for_tenderer" for item in third["exclusions"] for r in item["reasons"])


def test_the_event_stream_resumes_after_the_last_event_id_from_another_process(
    evaluation: Evaluation, start_gateway: Any
) -> None:
    session_id = _create(evaluation).json()["id"]
    for to in ("delayed", "scheduled", "suspended", "scheduled"):
        assert _move(evaluation, session_id, to).status_code == 200
    # A second gateway process on the same database serves the same log.
    other = Evaluation(
        start_gateway(),
        evaluation.data,
        evaluation.organiser,
        evaluation.venues,
        evaluation.supervisor,
        evaluation.outsider,
    )
    other.gateway.members.update(evaluation.gateway.members)
    venue = evaluation.venues[ZHONGSHAN]
    seen = other.events(venue, session_id, until=lambda event: event["id"] == 5)
    assert [event["id"] for event in seen] == [1, 2, 3, 4, 5]
    assert [event["kind"] for event in seen] == ["created", *["state_changed"] * 4]

    # A venue waiting on one process gets the event another process writes, once.
    answers: list[Any] = []
    waiting = threading.Thread(
        target=lambda: answers.append(other.events_once(venue, session_id, last_event_id=5, wait=10))
    )
    waiting.start()
    assert _move(evaluation, session_id, "aborted").status_code == 200
    waiting.join(timeout=15)
    assert [(event["id"], event["data"]["to"]) for event in parse_sse(answers[0].text)] == [(6, "aborted")]

    assert _move(evaluation, session_id, "archived").status_code == 200
    resumed = other.events(venue, session_id, last_event_id=3)
    assert [event["id"] for event in resumed] == [4, 5, 6, 7]  # nothing lost, nothing repeated, then 204: over
    assert other.events_once(venue, session_id, last_event_id=7).status_code == 204
    nothing_new = evaluation.events_once(venue, session_id, last_event_id=2, wait=0)
    assert [event["id"] for event in parse_sse(nothing_new.text)] == [3, 4, 5, 6, 7]
    assert evaluation.events_once(evaluation.outsider, session_id).status_code == 403
    bad = evaluation.gateway.call(venue, "GET", f"/v1/evaluations/{session_id}/events", headers={"last-event-id": "x"})
    assert bad.status_code == 422


class _RefusingAuditLog:
    """An audit log that takes the exchange's own entries but fails on the session's events (its
    storage failing just then): nothing may change that it did not record."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def append(self, entry: Any, *args: Any, **kwargs: Any) -> Any:
        from gateway.errors import AuditUnavailable

        if entry is not None and str(entry.get("kind", "")).startswith("evaluation."):
            raise AuditUnavailable(internal="disk full")
        return await self.inner.append(entry, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_no_change_is_stored_that_the_audit_log_did_not_record(evaluation: Evaluation) -> None:
    session_id = _create(evaluation).json()["id"]
    runtime = evaluation.gateway.runtime
    kept = runtime.audit_log
    runtime.audit_log = _RefusingAuditLog(kept)
    try:
        refused = _move(evaluation, session_id, "suspended")
        created = _create(evaluation)
    finally:
        runtime.audit_log = kept
    assert refused.status_code == 503 and refused.json()["code"] == "audit.unavailable"
    assert created.status_code == 503
    session = evaluation.get(evaluation.organiser, f"/v1/evaluations/{session_id}").json()
    assert session["state"] == "scheduled"
    events = parse_sse(evaluation.events_once(evaluation.organiser, session_id).text)
    assert [event["kind"] for event in events] == ["created"]


def test_a_committee_re_formed_after_marking_evaluates_anew(evaluation: Evaluation) -> None:
    session_id = run_to_scores_locked(evaluation)
    base = f"/v1/evaluations/{session_id}"
    marked = evaluation.get(evaluation.supervisor, base).json()["scoring"]["marks"]
    _move(evaluation, session_id, "suspended")
    reformed = _move(evaluation, session_id, "scheduled").json()
    assert "scoring" not in reformed and "earlier_scores" not in reformed  # the organiser sees no old marks
    supervised = evaluation.get(evaluation.supervisor, base).json()
    assert "scoring" not in supervised and supervised["earlier_scores"] == [marked]
    redrawn = evaluation.post(evaluation.organiser, f"{base}/draw", {})
    assert redrawn.status_code == 200, redrawn.text
    early = evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "scores_locked"})
    assert early.status_code == 409  # not from committee_drawn, and no marks carried over


def test_the_award_is_published_only_once_every_member_signed(evaluation: Evaluation) -> None:
    session_id = run_to_scores_locked(evaluation)
    award = {"notice_url": "https://ggzy.huhhot.gov.cn/gs/zbhxr/0001.html"}
    early = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/award", award)
    assert early.status_code == 409 and early.json()["code"] == "evaluation.not_ready"
    for bad in ({"notice_url": "ftp://x/y"}, {**award, "published_at": "2026-12-08T09:00:00"}, {}):
        refused = evaluation.post(evaluation.organiser, f"/v1/evaluations/{session_id}/award", bad)
        assert refused.status_code == 422, refused.text
    by_venue = evaluation.post(evaluation.venues[HOHHOT], f"/v1/evaluations/{session_id}/award", award)
    assert by_venue.status_code == 403
