"""ZhongshanClient: calls Zhongshan's SOAP 1.1 services with zeep and maps the answers with ZhongshanMapping.

The WSDLs are the packaged ones (adapters/zhongshan/wsdl/), so nothing is fetched to learn the
contract; each service's address is overridden with `base_url + /services/<Service>`. Requests
go through zeep.AsyncClient over an httpx.AsyncClient (zeep.AsyncTransport): zeep builds the
document/literal envelope from the WSDL. zeep runs with raw_response=True, so zeep never
interprets the answer: its bytes are parsed with trust.parse_xml (GB18030 or UTF-8, as the
XML declaration says) and each record element is read by ZhongshanMapping.from_partner, which
keeps the reading driven by the field map alone.

What can go wrong, and what it becomes (adapters/zhongshan/_exceptions.py), in `_call` and `_one`:

    transport failure, soap:Server fault, an HTTP error without a SOAP answer   PartnerUnavailable (retry may help)
    soap:Client fault                                                           PartnerRejected
    HTTP 200 with something that is not Zhongshan's answer (not XML, hostile    MalformedPartnerData (a ValueError:
    XML, no SOAP envelope, no response element, an unreadable record, several   the partner answered nonsense)
    records for one key)

    client = ZhongshanClient("http://127.0.0.1:8642")
    licence = await client.get_licence("91442000...")     # Licence | None
    await client.aclose()

`transport` is an httpx.AsyncBaseTransport (e.g. httpx.ASGITransport(app) for tests in process).
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from pydantic import BaseModel
from zeep.transports import AsyncTransport

from adapters.cloud_signing import CloudSignature, digest_to_sign
from adapters.zhongshan._cloud_signing import (
    ALGORITHM_PARAMETER,
    DIGEST_PARAMETER,
    ID_PARAMETER,
    SIGNATURE_ALGORITHM,
    certificate_from_partner,
    signature_from_partner,
)
from adapters.zhongshan._exceptions import MalformedPartnerData, PartnerRejected, PartnerUnavailable
from adapters.zhongshan._experts import SPECIALTY_PARAMETER, expert_from_partner
from adapters.zhongshan._services import (
    CLOUD_SIGN,
    CLOUD_SIGN_CERTIFICATE,
    EXPERT_SEARCH,
    FAULT_DETAIL,
    NAMESPACES,
    SOAP_ENV,
    SUBMIT,
    Operation,
    operation,
    wsdl_resource,
)
from adapters.zhongshan.mapping import ZhongshanMapping
from catalogs import code_table
from gateway.canonical import (
    ApplicationStatus,
    ApplicationSubmission,
    CreditSubject,
    EvaluationExpert,
    Licence,
    Seal,
    TradingProject,
)
from trust import TrustError, XmlRejected, parse_xml

__all__ = ["ZhongshanClient"]

_Record = TypeVar("_Record", bound=BaseModel)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("the Zhongshan client loads its WSDLs from package data only", request=request)


class ZhongshanClient:
    """PartnerClient for Zhongshan (442000) over SOAP 1.1: licences, credit, application status, seals, trading,
    and residents' cloud signatures."""

    city = "442000"

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeout: float = 10.0,
        mapping: ZhongshanMapping | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._mapping = mapping if mapping is not None else ZhongshanMapping()
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)
        # zeep would fetch remote WSDLs and imports with this one; ours are local and import nothing.
        self._wsdl_http = httpx.Client(transport=httpx.MockTransport(_refuse), trust_env=False)
        self._transport = AsyncTransport(client=self._http, wsdl_client=self._wsdl_http)
        self._settings = zeep.Settings(
            strict=True, raw_response=True, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        self._services: dict[str, Any] = {}

    def _service(self, name: str) -> Any:
        service = self._services.get(name)
        if service is None:
            client = zeep.AsyncClient(str(wsdl_resource(name)), transport=self._transport, settings=self._settings)
            binding = f"{{{NAMESPACES[name]}}}{name}SoapBinding"
            service = client.create_service(binding, f"{self.base_url}/services/{name}")
            self._services[name] = service
        return service

    async def _call(self, op: Operation, record_type: type[_Record], **arguments: Any) -> list[_Record]:
        """Call one operation whose parameters and records the field map names."""
        parameters = {
            self._mapping.value_name(op.record_type, path): self._mapping.value_to_partner(op.record_type, path, value)
            for path, value in arguments.items()
            if value is not None
        }
        return self._read_answer(op, await self._invoke(op, parameters), record_type)

    async def _invoke(self, op: Operation, parameters: dict[str, Any]) -> httpx.Response:
        """Send one operation with zeep; the one place where httpx and zeep errors become ours."""
        try:
            response: httpx.Response = await getattr(self._service(op.service), op.name)(**parameters)
        except httpx.HTTPError as exc:
            raise PartnerUnavailable(f"Zhongshan {op.service} unreachable: {type(exc).__name__}") from exc
        except zeep.exceptions.Error as exc:
            raise PartnerUnavailable(f"Zhongshan {op.service}: {exc}") from exc
        return response

    def _read_answer(self, op: Operation, response: httpx.Response, record_type: type[_Record]) -> list[_Record]:
        """The records of an operation's answer, read by the field map."""
        try:
            return [self._mapping.from_partner(element, record_type) for element in self._answer(op, response)]
        except ValueError as exc:
            raise MalformedPartnerData(f"Zhongshan {op.service} answered malformed data: {exc}") from exc

    def _answer(self, op: Operation, response: httpx.Response) -> list[Any]:
        """The record elements of an operation's answer; the one place where SOAP faults become our errors."""
        status = response.status_code
        try:
            root = parse_xml(response.content)
        except XmlRejected as exc:
            raise self._unreadable(op, status, f"unreadable XML: {exc.reason}") from exc
        body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
        if body is None:
            raise self._unreadable(op, status, "something that is not a SOAP 1.1 envelope")
        fault = body.find(f"{{{SOAP_ENV}}}Fault")
        if fault is not None:
            raise self._fault(op, fault)
        if status != 200:
            raise PartnerUnavailable(f"Zhongshan {op.service} answered HTTP {status}")
        answer = body.find(f"{{{op.namespace}}}{op.name}Response")
        if answer is None:
            raise MalformedPartnerData(f"Zhongshan {op.service} answered without {op.name}Response")
        return [element for element in answer if isinstance(element.tag, str)]

    @staticmethod
    def _unreadable(op: Operation, status: int, problem: str) -> PartnerUnavailable | MalformedPartnerData:
        """An answer that is not a SOAP envelope: on an HTTP error it is the error page of whatever stands in
        front of the service (a proxy's 502, a maintenance 503), so a retry may help; on 200 it is nonsense."""
        if status != 200:
            return PartnerUnavailable(f"Zhongshan {op.service} answered HTTP {status} with {problem}")
        return MalformedPartnerData(f"Zhongshan {op.service} answered {problem}")

    @staticmethod
    def _fault(op: Operation, fault: Any) -> PartnerRejected | PartnerUnavailable:
        container, code_name, message_name = FAULT_DETAIL
        faultcode = (fault.findtext("faultcode") or "").strip()
        info = fault.find(f"detail/{{{op.namespace}}}{container}")
        code = info.findtext(code_name) if info is not None else None
        message = (info.findtext(message_name) if info is not None else None) or fault.findtext("faultstring") or ""
        text = f"Zhongshan {op.service}.{op.name} fault {code or faultcode}: {message}"
        if faultcode.rpartition(":")[2] == "Client":
            return PartnerRejected(text, code)
        return PartnerUnavailable(text, code)

    async def _one(self, service: str, name: str, record_type: type[_Record], **arguments: Any) -> _Record | None:
        op = operation(service, name)
        assert op is not None
        found = await self._call(op, record_type, **arguments)
        if len(found) > 1:
            raise MalformedPartnerData(f"Zhongshan {service}.{name} answered {len(found)} records for one key")
        return found[0] if found else None

    async def get_licence(self, licence_number: str) -> Licence | None:
        """The licence with this number (证照编号), or None if Zhongshan has none."""
        found: Licence | None = await self._one("DzzzCxService", "QueryDzzz", Licence, licence_number=licence_number)
        return found

    async def find_licences(self, holder_id: str, licence_type: str | None = None) -> list[Licence]:
        """The licences held by this USCC or resident ID, optionally of one canonical licence type."""
        op = operation("DzzzCxService", "SearchDzzz")
        assert op is not None
        arguments: dict[str, Any] = {"holder.id_number": holder_id, "licence_type": licence_type}
        return await self._call(op, Licence, **arguments)

    async def get_credit_subject(self, uscc: str) -> CreditSubject | None:
        """The credit subject with this unified social credit code, or None."""
        found: CreditSubject | None = await self._one("XyxxCxService", "QueryXyzt", CreditSubject, uscc=uscc)
        return found

    async def get_application_status(self, application_id: str) -> ApplicationStatus | None:
        """Where the application (办件, by 申办流水号) stands, or None."""
        found: ApplicationStatus | None = await self._one(
            "BjztTbService", "QueryBjzt", ApplicationStatus, application_id=application_id
        )
        return found

    async def submit_application(self, submission: ApplicationSubmission) -> ApplicationStatus:
        """Hand an application received in another city to Zhongshan's handling system (BjztTbService.TjBj,
        收件). The BJXX record is the field map's whole record, so the envelope is written here rather than
        by zeep from keyword values; the answer is read as every other operation's."""
        service, name = SUBMIT
        op = operation(service, name)
        assert op is not None
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        call = etree.SubElement(body, f"{{{op.namespace}}}{name}", nsmap={"tns": op.namespace})
        try:
            call.append(self._mapping.to_partner(submission))
        except ValueError as exc:
            raise PartnerRejected(f"the application cannot be written in Zhongshan's format: {exc}") from exc
        encoding = self._mapping.field_map.encoding_for(service)
        content = etree.tostring(envelope, xml_declaration=True, encoding=encoding)
        headers = {"Content-Type": f"text/xml; charset={encoding}", "SOAPAction": f'"{op.namespace}#{name}"'}
        try:
            response = await self._http.post(f"{self.base_url}/services/{service}", content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise PartnerUnavailable(f"Zhongshan {service} unreachable: {type(exc).__name__}") from exc
        found = self._read_answer(op, response, ApplicationStatus)
        if len(found) != 1:
            raise MalformedPartnerData(f"Zhongshan {service}.{name} answered {len(found)} statuses for one application")
        return found[0]

    async def get_seals(self, holder_uscc: str) -> list[Seal]:
        """The organisation's electronic seals at Zhongshan's seal platform; [] if it has none or is unknown there."""
        op = operation("DzyzCxService", "SearchDzyz")
        assert op is not None
        return await self._call(op, Seal, **{"holder.id_number": holder_uscc})

    async def get_seal(self, seal_code: str) -> Seal | None:
        """One seal by its code (印章编码), with its current status; None if the platform has no such seal."""
        return await self._one("DzyzCxService", "QueryDzyz", Seal, seal_code=seal_code)

    async def find_trading_projects(self, status: str | None = None) -> list[TradingProject]:
        """The trading centre's projects, optionally in one canonical status (catalogs: trading_project_status)."""
        op = operation("JyxmCxService", "SearchJyxm")
        assert op is not None
        return await self._call(op, TradingProject, status=status)

    async def get_trading_project(self, project_code: str) -> TradingProject | None:
        """One trading project by its code (项目编号), or None; beyond PartnerClient."""
        return await self._one("JyxmCxService", "QueryJyxm", TradingProject, project_code=project_code)

    async def find_experts(self, specialty: str | None = None) -> list[EvaluationExpert]:
        """The trading centre's expert pool (评标专家库), every expert (available or not: the draw says why
        one is excluded), optionally only those of one canonical specialty (catalogs: evaluation_specialty)."""
        op = operation(*EXPERT_SEARCH)
        assert op is not None
        parameters = {}
        if specialty is not None:
            parameters[SPECIALTY_PARAMETER] = code_table("evaluation_specialty").to_city("zhongshan", specialty)
        response = await self._invoke(op, parameters)
        try:
            return [
                expert_from_partner(element, f"PBZJ[{index}]")
                for index, element in enumerate(self._answer(op, response), start=1)
            ]
        except ValueError as exc:
            raise MalformedPartnerData(f"Zhongshan {op.service} answered malformed data: {exc}") from exc

    async def cloud_sign(self, id_number: str, data: bytes) -> CloudSignature | None:
        """A resident's signature over `data` by Zhongshan's cloud signature service (云签名, YqmService),
        made with the resident's own key after the resident authorised it; None if the service knows no such
        person. Only the hash leaves: the resident's certificate first (QueryQmzs), then SM3(Z || data) to
        sign (QmZy)."""
        found = await self._signing_answer(CLOUD_SIGN_CERTIFICATE, {ID_PARAMETER: id_number})
        if found is None:
            return None
        try:
            certificate, _chain = certificate_from_partner(found, id_number)
        except ValueError as exc:
            raise MalformedPartnerData(f"Zhongshan YqmService answered malformed data: {exc}") from exc
        try:
            digest = digest_to_sign(certificate, data)
        except (TrustError, ValueError) as exc:
            raise MalformedPartnerData(
                "Zhongshan YqmService answered malformed data: QMZS/ZSNR: not an SM2 certificate"
            ) from exc
        parameters = {ID_PARAMETER: id_number, DIGEST_PARAMETER: digest, ALGORITHM_PARAMETER: SIGNATURE_ALGORITHM}
        answered = await self._signing_answer(CLOUD_SIGN, parameters)
        if answered is None:
            return None
        try:
            return signature_from_partner(answered, id_number)
        except ValueError as exc:
            raise MalformedPartnerData(f"Zhongshan YqmService answered malformed data: {exc}") from exc

    async def _signing_answer(self, which: tuple[str, str], parameters: dict[str, Any]) -> Any | None:
        """The one record of a signing operation's answer, or None when it answered none (not a resident)."""
        op = operation(*which)
        assert op is not None
        found = self._answer(op, await self._invoke(op, parameters))
        if len(found) > 1:
            raise MalformedPartnerData(
                f"Zhongshan {op.service}.{op.name} answered {len(found)} records for one resident"
            )
        return found[0] if found else None

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
        self._wsdl_http.close()

    async def __aenter__(self) -> ZhongshanClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
