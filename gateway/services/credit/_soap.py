"""The credit service over SOAP: QueryCreditReport and VerifyCreditReport, read and answered as REST."""

from __future__ import annotations

import json
from typing import Any

from gateway import errors
from gateway.exchange import Operation
from gateway.services.credit._operations import IssueReport, VerifyReport
from gateway.soap_codec import SoapOperationSpec, append_value, text_of

__all__ = ["SOAP_OPERATIONS", "WSDL_SCHEMA"]


def _query(payload: Any) -> tuple[Operation, str]:
    code, purpose = text_of(payload, "subjectCode"), text_of(payload, "purpose")
    return IssueReport(subject_code=code, purpose_code=purpose, from_body=False), ""


def _render_report(result: dict[str, Any], response: Any) -> None:
    report = result["report"]
    append_value(response, "reportId", result["report_id"])
    append_value(response, "subjectCode", report["subject"]["code"])
    append_value(response, "subjectName", report["subject"]["name"])
    append_value(response, "purpose", report["purpose"]["code"])
    append_value(response, "asOf", report["as_of"])
    append_value(response, "catalogueVersion", report["catalogue_version"])
    for section in report["sections_released"]:
        append_value(response, "sectionReleased", section)
    append_value(response, "signedReport", result["signed_report"])
    append_value(response, "reportJson", json.dumps(report, ensure_ascii=False, sort_keys=True))


def _verify(payload: Any) -> tuple[Operation, str]:
    signed = text_of(payload, "signedReport")
    if not signed:
        raise errors.InvalidContent("VerifyCreditReport needs signedReport")
    return VerifyReport(signed_report=signed), ""


def _render_verdict(result: dict[str, Any], response: Any) -> None:
    append_value(response, "verdict", result["verdict"])
    append_value(response, "reason", result["reason"])
    if result.get("report_id"):
        append_value(response, "reportId", result["report_id"])
    for section in result.get("changed_sections", []):
        append_value(response, "changedSection", section)


SOAP_OPERATIONS: dict[str, SoapOperationSpec] = {
    "QueryCreditReport": SoapOperationSpec(build=_query, render=_render_report),
    "VerifyCreditReport": SoapOperationSpec(build=_verify, render=_render_verdict),
}

WSDL_SCHEMA = """\
      <xs:element name="QueryCreditReport">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="subjectCode" type="xs:string"/>
            <xs:element name="purpose" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="QueryCreditReportResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="reportId" type="xs:string"/>
            <xs:element name="subjectCode" type="xs:string"/>
            <xs:element name="subjectName" type="xs:string"/>
            <xs:element name="purpose" type="xs:string"/>
            <xs:element name="asOf" type="xs:dateTime"/>
            <xs:element name="catalogueVersion" type="xs:string"/>
            <xs:element name="sectionReleased" type="xs:string" maxOccurs="unbounded"/>
            <xs:element name="signedReport" type="xs:string"/>
            <xs:element name="reportJson" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="VerifyCreditReport">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="signedReport" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="VerifyCreditReportResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="verdict" type="xs:string"/>
            <xs:element name="reason" type="xs:string"/>
            <xs:element name="reportId" type="xs:string" minOccurs="0"/>
            <xs:element name="changedSection" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
"""
