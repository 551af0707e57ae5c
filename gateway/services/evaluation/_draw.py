"""The expert draw as a pure function of (pool snapshot, seed): anyone holding the published
snapshot and the revealed seed re-runs it and gets the same committee, reserves and exclusions.

    order   every eligible expert ranked by HMAC-SHA256(seed, "<city>:<expert_id>"), lowest first
    seats   seat i needs specialty i mod len(specialties), at venue i mod len(venues with a pool)
            when that venue's pool has one, else at any venue: the first in order who fits
    reserve reserve j needs specialty j mod len(specialties): the first in order not yet chosen

The seed is committed to (its SHA-256) when the session is created, before any pool is read, and
revealed with the draw; the snapshot's SHA-256 over its canonical JSON is in the record too.

Avoidance (each exclusion with its rule and detail), by the record's algorithm:

    v1  unavailable, employed_by_bidder, employed_by_tenderer, recently_evaluated_for_tenderer
    v2  v1's, and related_to_bidder / related_to_tenderer (a relation the expert declared to the pool),
        staff_of_supervising_department, under_sanction (a sanction in force on the draw date);
        its snapshot carries each expert's relations and sanctions and the session's supervising
        department, so a v1 snapshot is re-run by the v1 rules, never read as "nothing to avoid"
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta
from typing import Any, Final

from gateway import errors

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "DrawImpossible",
    "canonical_json",
    "check_record",
    "draw",
    "seed_commitment",
    "snapshot_digest",
]

ALGORITHM_V1: Final = "tongban-draw-v1 (HMAC-SHA256 ranking)"
ALGORITHM: Final = (
    "tongban-draw-v2 (HMAC-SHA256 ranking; avoids declared relations, the supervising department, sanctions)"
)
ALGORITHMS: Final = (ALGORITHM_V1, ALGORITHM)
"""Every algorithm a published record may name and this code re-runs; the first draws are v1's."""

_RELATION_WORDS: Final = {
    "close_relative_employed": "a close relative works for",
    "shareholder": "holds or held shares in",
    "former_employer": "worked in the last three years for",
}


class DrawImpossible(errors.Conflict):
    code = "evaluation.draw_impossible"
    title = "The expert pools cannot fill the committee"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes the digests are taken over."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seed_commitment(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


def _v2_reasons(expert: dict[str, Any], session: dict[str, Any]) -> list[dict[str, str]]:
    """The rules v2 adds: declared relations, the supervising department's staff, sanctions in force."""
    reasons = []
    for relation in expert["relations"]:
        words = _RELATION_WORDS[relation["relation"]]
        if relation["credit_code"] in session["bidders"]:
            reasons.append({"rule": "related_to_bidder", "detail": f"{words} the bidder {relation['credit_code']}"})
        if relation["credit_code"] == session["tenderer"]:
            reasons.append({"rule": "related_to_tenderer", "detail": f"{words} the tenderer"})
    department = session["supervising_department"]
    if department is not None and expert["employer_credit_code"] == department:
        reasons.append(
            {"rule": "staff_of_supervising_department", "detail": f"works for the supervising department {department}"}
        )
    drawn_on = date.fromisoformat(session["drawn_on"])
    for sanction in expert["sanctions"]:
        if date.fromisoformat(sanction["starts_on"]) <= drawn_on <= date.fromisoformat(sanction["ends_on"]):
            reasons.append(
                {
                    "rule": "under_sanction",
                    "detail": f"under a sanction from {sanction['starts_on']} until {sanction['ends_on']}",
                }
            )
            break
    return reasons


def _exclusion_reasons(
    expert: dict[str, Any], session: dict[str, Any], recent: list[dict[str, Any]], algorithm: str
) -> list[dict[str, str]]:
    reasons = []
    if not expert["available"]:
        reasons.append({"rule": "unavailable", "detail": "the pool marks the expert suspended, sanctioned or on leave"})
    employer = expert["employer_credit_code"]
    for bidder in session["bidders"]:
        if employer == bidder:
            reasons.append({"rule": "employed_by_bidder", "detail": f"works for the bidder {bidder}"})
    if employer == session["tenderer"]:
        reasons.append({"rule": "employed_by_tenderer", "detail": "works for the tenderer"})
    since = date.fromisoformat(session["drawn_on"]) - timedelta(days=session["recent_days"])
    for sitting in recent:
        if (
            sitting["city"] == expert["city"]
            and sitting["expert_id"] == expert["expert_id"]
            and sitting["tenderer"] == session["tenderer"]
            and date.fromisoformat(sitting["on"]) > since
        ):
            reasons.append(
                {
                    "rule": "recently_evaluated_for_tenderer",
                    "detail": f"evaluated for this tenderer on {sitting['on']}, within {session['recent_days']} days",
                }
            )
            break
    if algorithm != ALGORITHM_V1:
        reasons += _v2_reasons(expert, session)
    return reasons


