"""The state machine table: reachable, final states final, illegal moves refused with 409."""

from __future__ import annotations

import itertools

import pytest

from catalogs import code_table
from gateway import errors
from gateway.services.applications import LABELS, STATES, TRANSITIONS, check_transition


def test_every_state_is_reachable_from_received_and_labelled() -> None:
    seen, frontier = {"received"}, ["received"]
    while frontier:
        for following in TRANSITIONS[frontier.pop()]:
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    assert seen == set(STATES) == set(TRANSITIONS) == set(LABELS)
    assert set(code_table("application_state")) == set(STATES)
    assert {state: code_table("application_state").label(state) for state in STATES} == dict(LABELS)


@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("wanted", STATES)
def test_only_listed_transitions_pass(current: str, wanted: str) -> None:
    if wanted in TRANSITIONS[current]:
        check_transition(current, wanted)
    else:
        with pytest.raises(errors.IllegalTransition) as refused:
            check_transition(current, wanted)
        assert refused.value.status == 409 and refused.value.code == "state.illegal_transition"


def test_the_main_path_and_the_correction_loop() -> None:
    path = ["received", "accepted", "correction", "accepted", "processing", "concluded", "delivered"]
    for current, wanted in itertools.pairwise(path):
        check_transition(current, wanted)
    with pytest.raises(errors.InvalidContent):
        check_transition("received", "teleported")
