"""Zhongshan's partner systems as a runnable SOAP 1.1 sandbox: seeded data, its WSDLs, GB18030 where Zhongshan uses it.

    app = create_app()            # Starlette; serve with uvicorn
    POST /services/DzzzCxService           SOAP 1.1 (QueryDzzz, SearchDzzz)
    POST /services/XyxxCxService           SOAP 1.1 (QueryXyzt)
    POST /services/BjztTbService           SOAP 1.1 (QueryBjzt; TjBj: an application received in another city,
                                           moved on and reported to the gateway by adapters/sandbox_handling.py)
    POST /services/DzyzCxService           SOAP 1.1 (QueryDzyz, SearchDzyz): the seal platform, GB18030
    POST /services/JyxmCxService           SOAP 1.1 (QueryJyxm, SearchJyxm): the trading centre; SearchPbzj: its
                                           expert pool (评标专家库), every expert, or those of one specialty (ZYDM)
    POST /services/YqmService              SOAP 1.1 (QueryQmzs, QmZy): the cloud signature service (云签名), when
                                           the sandbox is given its `signing` desk: a resident's certificate, and
                                           the resident's signature over a hash the caller computed
    GET  /services/<service>?wsdl          the service's WSDL, soap:address pointing at this server
    GET  /health                           {"status": "ok", ...}

Every request is parsed with trust.parse_xml (no DTDs, no entities). Services listed in the
field map's gb18030_services answer in GB18030 bytes, with the XML declaration and the
Content-Type charset saying so, and accept GB18030 requests; the others answer in UTF-8.
Not found is an empty response element; every failure is a SOAP 1.1 fault whose detail
carries a Zhongshan error code (<ZSCW><CWDM>ZS-E1002</CWDM><CWXX>...</CWXX></ZSCW>).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from lxml import etree
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.cloud_signing import CloudSigningDesk, NotAResident
from adapters.sandbox_handling import HandlingDesk
from adapters.zhongshan._cloud_signing import (
    ALGORITHM_PARAMETER,
    DIGEST_PARAMETER,
    ID_PARAMETER,
    SIGNATURE_ALGORITHM,
    certificate_to_partner,
    signature_to_partner,
)
from adapters.zhongshan._experts import SPECIALTY_PARAMETER, expert_to_partner
from adapters.zhongshan._services import (
    CLOUD_SIGN,
    CLOUD_SIGN_CERTIFICATE,
    ERROR_BAD_PARAMETER,
    ERROR_BAD_REQUEST,
    ERROR_INTERNAL,
    ERROR_MISSING_PARAMETER,
    ERROR_UNKNOWN_OPERATION,
    EXPERT_SEARCH,
    FAULT_DETAIL,
    NAMESPACES,
    SIGNING_SERVICE,
    SOAP_ENV,
    SUBMIT,
    Operation,
    operation,
    wsdl_resource,
)
from adapters.zhongshan.mapping import ZhongshanMapping
from catalogs import CatalogError, code_table
from catalogs.seed import SeedData, generate
from gateway.canonical import (
    ApplicationStatus,
    ApplicationSubmission,
    EvaluationExpert,
    Licence,
    Seal,
    TradingProject,
)
from trust import XmlRejected, parse_xml

__all__ = ["create_app", "sample_applications"]

_log = logging.getLogger(__name__)
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
_SM3_BYTES = 32


class _Fault(Exception):
    def __init__(self, actor: str, code: str, message: str) -> None:
        super().__init__(message)
        self.actor = actor  # "Client" or "Server"
        self.code = code
        self.message = message


def sample_applications(seed_data: SeedData) -> tuple[ApplicationStatus, ...]:
    """Deterministic 办件 for the sandbox: one per seeded Zhongshan licence of an organisation, every state in turn."""
    zhongshan = seed_data.city("zhongshan")
    states = code_table("application_state").canonical_codes
    tz = timezone(timedelta(hours=8))
    start = datetime.combine(seed_data.as_of, time(9, 0), tz)
    found: list[ApplicationStatus] = []
    for index, licence in enumerate(lic for lic in zhongshan.licences if lic.holder.id_type == "uscc"):
        found.append(
            ApplicationStatus(
                application_id=f"4420002026{index + 1:08d}",
                item_code=f"{zhongshan.region}-{licence.licence_type}",
                state=states[index % len(states)],  # type: ignore[arg-type]
                updated_at=start - timedelta(days=index, minutes=17 * index),
                note=f"{licence.holder.name}：{licence.title}" if index % 2 == 0 else None,
            )
        )
    return tuple(found)


@dataclass
class _Store:
    """The sandbox's data, in memory, indexed as the operations look it up."""

    licences: dict[str, Licence] = field(default_factory=dict)
    credit: dict[str, BaseModel] = field(default_factory=dict)
    applications: dict[str, ApplicationStatus] = field(default_factory=dict)
    seals: dict[str, Seal] = field(default_factory=dict)
    projects: dict[str, TradingProject] = field(default_factory=dict)
    experts: dict[str, EvaluationExpert] = field(default_factory=dict)
    desk: HandlingDesk | None = None
    signing: CloudSigningDesk | None = None

    def answer(self, op: Operation, arguments: dict[str, Any]) -> list[BaseModel]:
        if op.record_type == "Licence" and not op.many:
            found = self.licences.get(arguments["licence_number"])
            return [found] if found else []
        if op.record_type == "Licence":
            wanted_type = arguments.get("licence_type")
            return [
                lic
                for lic in self.licences.values()
                if lic.holder.id_number == arguments["holder.id_number"]
                and (wanted_type is None or lic.licence_type == wanted_type)
            ]
        if op.record_type == "CreditSubject":
            subject = self.credit.get(arguments["uscc"])
            return [subject] if subject else []
        if op.record_type == "ApplicationStatus":
            held = self.desk.status(arguments["application_id"]) if self.desk is not None else None
            status = held or self.applications.get(arguments["application_id"])
            return [status] if status else []
        if op.record_type == "Seal" and not op.many:
            seal = self.seals.get(arguments["seal_code"])
            return [seal] if seal else []
        if op.record_type == "Seal":
            return [seal for seal in self.seals.values() if seal.holder.id_number == arguments["holder.id_number"]]
        if op.record_type == "TradingProject" and not op.many:
            project = self.projects.get(arguments["project_code"])
            return [project] if project else []
        if op.record_type == "TradingProject":
            wanted = arguments.get("status")
            return [p for p in self.projects.values() if wanted in (None, p.status)]
        raise _Fault("Server", ERROR_INTERNAL, "系统内部错误")


