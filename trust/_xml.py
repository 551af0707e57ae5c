"""Hardened XML parsing for everything that reads XML from outside: no DTDs, no entities, bounded size and depth.

Two passes over the bytes, both with libxml2's network access, entity substitution and DTD
loading turned off:

1. a probe with a SAX target that refuses a DOCTYPE or a processing instruction the moment
   the parser meets it, before an internal subset is read, so that XXE, billion laughs and
   parameter-entity tricks are refused in microseconds and never expanded;
2. the tree, built by a parser whose resolver refuses every external resource (defence in
   depth: libxml2 asks for external DTDs and parameter entities even with load_dtd=False),
   then checked again for a DOCTYPE, processing instructions and depth.

Comments are dropped while parsing (`remove_comments=True`). Exclusive C14N without comments,
the only canonical form our signatures accept, ignores them anyway, so dropping them changes no
digest; and libxml2 then merges the text around a comment into one text node, so
`element.text` is the whole text the signature covered. With comments kept,
`<Name>good<!---->.evil</Name>` would read as "good" while the signed text is "good.evil":
the comment-truncation trick behind several SAML signature bypasses.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

from trust._errors import TrustError

__all__ = ["XmlRejected", "parse_xml"]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DEPTH = 100
# libxml2 itself refuses deeper documents unless huge_tree is set, which we never do.
_LIBXML2_MAX_DEPTH = 256


class XmlRejected(TrustError, ValueError):
    """An XML document refused before anyone reads it; the reason is a fixed text, safe to show.

    A TrustError, so the gateway's one trust boundary maps it; and a ValueError, because it is
    malformed input: a pydantic validator or an adapter that turns ValueError into "invalid
    content" treats it right without knowing about the trust layer.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RefuseExternal(etree.Resolver):
    """Refuses every DTD, external entity and other resource libxml2 would load."""

    def resolve(self, system_url: Any, public_id: Any, context: Any) -> Any:
        raise XmlRejected("DTDs and external entities are not allowed")


class _Probe:
    """SAX target of the first pass: stops the parser at a DOCTYPE or processing instruction."""

    def doctype(self, name: Any, public_id: Any, system_url: Any) -> None:
        raise XmlRejected("a DOCTYPE is not allowed")

    def pi(self, target: Any, data: Any) -> None:
        raise XmlRejected("processing instructions are not allowed")

    def close(self) -> None:
        return None


# The options both passes share; lxml parsers are cheap, and one per call needs no locking.
_SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": False,  # we refuse them instead of silently dropping them
    "collect_ids": False,  # no xml:id table that anything could later resolve against
    "strip_cdata": True,
    "recover": False,
}


def _probe_parser() -> Any:
    return etree.XMLParser(target=_Probe(), **_SAFE_OPTIONS)


def _tree_parser() -> Any:
    parser = etree.XMLParser(**_SAFE_OPTIONS)
    parser.resolvers.add(_RefuseExternal())
    return parser


@cache
def _deeper_than(max_depth: int) -> Any:
    """A compiled XPath that is true when some element lies below depth max_depth (the root is depth 1)."""
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")


def _syntax_error(exc: Exception) -> XmlRejected:
    # libxml2's message may quote the document or name files; callers get a fixed reason.
    if "depth" in str(exc).lower():
        return XmlRejected("the document is nested too deeply")
    return XmlRejected("not well-formed XML")


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> etree._Element:
    """Parse untrusted XML bytes into an lxml element, or raise XmlRejected.

    Refused: more than `max_bytes` bytes, anything not well-formed, a DOCTYPE (and with it every
    entity declaration), processing instructions (the XML declaration is not one), and elements
    nested deeper than `max_depth` (the root element is depth 1). The encoding comes from the
    XML declaration (UTF-8, UTF-16, GB18030, ...). Comments are removed (see the module docstring).
    """
    if not isinstance(data, bytes):
        raise TypeError("parse_xml takes bytes; the XML declaration names the encoding")
    if not 1 <= max_depth <= _LIBXML2_MAX_DEPTH:
        raise ValueError(f"max_depth must lie between 1 and {_LIBXML2_MAX_DEPTH}")
    if len(data) > max_bytes:
        raise XmlRejected(f"the document is larger than {max_bytes} bytes")
    if not data.strip():
        raise XmlRejected("the document is empty")
    try:
        etree.fromstring(data, _probe_parser())
        root = etree.fromstring(data, _tree_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from exc
    except etree.LxmlError as exc:
        raise XmlRejected("not well-formed XML") from exc
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected("a DOCTYPE is not allowed")
    if tree.xpath("boolean(//processing-instruction())"):
        raise XmlRejected("processing instructions are not allowed")
    if _deeper_than(max_depth)(tree):
        raise XmlRejected("the document is nested too deeply")
    return root
