"""Bounded JSON parsing: a documented nesting limit, one error for every refusal, never RecursionError."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trust import JSON_MAX_DEPTH, JsonRejected, TrustError, parse_json


def arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def test_the_limit_is_64_levels() -> None:
    assert JSON_MAX_DEPTH == 64


@pytest.mark.parametrize("nested", [arrays, objects])
def test_the_limit_is_accepted_and_one_more_level_refused(nested: Any) -> None:
    parse_json(nested(JSON_MAX_DEPTH))
    with pytest.raises(JsonRejected, match="nested deeper than 64"):
        parse_json(nested(JSON_MAX_DEPTH + 1))


@pytest.mark.parametrize("depth", [1_000, 100_000, 1_000_000])
@pytest.mark.parametrize("nested", [arrays, objects])
def test_any_depth_is_refused_quickly_without_recursion_error(nested: Any, depth: int) -> None:
    started = time.monotonic()
    with pytest.raises(JsonRejected, match="nested"):
        parse_json(nested(depth))
    assert time.monotonic() - started < 1


def test_deep_nesting_inside_a_wide_document_is_found() -> None:
    deep = json.dumps({"document": "QUJD", "format": [{"x": [[[]]]}, 1], "data": None}).encode()
    assert parse_json(deep)["format"][0]["x"] == [[[]]]
    inner = b'{"document": "QUJD", "format": [1, 2, ' + arrays(JSON_MAX_DEPTH) + b"]}"
    with pytest.raises(JsonRejected):
        parse_json(inner)


@pytest.mark.parametrize("data", [b"", b"   ", b"{", b"[1,]", b"\xff\xfe\x00", b"nul", b"{'a': 1}", '{"a": 1'])
def test_what_is_not_json_is_refused_with_the_same_error(data: bytes | str) -> None:
    with pytest.raises(JsonRejected, match="not well-formed JSON") as caught:
        parse_json(data)
    assert isinstance(caught.value, TrustError) and isinstance(caught.value, ValueError)


def test_the_hook_is_json_s_and_its_refusal_is_not_json() -> None:
    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate member name")
        return dict(pairs)

    assert parse_json('{"a": 1}', object_pairs_hook=refuse_duplicates) == {"a": 1}
    with pytest.raises(JsonRejected):
        parse_json('{"a": 1, "a": 2}', object_pairs_hook=refuse_duplicates)


def test_scalars_and_other_encodings_are_read() -> None:
    assert parse_json(b"5") == 5
    assert parse_json('"深中通办"'.encode("utf-16")) == "深中通办"
    assert parse_json(b'{"max": 9223372036854775808}')["max"] == 2**63


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_below_the_limit(value: Any) -> None:
    assert parse_json(json.dumps(value)) == value