def _envelope() -> tuple[Any, Any]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    return envelope, body


def _encode(envelope: Any, encoding: str) -> bytes:
    text = etree.tostring(envelope, encoding="unicode")
    return f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode("ascii") + text.encode(encoding)


def _soap_response(envelope: Any, encoding: str, status: int = 200) -> Response:
    return Response(_encode(envelope, encoding), status, media_type=f"text/xml; charset={encoding}")


def _fault_envelope(fault: _Fault, namespace: str) -> Any:
    envelope, body = _envelope()
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soap:{fault.actor}"
    etree.SubElement(element, "faultstring").text = f"{fault.code}: {fault.message}"
    detail = etree.SubElement(element, "detail")
    container, code_name, message_name = FAULT_DETAIL
    info = etree.SubElement(detail, f"{{{namespace}}}{container}", nsmap={"zs": namespace})
    etree.SubElement(info, code_name).text = fault.code
    etree.SubElement(info, message_name).text = fault.message
    return envelope


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _request_bytes(body: bytes, content_type: str) -> bytes:
    """The request as bytes parse_xml can read: a declaration-less body in the charset of Content-Type is recoded."""
    charset = _charset(content_type)
    if body.lstrip().startswith(b"<?xml") or charset is None:
        return body
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise _Fault("Client", ERROR_BAD_REQUEST, "请求报文格式错误：不支持的字符集") from None
    if name == "utf-8":
        return body
    try:
        return body.decode(name).encode("utf-8")
    except UnicodeDecodeError:
        raise _Fault("Client", ERROR_BAD_REQUEST, "请求报文格式错误：字符编码错误") from None


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


