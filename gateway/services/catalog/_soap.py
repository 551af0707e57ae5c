"""The catalogue over SOAP: GetCatalogItem (one item by code) and SearchCatalogItems, through the
pipeline like every SOAP operation (WS-Security authenticated; metadata reads, so not audited)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from lxml import etree

from gateway import errors
from gateway.exchange import Operation
from gateway.services.catalog._queries import get_item_operation, search_operation
from gateway.soap_codec import SoapOperationSpec, append_value, tb, text_of

__all__ = ["SOAP_OPERATIONS"]

_SEARCH_FIELDS = {
    "q": "q",
    "city": "city",
    "mode": "mode",
    "subject": "subject",
    "sector": "sector",
    "department": "department",
    "page": "page",
    "pageSize": "page_size",
}


def _get_item(payload: Any) -> tuple[Operation, str]:
    code = text_of(payload, "itemCode")
    if not code:
        raise errors.InvalidContent("GetCatalogItem needs the itemCode")
    return get_item_operation(code), ""


def _search(payload: Any) -> tuple[Operation, str]:
    given = {name: text_of(payload, element) for element, name in _SEARCH_FIELDS.items()}
    return search_operation(), urlencode({name: value for name, value in given.items() if value is not None})


def _write_item(parent: Any, item: dict[str, Any]) -> None:
    element = etree.SubElement(parent, tb("item"))
    for key, name in (
        ("code", "code"),
        ("name", "name"),
        ("sector", "sector"),
        ("subject", "subject"),
        ("mode", "mode"),
    ):
        append_value(element, name, item[key])
    for city, department in item["departments"].items():
        child = etree.SubElement(element, tb("department"))
        append_value(child, "city", city)
        append_value(child, "name", department)
    for material in item["materials"]:
        child = etree.SubElement(element, tb("material"))
        append_value(child, "code", material["code"])
        append_value(child, "name", material["name"])
        append_value(child, "required", material["required"])
        for licence_type in material["licence_types"]:
            append_value(child, "licenceType", licence_type)
    append_value(element, "legalLimitDays", item["legal_limit_days"])
    append_value(element, "promisedLimitDays", item["promised_limit_days"])
    append_value(element, "fee", item["fee"])
    append_value(element, "legalBasis", item["legal_basis"])
    append_value(element, "resultType", item["result_type"])
    if item.get("result_licence_type"):
        append_value(element, "resultLicenceType", item["result_licence_type"])


def _render_item(result: dict[str, Any], response: Any) -> None:
    _write_item(response, result)


def _render_page(result: dict[str, Any], response: Any) -> None:
    append_value(response, "total", result["total"])
    append_value(response, "page", result["page"])
    append_value(response, "pageSize", result["page_size"])
    for item in result["items"]:
        _write_item(response, item)


SOAP_OPERATIONS: dict[str, SoapOperationSpec] = {  # named in _wsdl.SOAP_OPERATION_NAMES
    "GetCatalogItem": SoapOperationSpec(build=_get_item, render=_render_item),
    "SearchCatalogItems": SoapOperationSpec(build=_search, render=_render_page),
}
