"""What a domain service needs to speak SOAP: its operation specs and the small helpers that read a
request payload and write a response element. The SOAP face (gateway/faces/soap.py) does the rest:
envelopes, WS-Security, faults and the WSDL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

if TYPE_CHECKING:
    from gateway.exchange import Operation

__all__ = [
    "TONGBAN_NS",
    "SoapOperationSpec",
    "append_value",
    "camel",
    "page_renderer",
    "query",
    "tb",
    "text_of",
]

TONGBAN_NS = "urn:tongban:gateway:v1"


@dataclass(frozen=True)
class SoapOperationSpec:
    """One SOAP operation: how its request becomes a pipeline operation, how its result is written."""

    build: Callable[[Any], tuple[Operation, str]]  # payload -> (operation, query string)
    render: Callable[[Any, Any], None]  # (result, response element) -> None


def tb(name: str) -> str:
    """An element name in the gateway's namespace."""
    return f"{{{TONGBAN_NS}}}{name}"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def text_of(payload: Any, name: str) -> str | None:
    element = payload.find(tb(name))
    return None if element is None or element.text is None else element.text.strip()


def query(payload: Any, fields: dict[str, str]) -> str:
    """SOAP parameters as the query string the REST operations read (one decoding for both faces)."""
    parts = []
    for element_name, query_name in fields.items():
        value = text_of(payload, element_name)
        if value is not None:
            parts.append(f"{query_name}={httpx.QueryParams({query_name: value})[query_name]}")
    return "&".join(parts)


def append_value(parent: Any, name: str, value: Any) -> None:
    child = etree.SubElement(parent, tb(name))
    child.text = ("true" if value else "false") if isinstance(value, bool) else ("" if value is None else str(value))


def page_renderer(item_name: str, fields: tuple[str, ...]) -> Callable[[Any, Any], None]:
    """Writes a collection ({"items", "total", "page", "page_size"}) as repeated elements."""

    def render(result: dict[str, Any], response: Any) -> None:
        for key in ("total", "page", "page_size"):
            append_value(response, camel(key), result[key])
        for item in result["items"]:
            element = etree.SubElement(response, tb(item_name))
            for field in fields:
                if field in item:
                    append_value(element, camel(field), item[field])

    return render
