"""Recognition over SOAP: GetLicence, VerifyLicence and VerifySeal, read and written exactly as REST."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from gateway import errors
from gateway.exchange import Operation
from gateway.services.recognition._lookup import LicenceLookup
from gateway.services.recognition._recognition import DocumentRequest, VerifyLicence, VerifySeal
from gateway.soap_codec import SoapOperationSpec, append_value, camel, tb, text_of

__all__ = ["SOAP_OPERATIONS", "WSDL_SCHEMA"]

LICENCE_FIELDS = (
    "licence_number",
    "licence_type",
    "title",
    "issuer_name",
    "issuer_code",
    "issuing_city",
    "issued_on",
    "valid_from",
    "valid_until",
    "status",
    "scope",
    "address",
    "legal_representative",
)


def _render_licence(result: dict[str, Any], response: Any) -> None:
    licence = etree.SubElement(response, tb("licence"))
    for name in LICENCE_FIELDS[:3]:
        append_value(licence, camel(name), result.get(name))
    holder = etree.SubElement(licence, tb("holder"))
    for name in ("name", "id_type", "id_number"):
        append_value(holder, camel(name), result["holder"][name])
    for name in LICENCE_FIELDS[3:]:
        if result.get(name) is not None:
            append_value(licence, camel(name), result[name])


def _licence_lookup(payload: Any) -> tuple[Operation, str]:
    city, number = text_of(payload, "issuingCity"), text_of(payload, "licenceNumber")
    if not city or not number:
        raise errors.InvalidContent("GetLicence needs issuingCity and licenceNumber")
    return LicenceLookup(city, number), ""


def _document_request(payload: Any, operation: str) -> DocumentRequest:
    """The SOAP parameters (document, format, data, relyingCity) read exactly as the REST body is."""
    fields = {"document": "document", "format": "format", "data": "data", "relyingCity": "relying_city"}
    values = {key: text_of(payload, element) for element, key in fields.items()}
    if not values["document"]:
        raise errors.InvalidContent(f"{operation} needs the document (base64)")
    body = json.dumps({key: value for key, value in values.items() if value}).encode("utf-8")
    return DocumentRequest.from_json(body)


def _render_recognition(result: dict[str, Any], response: Any) -> None:
    report = result["report"]
    append_value(response, "recognised", result["recognised"])
    append_value(response, "indication", report["indication"])
    if report.get("sub_indication"):
        append_value(response, "subIndication", report["sub_indication"])
    if result.get("issuing_city"):
        append_value(response, "issuingCity", result["issuing_city"])
    if report.get("registry_status"):
        append_value(response, "registryStatus", report["registry_status"])
    for message in report.get("messages", []):
        append_value(response, "message", message)
    if result.get("licence"):
        _render_licence(result["licence"], response)
    append_value(response, "reportJson", json.dumps(result, ensure_ascii=False, sort_keys=True))


SOAP_OPERATIONS: dict[str, SoapOperationSpec] = {
    "GetLicence": SoapOperationSpec(build=_licence_lookup, render=_render_licence),
    "VerifyLicence": SoapOperationSpec(
        build=lambda p: (VerifyLicence(request=_document_request(p, "VerifyLicence")), ""),
        render=_render_recognition,
    ),
    "VerifySeal": SoapOperationSpec(
        build=lambda p: (VerifySeal(request=_document_request(p, "VerifySeal")), ""),
        render=_render_recognition,
    ),
}

WSDL_SCHEMA = """\
      <xs:complexType name="Holder">
        <xs:sequence>
          <xs:element name="name" type="xs:string"/>
          <xs:element name="idType" type="xs:string"/>
          <xs:element name="idNumber" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="Licence">
        <xs:sequence>
          <xs:element name="licenceNumber" type="xs:string"/>
          <xs:element name="licenceType" type="xs:string"/>
          <xs:element name="title" type="xs:string"/>
          <xs:element name="holder" type="tb:Holder"/>
          <xs:element name="issuerName" type="xs:string"/>
          <xs:element name="issuerCode" type="xs:string"/>
          <xs:element name="issuingCity" type="xs:string"/>
          <xs:element name="issuedOn" type="xs:date"/>
          <xs:element name="validFrom" type="xs:date"/>
          <xs:element name="validUntil" type="xs:date" minOccurs="0"/>
          <xs:element name="status" type="xs:string"/>
          <xs:element name="scope" type="xs:string" minOccurs="0"/>
          <xs:element name="address" type="xs:string" minOccurs="0"/>
          <xs:element name="legalRepresentative" type="xs:string" minOccurs="0"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="GetLicence">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="issuingCity" type="xs:string"/>
            <xs:element name="licenceNumber" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="GetLicenceResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="licence" type="tb:Licence"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:complexType name="DocumentToVerify">
        <xs:sequence>
          <xs:element name="document" type="xs:base64Binary"/>
          <xs:element name="format" type="xs:string" minOccurs="0"/>
          <xs:element name="data" type="xs:base64Binary" minOccurs="0"/>
          <xs:element name="relyingCity" type="xs:string" minOccurs="0"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="RecognitionAnswer">
        <xs:sequence>
          <xs:element name="recognised" type="xs:boolean"/>
          <xs:element name="indication" type="xs:string"/>
          <xs:element name="subIndication" type="xs:string" minOccurs="0"/>
          <xs:element name="issuingCity" type="xs:string" minOccurs="0"/>
          <xs:element name="registryStatus" type="xs:string" minOccurs="0"/>
          <xs:element name="message" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element name="licence" type="tb:Licence" minOccurs="0"/>
          <xs:element name="reportJson" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="VerifyLicence" type="tb:DocumentToVerify"/>
      <xs:element name="VerifyLicenceResponse" type="tb:RecognitionAnswer"/>
      <xs:element name="VerifySeal" type="tb:DocumentToVerify"/>
      <xs:element name="VerifySealResponse" type="tb:RecognitionAnswer"/>
"""
