"""The session state machine: the legal moves as the issue lists them, and random walks through it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import errors
from gateway.services.evaluation import FLOW, STATES, IllegalTransition, StatePosition, legal_targets, move

# Written out by hand from the issue, independently of the table in _states.py.
EXPECTED = {
    "scheduled": {"committee_drawn", "delayed", "suspended", "aborted"},
    "committee_drawn": {"checking_in", "delayed", "suspended", "aborted"},
    "checking_in": {"committee_complete", "delayed", "suspended", "aborted"},
    "committee_complete": {"declarations", "suspended", "aborted"},
    "declarations": {"evaluating", "suspended", "aborted"},
    "evaluating": {"scores_locked", "suspended", "aborted"},
    "scores_locked": {"report_drafted", "suspended", "aborted"},
    "report_drafted": {"signing", "suspended", "aborted"},
    "signing": {"signed", "suspended", "aborted"},
    "signed": {"archived"},
    "archived": set(),
    "aborted": {"archived"},
}


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_each_state_allows_exactly_the_listed_moves(state: str) -> None:
    assert legal_targets(StatePosition(state)) == EXPECTED[state]
    for target in STATES:
        if target in EXPECTED[state]:
            assert move(StatePosition(state), target).state == target
        else:
            with pytest.raises(IllegalTransition) as caught:
                move(StatePosition(state), target)
            assert caught.value.status == 409 and caught.value.code == "evaluation.illegal_transition"


def test_a_delay_returns_only_to_where_it_was() -> None:
    delayed = move(StatePosition("checking_in"), "delayed")
    assert delayed == StatePosition("delayed", "checking_in")
    assert legal_targets(delayed) == {"checking_in", "aborted"}
    assert move(delayed, "checking_in") == StatePosition("checking_in")
    with pytest.raises(IllegalTransition):
        move(delayed, "scheduled")


def test_a_suspension_resumes_or_re_forms_the_committee() -> None:
    suspended = move(StatePosition("evaluating"), "suspended")
    assert legal_targets(suspended) == {"evaluating", "scheduled", "aborted"}
    assert move(suspended, "scheduled") == StatePosition("scheduled")
    with pytest.raises(IllegalTransition):
        move(suspended, "scores_locked")


def test_an_unknown_state_is_invalid_content_not_a_conflict() -> None:
    with pytest.raises(errors.InvalidContent):
        move(StatePosition("scheduled"), "finished")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(STATES), max_size=40))
def test_random_walks_follow_the_table(targets: list[str]) -> None:
    position = StatePosition("scheduled")
    for target in targets:
        allowed = (
            {position.paused_from, "aborted"} | ({"scheduled"} if position.state == "suspended" else set())
            if position.state in ("delayed", "suspended")
            else EXPECTED[position.state]
        )
        if target in allowed:
            after = move(position, target)
            assert after.state == target
            # Paused states remember what they interrupted; nothing else does.
            assert (after.paused_from is not None) == (target in ("delayed", "suspended"))
            if after.paused_from is not None:
                assert after.paused_from == position.state
            elif target in FLOW and position.state in FLOW and target != "scheduled":
                assert FLOW.index(target) == FLOW.index(position.state) + 1  # the main flow only goes forward
            position = after
        else:
            with pytest.raises(IllegalTransition):
                move(position, target)
    assert position.state in STATES
