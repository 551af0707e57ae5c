"""Bounded JSON parsing for everything that reads JSON from outside: nesting depth has a limit.

Python's json module recurses once per nested array or object, so a body of a few kilobytes of
`[[[[...` ends in RecursionError (a crash that a caller can trigger at will) and anything short
of that is accepted however deep. `parse_json` answers both with one error: JSON nested deeper
than `DEFAULT_MAX_DEPTH` (64; the outermost array or object is depth 1) is refused, as is
anything that is not JSON. Every request body, token and partner answer the gateway reads as
JSON goes through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from trust._errors import TrustError

__all__ = ["JSON_MAX_DEPTH", "JsonRejected", "parse_json"]

JSON_MAX_DEPTH = 64


class JsonRejected(TrustError, ValueError):
    """A JSON document refused before anyone reads it; the reason is a fixed text, safe to show.

    A ValueError as well, like XmlRejected: code that treats ValueError as malformed input
    (including json.JSONDecodeError before) treats this right without knowing about it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than max_depth; iterative, so any depth is safe."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > max_depth:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(
    data: bytes | str,
    *,
    max_depth: int = JSON_MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Parse untrusted JSON (bytes in UTF-8, -16 or -32, or text), or raise JsonRejected.

    Refused: anything that is not JSON, and arrays or objects nested deeper than `max_depth`.
    `object_pairs_hook` is json.loads's; a ValueError it raises is refused as not JSON.
    """
    if max_depth < 1:
        raise ValueError("max_depth must be at least 1")
    try:
        value = json.loads(data, object_pairs_hook=object_pairs_hook)
    except RecursionError as exc:  # deeper than the interpreter's stack: far past any limit
        raise JsonRejected("the document is nested too deeply") from exc
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError, the hook's refusals
        raise JsonRejected("not well-formed JSON") from exc
    if isinstance(value, dict | list) and _deeper_than(value, max_depth):
        raise JsonRejected(f"the document is nested deeper than {max_depth} levels")
    return value
