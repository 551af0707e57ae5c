"""The expert draw as a pure function of (pool snapshot, seed): anyone holding the published
snapshot and the revealed seed re-runs it and gets the same committee, reserves and exclusions.

    order   every eligible expert ranked by HMAC-SHA256(seed, "<city>:<expert_id>"), lowest first
    seats   seat i needs specialty i mod len(specialties), at venue i mod len(venues with a pool)
            when that venue's pool has one, else at any venue: the first in order who fits
    reserve reserve j needs specialty j mod len(specialties): the first in order not yet chosen

The seed is committed to (its SHA-256) when the session is created, before any pool is read, and
revealed with the draw; the snapshot's SHA-256 over its canonical JSON is in the record too.
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
    "DrawImpossible",
    "canonical_json",
    "check_record",
    "draw",
    "seed_commitment",
    "snapshot_digest",
]

ALGORITHM: Final = "tongban-draw-v1 (HMAC-SHA256 ranking)"


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


def _exclusion_reasons(
    expert: dict[str, Any], session: dict[str, Any], recent: list[dict[str, Any]]
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
    return reasons


def draw(snapshot: dict[str, Any], seed_hex: str) -> dict[str, Any]:
    """{"committee", "reserves", "exclusions"} for the snapshot {"session", "pools", "recent"}.

    session: specialties, venues (in order, main first), seats (experts to draw), reserves,
    bidders and tenderer (credit codes), drawn_on (ISO date), recent_days.
    pools: venue -> experts {expert_id, city, specialties, available, employer_credit_code}.
    recent: earlier sittings {city, expert_id, tenderer, on}.
    """
    session, recent = snapshot["session"], snapshot["recent"]
    key = bytes.fromhex(seed_hex)
    wanted = session["specialties"]
    eligible, exclusions = [], []
    for venue in session["venues"]:
        for expert in snapshot["pools"].get(venue, []):
            if not set(expert["specialties"]) & set(wanted):
                continue  # not a candidate at all: nothing to avoid
            reasons = _exclusion_reasons(expert, session, recent)
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
    try:
        if seed_commitment(record["seed"]) != record["seed_commitment"]:
            problems.append("the revealed seed does not match the commitment made before the draw")
        if snapshot_digest(record["snapshot"]) != record["snapshot_digest"]:
            problems.append("the pool snapshot does not match its digest")
        again = draw(record["snapshot"], record["seed"])
    except (KeyError, TypeError, ValueError, errors.TongbanError) as exc:
        return [*problems, f"the record cannot be re-run: {type(exc).__name__}: {exc}"]
    for part in ("committee", "reserves", "exclusions"):
        if again[part] != record.get(part):
            problems.append(f"the {part} differ from what the snapshot and seed give")
    return problems