def draw(snapshot: dict[str, Any], seed_hex: str, algorithm: str = ALGORITHM) -> dict[str, Any]:
    """{"committee", "reserves", "exclusions"} for the snapshot {"session", "pools", "recent"}.

    session: specialties, venues (in order, main first), seats (experts to draw), reserves,
    bidders and tenderer (credit codes), drawn_on (ISO date), recent_days; v2: supervising_department
    (credit code or null).
    pools: venue -> experts {expert_id, city, specialties, available, employer_credit_code}; v2: relations
    [{credit_code, relation}] and sanctions [{starts_on, ends_on}] (ISO dates, both days included).
    recent: earlier sittings {city, expert_id, tenderer, on}.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown draw algorithm {algorithm!r}; this gateway re-runs: {'; '.join(ALGORITHMS)}")
    session, recent = snapshot["session"], snapshot["recent"]
    key = bytes.fromhex(seed_hex)
    wanted = session["specialties"]
    eligible, exclusions = [], []
    for venue in session["venues"]:
        for expert in snapshot["pools"].get(venue, []):
            if not set(expert["specialties"]) & set(wanted):
                continue  # not a candidate at all: nothing to avoid
            reasons = _exclusion_reasons(expert, session, recent, algorithm)
            if reasons:
                exclusions.append({"expert_id": expert["expert_id"], "city": expert["city"], "reasons": reasons})
            else:
                rank = hmac.new(key, f"{expert['city']}:{expert['expert_id']}".encode(), hashlib.sha256).hexdigest()
                eligible.append((rank, venue, expert))
    eligible.sort(key=lambda item: item[0])
    venues_with_pool = [venue for venue in session["venues"] if snapshot["pools"].get(venue)]
    chosen: set[tuple[str, str]] = set()
    committee = []
    for index in range(session["seats"]):
        specialty = wanted[index % len(wanted)]
        preferred = venues_with_pool[index % len(venues_with_pool)] if venues_with_pool else None
        fits = [
            item
            for item in eligible
            if specialty in item[2]["specialties"] and (item[2]["city"], item[2]["expert_id"]) not in chosen
        ]
        pick = next((item for item in fits if item[1] == preferred), fits[0] if fits else None)
        if pick is None:
            raise DrawImpossible(f"no eligible expert left for seat {index + 1} (specialty {specialty})")
        rank, venue, expert = pick
        chosen.add((expert["city"], expert["expert_id"]))
        committee.append(
            {
                "seat": f"E{index + 1}",
                "specialty": specialty,
                "venue": venue,
                "city": expert["city"],
                "expert_id": expert["expert_id"],
                "rank": rank,
            }
        )
    reserves: list[dict[str, Any]] = []
    for index in range(session["reserves"]):
        specialty = wanted[index % len(wanted)]
        found = next(
            (
                item
                for item in eligible
                if specialty in item[2]["specialties"] and (item[2]["city"], item[2]["expert_id"]) not in chosen
            ),
            None,
        )
        if found is None:
            continue  # a short reserve is no reason to refuse the committee
        rank, venue, expert = found
        chosen.add((expert["city"], expert["expert_id"]))
        reserves.append(
            {
                "reserve": f"R{len(reserves) + 1}",
                "specialty": specialty,
                "specialties": [s for s in expert["specialties"] if s in wanted],
                "venue": venue,
                "city": expert["city"],
                "expert_id": expert["expert_id"],
                "rank": rank,
            }
        )
    return {"committee": committee, "reserves": reserves, "exclusions": exclusions}


def check_record(record: dict[str, Any]) -> list[str]:
    """What does not hold in a published draw record (empty: it re-runs to the same result)."""
    problems = []
    algorithm = record.get("algorithm")
    if algorithm not in ALGORITHMS:
        return [
            f"the record cannot be re-run: its algorithm {algorithm!r} is not one this version re-runs: "
            f"{'; '.join(ALGORITHMS)}"
        ]
    try:
        if seed_commitment(record["seed"]) != record["seed_commitment"]:
            problems.append("the revealed seed does not match the commitment made before the draw")
        if snapshot_digest(record["snapshot"]) != record["snapshot_digest"]:
            problems.append("the pool snapshot does not match its digest")
        again = draw(record["snapshot"], record["seed"], algorithm)
    except (KeyError, TypeError, ValueError, errors.TongbanError) as exc:
        return [*problems, f"the record cannot be re-run: {type(exc).__name__}: {exc}"]
    for part in ("committee", "reserves", "exclusions"):
        if again[part] != record.get(part):
            problems.append(f"the {part} differ from what the snapshot and seed give")
    return problems
