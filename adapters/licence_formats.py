"""Each city's licence record as its signed documents carry it (JSON for the REST cities, XML for
Zhongshan), read into the canonical model and written into a relying city's schema.

A signed JSON licence is a W3C verifiable credential whose `credentialSubject` is the issuing city's
own record; a signed XML licence is the city's record element (enveloped signature); PDFs and OFD
files carry the same record as an attachment. Mapping is the city adapter's, driven by catalogs/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters._json_mapping import JsonMapping
from adapters.hohhot.mapping import HohhotMapping
from adapters.shenzhen.mapping import ShenzhenMapping
from adapters.zhongshan.mapping import ZhongshanMapping
from gateway.canonical import Licence
from trust import JsonRejected, XmlRejected, parse_json, parse_xml

__all__ = ["JsonLicenceFormat", "XmlLicenceFormat", "licence_formats"]

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


def _element_to_json(element: Any) -> Any:
    """An XML record as JSON: element names kept, leaves as text, repeated names as lists."""
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = _element_to_json(child)
        if name in result:
            existing = result[name]
            result[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[name] = value
    return result


@dataclass(frozen=True)
class JsonLicenceFormat:
    """A REST city: the record is a JSON object, alone or as a credential's `credentialSubject`."""

    city: str
    mapping: JsonMapping  # ShenzhenMapping, HohhotMapping

    def read_licence(self, content: bytes, content_type: str) -> Licence:
        try:
            unverified = parse_json(content)
        except JsonRejected as exc:
            raise ValueError(f"not JSON ({content_type}): {exc}") from exc
        if isinstance(unverified, dict) and isinstance(unverified.get("credentialSubject"), dict):
            unverified = unverified["credentialSubject"]
        if not isinstance(unverified, dict):
            raise ValueError("the licence record must be a JSON object")
        licence: Licence = self.mapping.from_partner(unverified, Licence)
        return licence

    def write_licence(self, licence: Licence) -> dict[str, Any]:
        written: dict[str, Any] = self.mapping.to_partner(licence)
        return written


@dataclass(frozen=True)
class XmlLicenceFormat:
    """A SOAP city: the record is its licence element, the document's root or inside it."""

    city: str
    mapping: ZhongshanMapping

    def read_licence(self, content: bytes, content_type: str) -> Licence:
        try:
            root = parse_xml(content)
        except XmlRejected as exc:
            raise ValueError(f"not acceptable XML: {exc}") from exc
        name = self.mapping.element_name(Licence)
        found = [root] if etree.QName(root).localname == name else root.xpath("//*[local-name()=$n]", n=name)
        if len(found) != 1:
            raise ValueError(f"expected exactly one <{name}> record, found {len(found)}")
        record = found[0]
        for signature in record.findall(f"{{{XMLDSIG_NS}}}Signature"):  # enveloped: not part of the record
            record.remove(signature)
        licence: Licence = self.mapping.from_partner(record, Licence)
        return licence

    def write_licence(self, licence: Licence) -> dict[str, Any]:
        element = self.mapping.to_partner(licence)
        return {etree.QName(element).localname: _element_to_json(element)}

    def licence_xml(self, licence: Licence) -> bytes:
        """The record as a standalone XML document (what a signed XML licence wraps)."""
        element = self.mapping.to_partner(licence)
        return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8"))


def licence_formats() -> dict[str, JsonLicenceFormat | XmlLicenceFormat]:
    """City code -> its licence record format, for every city with an adapter."""
    return {
        "440300": JsonLicenceFormat("440300", ShenzhenMapping()),
        "442000": XmlLicenceFormat("442000", ZhongshanMapping()),
        "150100": JsonLicenceFormat("150100", HohhotMapping()),
    }
