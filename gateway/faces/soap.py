"""The SOAP face: SOAP 1.1 and 1.2 at POST /soap, the WSDL at GET /soap?wsdl. It only decodes and
encodes; every operation runs through the same pipeline as REST, WS-Security included."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree

from gateway import errors
from gateway.audit_operations import MAX_ENTRY_INDEX, entry_operation
from gateway.exchange import Exchange, InboundRequest, Message, Operation, SoapEnvelope
from gateway.logs import log
from gateway.operations import LocalOperation, list_members_operation, list_services_operation, whole_number
from gateway.pipeline import Pipeline
from gateway.runtime import Runtime
from gateway.services import domain_services
from gateway.soap_codec import (
    TONGBAN_NS,
    SoapOperationSpec,
    append_value,
    page_renderer,
    query,
    tb,
    text_of,
)
from gateway.stages.sign import sign_soap_envelope
from trust import XmlRejected, parse_xml

__all__ = ["SOAP11", "SOAP12", "TONGBAN_NS", "soap_router"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_VERSIONS = {SOAP11: "1.1", SOAP12: "1.2"}
_CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}


def _render_entry(result: dict[str, Any], response: Any) -> None:
    append_value(response, "index", result["index"])
    append_value(response, "entryJson", json.dumps(result["entry"], ensure_ascii=False, sort_keys=True))
    append_value(response, "leafHash", result["leaf_hash"])


def _render_checkpoint(result: dict[str, Any], response: Any) -> None:
    append_value(response, "note", result["note"])


def _checkpoint_operation() -> LocalOperation:
    def compute(runtime: Runtime, exchange: Exchange) -> dict[str, Any]:
        if runtime.transparency_log is None:
            raise errors.ServiceUnavailable("this gateway keeps no transparency log")
        return {"note": runtime.transparency_log.current_checkpoint().note}

    return LocalOperation(name="audit.checkpoint", compute=compute)


def _entry_index(payload: Any) -> int:
    value = text_of(payload, "index")
    if value is None:
        raise errors.InvalidContent("GetAuditEntry needs a whole-number index")
    return whole_number(value, "index", low=0, high=MAX_ENTRY_INDEX)


# The gateway's own SOAP operations; the domain services add theirs (soap_operations()).
CORE_SOAP_OPERATIONS: dict[str, SoapOperationSpec] = {
    "ListMembers": SoapOperationSpec(
        build=lambda p: (list_members_operation(), query(p, {"page": "page", "pageSize": "page_size"})),
        render=page_renderer(
            "member",
            (
                "id",
                "city",
                "name",
                "algorithm",
                "key_thumbprint",
                "certificate_subject",
                "certificate_not_after",
                "registered_at",
            ),
        ),
    ),
    "ListServices": SoapOperationSpec(
        build=lambda p: (
            list_services_operation(),
            query(p, {"allowed": "allowed", "page": "page", "pageSize": "page_size"}),
        ),
        render=page_renderer(
            "service", ("id", "kind", "provider", "code", "protocol", "title", "purpose_required", "exchange_path")
        ),
    ),
    "GetAuditCheckpoint": SoapOperationSpec(build=lambda p: (_checkpoint_operation(), ""), render=_render_checkpoint),
    "GetAuditEntry": SoapOperationSpec(build=lambda p: (entry_operation(_entry_index(p)), ""), render=_render_entry),
}


@cache
def soap_operations() -> dict[str, SoapOperationSpec]:
    """Every SOAP operation: the gateway's own, then each domain service's."""
    found = dict(CORE_SOAP_OPERATIONS)
    for service in domain_services():
        clash = sorted(set(found) & set(service.soap_operations))
        if clash:
            raise TypeError(f"{service.name} redefines the SOAP operation(s) {', '.join(clash)}")
        found.update(service.soap_operations)
    return found


_PORT_OPERATION = """\
    <wsdl:operation name="{name}">
      <wsdl:input message="tb:{name}In"/><wsdl:output message="tb:{name}Out"/>
      <wsdl:fault name="TongbanFault" message="tb:TongbanFault"/>
    </wsdl:operation>"""
_BINDING_OPERATION = """\
    <wsdl:operation name="{name}"><{soap}:operation soapAction="urn:tongban:gateway:v1#{name}"/>
      <wsdl:input><{soap}:body use="literal"/></wsdl:input><wsdl:output><{soap}:body use="literal"/></wsdl:output>
      <wsdl:fault name="TongbanFault"><{soap}:fault name="TongbanFault" use="literal"/></wsdl:fault></wsdl:operation>"""


@cache
def wsdl_document() -> str:
    """The WSDL with every operation: the schema of the gateway's own and each service's elements,
    and the messages, port type and both bindings written out per operation. `{address}` is left
    for the endpoint the caller reached."""
    template = resources.files("gateway.faces").joinpath("tongban.wsdl").read_text("utf-8")
    names = list(soap_operations())
    messages = "\n".join(
        f'  <wsdl:message name="{name}{direction}"><wsdl:part name="parameters" element="tb:{name}{suffix}"/>'
        "</wsdl:message>"
        for name in names
        for direction, suffix in (("In", ""), ("Out", "Response"))
    )
    parts = {
        "{service_schemas}": "\n".join(service.wsdl_schema.strip() for service in domain_services()),
        "{messages}": messages,
        "{port_operations}": "\n".join(_PORT_OPERATION.format(name=name) for name in names),
        "{soap11_operations}": "\n".join(_BINDING_OPERATION.format(name=name, soap="soap") for name in names),
        "{soap12_operations}": "\n".join(_BINDING_OPERATION.format(name=name, soap="soap12") for name in names),
    }
    for placeholder, text in parts.items():
        template = template.replace(placeholder, text)
    return template


def new_envelope(version: str) -> tuple[Any, Any]:
    """An empty envelope with Header and Body: (envelope, body)."""
    namespace = SOAP11 if version == "1.1" else SOAP12
    envelope = etree.Element(f"{{{namespace}}}Envelope", nsmap={"soap": namespace, "tb": TONGBAN_NS, "wsu": WSU})
    etree.SubElement(envelope, f"{{{namespace}}}Header")
    body = etree.SubElement(envelope, f"{{{namespace}}}Body")
    return envelope, body


@dataclass
class SoapOperation:
    """A pipeline operation answered as SOAP: the inner operation does the work; its result is
    written into a response envelope that the sign stage signs with WS-Security."""

    operation_name: str
    inner: Operation
    spec: SoapOperationSpec
    version: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        await self.inner.prepare(exchange, runtime)

    async def translate_request(self, exchange: Exchange, runtime: Runtime) -> None:
        await self.inner.translate_request(exchange, runtime)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        await self.inner.forward(exchange, runtime)

    async def verify_response(self, exchange: Exchange, runtime: Runtime) -> None:
        await self.inner.verify_response(exchange, runtime)

    async def translate_response(self, exchange: Exchange, runtime: Runtime) -> None:
        envelope, body = new_envelope(self.version)
        response = etree.SubElement(body, tb(f"{self.operation_name}Response"))
        self.spec.render(exchange.result, response)
        assert exchange.soap is not None
        exchange.soap.reply = envelope
        # The body is written by the sign stage, once WS-Security has signed the envelope.
        exchange.reply = Message(200, httpx.Headers({"content-type": _CONTENT_TYPES[self.version]}), b"")


def fault_envelope(version: str, error: errors.TongbanError, exchange_id: str | None) -> Any:
    """A SOAP fault carrying the same dotted code as the REST problem: faultstring prefix and detail."""
    envelope, body = new_envelope(version)
    namespace = SOAP11 if version == "1.1" else SOAP12
    reason = f"{error.code}: {error.detail}"
    fault = etree.SubElement(body, f"{{{namespace}}}Fault")
    if version == "1.1":
        etree.SubElement(fault, "faultcode").text = f"soap:{error.soap_fault}"
        etree.SubElement(fault, "faultstring").text = reason
        detail = etree.SubElement(fault, "detail")
    else:
        code = etree.SubElement(fault, f"{{{namespace}}}Code")
        etree.SubElement(code, f"{{{namespace}}}Value").text = (
            "soap:Sender" if error.soap_fault == "Client" else "soap:Receiver"
        )
        reason_element = etree.SubElement(fault, f"{{{namespace}}}Reason")
        text = etree.SubElement(reason_element, f"{{{namespace}}}Text")
        text.text = reason
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        detail = etree.SubElement(fault, f"{{{namespace}}}Detail")
    info = etree.SubElement(detail, tb("Fault"))
    append_value(info, "code", error.code)
    append_value(info, "exchangeId", exchange_id or "")
    append_value(info, "retryable", error.retryable)
    append_value(info, "detail", error.detail)
    return envelope


def read_envelope(body: bytes, max_bytes: int) -> tuple[str, Any]:
    """(version, envelope) of a SOAP message; MalformedRequest when the body is not one at all
    (empty, not acceptable XML, or not a SOAP 1.1 or 1.2 Envelope)."""
    try:
        envelope = parse_xml(body, max_bytes=max_bytes)
    except XmlRejected as exc:
        raise errors.MalformedRequest(f"not acceptable XML: {exc}") from exc
    namespace = etree.QName(envelope).namespace or ""
    if etree.QName(envelope).localname != "Envelope" or namespace not in _VERSIONS:
        raise errors.MalformedRequest("not a SOAP 1.1 or 1.2 Envelope")
    return _VERSIONS[namespace], envelope


def operation_of(envelope: Any) -> tuple[str, Any]:
    """(operation name, payload element) of an Envelope; MalformedRequest or NotFound."""
    namespace = etree.QName(envelope).namespace
    bodies = envelope.findall(f"{{{namespace}}}Body")
    if len(bodies) != 1:
        raise errors.MalformedRequest("the Envelope must have exactly one Body")
    payloads = [child for child in bodies[0] if isinstance(child.tag, str)]
    if len(payloads) != 1:
        raise errors.MalformedRequest("the Body must hold exactly one operation element")
    payload = payloads[0]
    name = etree.QName(payload)
    operations = soap_operations()
    if name.namespace != TONGBAN_NS or name.localname not in operations:
        known = ", ".join(sorted(operations))
        raise errors.NotFound(f"unknown operation {name.localname!r}; the WSDL lists {known}")
    return name.localname, payload


def fault_status(version: str, error: errors.TongbanError, *, soap_message: bool) -> int:
    """The HTTP status a fault goes out with.

    A request that is not a SOAP message at all (empty, not acceptable XML, not an Envelope) is
    400 (WS-I Basic Profile 1.1 R1113), or the error's own 4xx when the body was never read (413
    over the size limit). In a SOAP 1.1 exchange every fault is 500 (R1126). In SOAP 1.2 a
    `Sender` fault is 400 and a `Receiver` fault 500 (SOAP 1.2 Part 2, HTTP binding, 7.5.2.2).
    """
    if not soap_message and error.status < 500:
        return error.status
    if version == "1.1":
        return 500
    return 400 if error.soap_fault == "Client" else 500


def soap_router(
    runtime: Runtime, pipeline: Pipeline, read_body: Callable[..., Any], target_uri: Callable[..., str]
) -> APIRouter:
    router = APIRouter()
    settings = runtime.settings
    wsdl_template = wsdl_document()

    @router.get("/soap", tags=["soap"], summary="The WSDL (GET /soap?wsdl)", response_class=Response)
    async def wsdl(request: Request) -> Response:
        if "wsdl" not in request.query_params and request.url.query.lower() != "wsdl":
            raise errors.NotFound("the SOAP face answers POST; its WSDL is at /soap?wsdl")
        # The address the caller reached us at (behind a proxy, set public_url and forward Host).
        address = str(request.base_url).rstrip("/") + "/soap"
        return Response(wsdl_template.replace("{address}", address), media_type="text/xml; charset=utf-8")

    @router.post("/soap", tags=["soap"], summary="SOAP 1.1 and 1.2 with WS-Security", response_class=Response)
    async def soap(request: Request) -> Response:
        exchange_id = request.state.exchange_id
        version = "1.2" if "application/soap+xml" in request.headers.get("content-type", "") else "1.1"
        soap_message = False  # until the body reads as a SOAP Envelope
        try:
            body = await read_body(request, settings.max_body_bytes)
            version, envelope = read_envelope(body, settings.max_body_bytes)
            soap_message = True
            operation_name, payload = operation_of(envelope)
            spec = soap_operations()[operation_name]
            inner, query = spec.build(payload)
            operation = SoapOperation(operation_name, inner, spec, version)
            inbound = InboundRequest(
                method="POST",
                url=target_uri(request),
                path=request.url.path,
                query=query,
                headers=httpx.Headers(request.headers.raw),
                body=body,
                client_address=request.client.host if request.client else "",
            )
            exchange = Exchange(
                id=exchange_id,
                received_at=runtime.clock.now(),
                request=inbound,
                operation=operation,
                soap=SoapEnvelope(version=version, envelope=envelope, operation=operation_name),
            )
            reply = await pipeline.run(exchange)
        except errors.TongbanError as error:
            status = fault_status(version, error, soap_message=soap_message)
            envelope = fault_envelope(version, error, exchange_id)
            try:  # zeep verifies before it reads a fault: faults are signed like answers
                content = await runtime.in_thread(sign_soap_envelope, envelope, runtime)
            except Exception:  # a fault must still go out if signing itself is what failed
                log.exception("could not sign a SOAP fault")
                content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
            response = Response(content, status_code=status, media_type=_CONTENT_TYPES[version])
            if error.retry_after is not None or error.retryable:
                response.headers["Retry-After"] = str(error.retry_after or 1)
            return response
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers.multi_items()))

    return router
