"""Deviation checks on the members' marks: a mark far from the others' mean is flagged before the lock."""

from __future__ import annotations

from typing import Any

from gateway.services.evaluation._sessions import deviations

CRITERIA = [{"code": "technical", "max": 60}, {"code": "commercial", "max": 30}, {"code": "price", "max": 10}]
BIDDERS = [{"name": "甲", "credit_code": "A"}, {"name": "乙", "credit_code": "B"}]


def _document(marks: dict[str, dict[str, tuple[float, float, float]]]) -> dict[str, Any]:
    scores = {
        seat: {
            bidder: dict(zip(("technical", "commercial", "price"), values, strict=True))
            for bidder, values in sheets.items()
        }
        for seat, sheets in marks.items()
    }
    return {"bidders": BIDDERS, "criteria": CRITERIA, "scores": scores}


def test_a_mark_beyond_a_fifth_of_full_marks_from_the_others_is_flagged() -> None:
    document = _document(
        {
            "E1": {"A": (50, 20, 8), "B": (40, 20, 8)},
            "E2": {"A": (52, 21, 8), "B": (41, 20, 8)},
            "E3": {"A": (37.9, 20, 8), "B": (41, 26.1, 8)},  # 13.1 below on technical; 6.1 above on commercial
            "E4": {"A": (51, 20, 8), "B": (42, 20, 8)},
        }
    )
    flagged = deviations(document)
    assert [(item["seat"], item["bidder"], item["criterion"]) for item in flagged] == [
        ("E3", "A", "technical"),
        ("E3", "B", "commercial"),
    ]
    assert flagged[0]["others_mean"] == 51.0


def test_within_the_margin_or_without_enough_others_nothing_is_flagged() -> None:
    assert deviations(_document({"E1": {"A": (60, 30, 10)}, "E2": {"A": (0, 0, 0)}})) == []  # one other only
    near = _document({"E1": {"A": (50, 20, 8)}, "E2": {"A": (50, 20, 8)}, "E3": {"A": (38, 26, 10)}})
    assert deviations(near) == []  # exactly 12 = 0.2 x 60 and 6 = 0.2 x 30 away: not beyond