class _SoapService:
    """One Zhongshan service endpoint: its WSDL on GET, its operations on POST."""

    def __init__(self, name: str, store: _Store, mapping: ZhongshanMapping) -> None:
        self.name = name
        self.namespace = NAMESPACES[name]
        self.encoding = mapping.field_map.encoding_for(name)
        self.store = store
        self.mapping = mapping
        self._wsdl = wsdl_resource(name).read_bytes()

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            if "wsdl" not in {key.lower() for key in request.query_params}:
                return Response("GET ?wsdl for the service description; POST SOAP 1.1", 405, headers={"Allow": "POST"})
            return self.wsdl(str(request.url.replace(query="", fragment="")))
        try:
            body = await request.body()
            envelope = self.handle(_request_bytes(body, request.headers.get("content-type", "")))
            return _soap_response(envelope, self.encoding)
        except _Fault as fault:
            return _soap_response(_fault_envelope(fault, self.namespace), self.encoding, 500)
        except Exception:
            _log.exception("zhongshan sandbox: %s failed", self.name)
            internal = _Fault("Server", ERROR_INTERNAL, "系统内部错误")
            return _soap_response(_fault_envelope(internal, self.namespace), self.encoding, 500)

    def wsdl(self, address: str) -> Response:
        root = parse_xml(self._wsdl)
        for element in root.iter(f"{{{_WSDL_SOAP}}}address"):
            element.set("location", address)
        text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return Response(text, media_type="text/xml; charset=UTF-8")

    def handle(self, data: bytes) -> Any:
        try:
            root = parse_xml(data)
        except XmlRejected as exc:
            raise _Fault("Client", ERROR_BAD_REQUEST, f"请求报文格式错误：{exc.reason}") from None
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise _Fault("Client", ERROR_BAD_REQUEST, "请求报文格式错误：不是 SOAP 1.1 Envelope")
        bodies = root.findall(f"{{{SOAP_ENV}}}Body")
        if len(bodies) != 1:
            raise _Fault("Client", ERROR_BAD_REQUEST, "请求报文格式错误：需要一个 Body")
        calls = [child for child in bodies[0] if isinstance(child.tag, str)]
        if len(calls) != 1:
            raise _Fault("Client", ERROR_BAD_REQUEST, "请求报文格式错误：Body 中需要一个操作")
        call = calls[0]
        op = operation(self.name, _local(call)) if etree.QName(call).namespace == self.namespace else None
        if op is None:
            raise _Fault("Client", ERROR_UNKNOWN_OPERATION, f"不支持的操作：{call.tag}")
        if (self.name, op.name) == SUBMIT:
            elements = [self.mapping.to_partner(self.receive(call))]
        elif (self.name, op.name) == EXPERT_SEARCH:
            elements = [expert_to_partner(expert) for expert in self.experts(call)]
        elif (self.name, op.name) == CLOUD_SIGN_CERTIFICATE:
            elements = self.signing_certificate(call)
        elif (self.name, op.name) == CLOUD_SIGN:
            elements = self.cloud_sign(call)
        else:
            elements = [self.mapping.to_partner(record) for record in self.store.answer(op, self.arguments(op, call))]
        envelope, body = _envelope()
        response = etree.SubElement(body, f"{{{self.namespace}}}{op.name}Response", nsmap={"tns": self.namespace})
        for element in elements:
            response.append(element)
        return envelope

    def experts(self, call: Any) -> list[EvaluationExpert]:
        """The pool in the order of its numbers, or only the experts of the specialty ZYDM names."""
        given = [child for child in call if isinstance(child.tag, str)]
        if any(_local(child) != SPECIALTY_PARAMETER for child in given) or len(given) > 1:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：SearchPbzj 只接受 {SPECIALTY_PARAMETER}")
        text = (given[0].text or "").strip() if given else ""
        try:
            wanted = code_table("evaluation_specialty").from_city("zhongshan", text) if text else None
        except CatalogError:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：专业代码 {text} 无效") from None
        experts = sorted(self.store.experts.values(), key=lambda expert: expert.expert_id)
        return [expert for expert in experts if wanted is None or wanted in expert.specialties]

    def signing_certificate(self, call: Any) -> list[Any]:
        """The resident's QMZS, or nothing for someone the service does not know."""
        given = self.signing_parameters(call, (ID_PARAMETER,))
        assert self.store.signing is not None  # the service is routed only with its desk
        try:
            certificate, chain = self.store.signing.certificate(given[ID_PARAMETER])
        except NotAResident:
            return []
        return [certificate_to_partner(given[ID_PARAMETER], certificate, chain)]

    def cloud_sign(self, call: Any) -> list[Any]:
        """The resident's signature over the 32-byte SM3 hash ZYZ (QMJG), or nothing for a stranger."""
        given = self.signing_parameters(call, (ID_PARAMETER, DIGEST_PARAMETER, ALGORITHM_PARAMETER))
        if given[ALGORITHM_PARAMETER] != SIGNATURE_ALGORITHM:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{ALGORITHM_PARAMETER} 只支持 {SIGNATURE_ALGORITHM}")
        try:
            digest = base64.b64decode(given[DIGEST_PARAMETER], validate=True)
        except binascii.Error:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{DIGEST_PARAMETER} 必须是 Base64") from None
        if len(digest) != _SM3_BYTES:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{DIGEST_PARAMETER} 必须是 32 字节的 SM3 杂凑值")
        assert self.store.signing is not None
        try:
            signed = self.store.signing.sign_digest(given[ID_PARAMETER], digest)
        except NotAResident:
            return []
        return [signature_to_partner(given[ID_PARAMETER], signed)]

    @staticmethod
    def signing_parameters(call: Any, names: tuple[str, ...]) -> dict[str, str]:
        """The signing operation's parameters, every one required and none other accepted."""
        given: dict[str, str] = {}
        for child in call:
            if not isinstance(child.tag, str):
                continue
            name = _local(child)
            if name not in names or name in given:
                raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{_local(call)} 不接受 {name}")
            given[name] = (child.text or "").strip()
        for name in names:
            if not given.get(name):
                raise _Fault("Client", ERROR_MISSING_PARAMETER, f"缺少必填参数：{name}")
        return given

    def receive(self, call: Any) -> ApplicationStatus:
        records = [child for child in call if isinstance(child.tag, str)]
        if len(records) != 1 or _local(records[0]) != "BJXX":
            raise _Fault("Client", ERROR_MISSING_PARAMETER, "缺少必填参数：BJXX")
        if self.store.desk is None:
            raise _Fault("Server", ERROR_INTERNAL, "办件接收服务未开通")
        try:
            submission = self.mapping.from_partner(records[0], ApplicationSubmission)
        except ValueError as exc:
            raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{exc}") from None
        return self.store.desk.receive(submission)

    def arguments(self, op: Operation, call: Any) -> dict[str, Any]:
        given: dict[str, str] = {}
        for child in call:
            if isinstance(child.tag, str):
                given[_local(child)] = (child.text or "").strip()
        arguments: dict[str, Any] = {}
        for index, path in enumerate(op.parameters):
            name = self.mapping.value_name(op.record_type, path)
            text = given.get(name, "")
            if not text:
                if index < op.required:
                    raise _Fault("Client", ERROR_MISSING_PARAMETER, f"缺少必填参数：{name}")
                continue
            try:
                arguments[path] = self.mapping.value_from_partner(op.record_type, path, text)
            except ValueError as exc:
                raise _Fault("Client", ERROR_BAD_PARAMETER, f"参数错误：{exc}") from None
        return arguments


