"""The WSDL declarations of the catalogue's SOAP operations (kept apart: the registry reads them
without importing the SOAP code)."""

from __future__ import annotations

__all__ = ["SOAP_OPERATION_NAMES", "WSDL_SCHEMA"]

SOAP_OPERATION_NAMES = ("GetCatalogItem", "SearchCatalogItems")

WSDL_SCHEMA = """\
      <xs:complexType name="CatalogDepartment">
        <xs:sequence>
          <xs:element name="city" type="xs:string"/>
          <xs:element name="name" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="CatalogMaterial">
        <xs:sequence>
          <xs:element name="code" type="xs:string"/>
          <xs:element name="name" type="xs:string"/>
          <xs:element name="required" type="xs:boolean"/>
          <xs:element name="licenceType" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="CatalogItem">
        <xs:sequence>
          <xs:element name="code" type="xs:string"/>
          <xs:element name="name" type="xs:string"/>
          <xs:element name="sector" type="xs:string"/>
          <xs:element name="subject" type="xs:string"/>
          <xs:element name="mode" type="xs:string"/>
          <xs:element name="department" type="tb:CatalogDepartment" maxOccurs="unbounded"/>
          <xs:element name="material" type="tb:CatalogMaterial" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element name="legalLimitDays" type="xs:int"/>
          <xs:element name="promisedLimitDays" type="xs:int"/>
          <xs:element name="fee" type="xs:decimal"/>
          <xs:element name="legalBasis" type="xs:string"/>
          <xs:element name="resultType" type="xs:string"/>
          <xs:element name="resultLicenceType" type="xs:string" minOccurs="0"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="GetCatalogItem">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="itemCode" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="GetCatalogItemResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="item" type="tb:CatalogItem"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="SearchCatalogItems">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="q" type="xs:string" minOccurs="0"/>
            <xs:element name="city" type="xs:string" minOccurs="0"/>
            <xs:element name="mode" type="xs:string" minOccurs="0"/>
            <xs:element name="subject" type="xs:string" minOccurs="0"/>
            <xs:element name="sector" type="xs:string" minOccurs="0"/>
            <xs:element name="department" type="xs:string" minOccurs="0"/>
            <xs:element name="page" type="xs:int" minOccurs="0"/>
            <xs:element name="pageSize" type="xs:int" minOccurs="0"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="SearchCatalogItemsResponse">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="total" type="xs:int"/>
            <xs:element name="page" type="xs:int"/>
            <xs:element name="pageSize" type="xs:int"/>
            <xs:element name="item" type="tb:CatalogItem" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
"""
