"""Applications over SOAP: SubmitApplication and GetApplication, read into the same operations REST runs."""

from __future__ import annotations

import json
from typing import Any

from gateway import errors
from gateway.exchange import Operation
from gateway.services.applications._operations import GetApplication, SubmitApplication
from gateway.soap_codec import SoapOperationSpec, append_value, tb, text_of

__all__ = ["SOAP_OPERATIONS", "WSDL_SCHEMA"]


def _party(payload: Any, name: str) -> dict[str, Any] | None:
    element = payload.find(tb(name))
    if element is None:
        return None
    return {"name": text_of(element, "name"), "id_number": text_of(element, "idNumber")}


def _submission(payload: Any) -> tuple[Operation, str]:
    """The SOAP parameters as the REST body: the same checks, the same messages."""
    materials = []
    for element in payload.findall(tb("material")):
        material: dict[str, Any] = {"code": text_of(element, "code")}
        for soap_name, key in (("contentB64", "content_b64"), ("digest", "digest"), ("reference", "reference")):
            value = text_of(element, soap_name)
            if value is not None:
                material[key] = value
        city = text_of(element, "licenceIssuingCity")
        if city is not None:
            material["licence"] = {"issuing_city": city, "licence_type": text_of(element, "licenceType")}
        materials.append(material)
    body: dict[str, Any] = {
        "item_code": text_of(payload, "itemCode"),
        "receiving_city": text_of(payload, "receivingCity"),
        "applicant": _party(payload, "applicant"),
        "materials": materials,
    }
    if text_of(payload, "handlingCity"):
        body["handling_city"] = text_of(payload, "handlingCity")
    agent = _party(payload, "agent")
    if agent is not None:
        body["agent"] = agent
    return SubmitApplication(payload=body), ""


def _get(payload: Any) -> tuple[Operation, str]:
    application_id = text_of(payload, "applicationId")
    if not application_id:
        raise errors.InvalidContent("GetApplication needs applicationId")
    return GetApplication(application_id=application_id), ""


def _render(result: dict[str, Any], response: Any) -> None:
    append_value(response, "applicationId", result["id"])
    append_value(response, "status", result["status"])
    append_value(response, "handlingCity", result["handling_city"])
    if result.get("deadline"):
        append_value(response, "deadline", result["deadline"])
    append_value(response, "forwarded", result["forwarded"])
    for warning in result.get("warnings") or []:
        append_value(response, "warning", warning["kind"])
    append_value(response, "applicationJson", json.dumps(result, ensure_ascii=False, sort_keys=True))


SOAP_OPERATIONS: dict[str, SoapOperationSpec] = {
    "SubmitApplication": SoapOperationSpec(build=_submission, render=_render),
    "GetApplication": SoapOperationSpec(build=_get, render=_render),
}

_ANSWER = """\
          <xs:sequence>
            <xs:element name="applicationId" type="xs:string"/>
            <xs:element name="status" type="xs:string"/>
            <xs:element name="handlingCity" type="xs:string"/>
            <xs:element name="deadline" type="xs:date" minOccurs="0"/>
            <xs:element name="forwarded" type="xs:boolean"/>
            <xs:element name="warning" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
            <xs:element name="applicationJson" type="xs:string"/>
          </xs:sequence>"""

WSDL_SCHEMA = f"""\
      <xs:complexType name="ApplicationParty">
        <xs:sequence>
          <xs:element name="name" type="xs:string"/>
          <xs:element name="idNumber" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="ApplicationMaterial">
        <xs:sequence>
          <xs:element name="code" type="xs:string"/>
          <xs:element name="contentB64" type="xs:string" minOccurs="0"/>
          <xs:element name="digest" type="xs:string" minOccurs="0"/>
          <xs:element name="reference" type="xs:string" minOccurs="0"/>
          <xs:element name="licenceIssuingCity" type="xs:string" minOccurs="0"/>
          <xs:element name="licenceType" type="xs:string" minOccurs="0"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="SubmitApplication">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="itemCode" type="xs:string"/>
            <xs:element name="receivingCity" type="xs:string"/>
            <xs:element name="handlingCity" type="xs:string" minOccurs="0"/>
            <xs:element name="applicant" type="tb:ApplicationParty"/>
            <xs:element name="agent" type="tb:ApplicationParty" minOccurs="0"/>
            <xs:element name="material" type="tb:ApplicationMaterial" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="SubmitApplicationResponse">
        <xs:complexType>
{_ANSWER}
        </xs:complexType>
      </xs:element>
      <xs:element name="GetApplication">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="applicationId" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="GetApplicationResponse">
        <xs:complexType>
{_ANSWER}
        </xs:complexType>
      </xs:element>
"""