def create_app(
    seed_data: SeedData | None = None,
    *,
    applications: Iterable[ApplicationStatus] | None = None,
    handling: HandlingDesk | None = None,
    signing: CloudSigningDesk | None = None,
) -> Starlette:
    """The Zhongshan sandbox as an ASGI app, holding the seeded Zhongshan data (generate() by default).
    `handling` receives applications from other cities (default: a desk that moves only when told);
    with `signing`, it also plays the city's cloud signature service (云签名, YqmService)."""
    desk = handling or HandlingDesk("442000")
    seed = seed_data if seed_data is not None else generate()
    zhongshan = seed.city("zhongshan")
    store = _Store(
        licences={lic.licence_number: lic for lic in zhongshan.licences},
        credit={subject.uscc: subject for subject in zhongshan.credit_subjects},
        applications={
            app.application_id: app for app in (applications if applications is not None else sample_applications(seed))
        },
        seals={seal.seal_code: seal for seal in zhongshan.seals},
        projects={project.project_code: project for project in zhongshan.trading_projects},
        experts={
            expert.expert_id: EvaluationExpert.model_validate(expert.model_dump()) for expert in zhongshan.experts
        },
        desk=desk,
        signing=signing,
    )
    mapping = ZhongshanMapping()
    offered = [name for name in NAMESPACES if name != SIGNING_SERVICE or signing is not None]
    services = {name: _SoapService(name, store, mapping) for name in offered}

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "city": mapping.city,
                "services": {name: service.encoding for name, service in services.items()},
            }
        )

    routes = [Route("/health", health, methods=["GET"])]
    routes += [
        Route(f"/services/{name}", service.endpoint, methods=["GET", "POST"]) for name, service in services.items()
    ]
    return Starlette(routes=routes, lifespan=desk.lifespan)
