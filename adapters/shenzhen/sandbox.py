"""Sandbox of Shenzhen's partner systems: a small Starlette REST server holding the seeded data in memory.

It answers as Shenzhen's platforms do: UTF-8 JSON, camelCase keys, ISO 8601 dates and times at
+08:00, Shenzhen's own codes (records written with ShenzhenMapping.to_partner). Every answer is an
envelope: success {"code": "00000", "message": "成功", "data": ...}; failure {"code": "<5 digits>",
"message": "..."} with the HTTP status in the code's first three digits.

    GET  /health                                             {"status": "UP"} (no envelope)
    licence registry (电子证照库)
    GET  /api/licence/v1/licences/{licenceNo}                one licence (the number may hold "/", 粤, （）)
    GET  /api/licence/v1/licences?holderCertNo=&licenceTypeCode=   {"total": n, "list": [...]}; type optional
    credit platform (公共信用信息平台)
    GET  /api/credit/v1/subjects/{creditCode}                one credit subject with its creditRecords
    POST /api/credit/v1/subjects/{creditCode}/repairs        body {"decisionNo": "...", "repairDate": "2026-12-01"}:
                                                             record a credit repair (信用修复) of that penalty;
                                                             answers the subject (409 40901 if repaired already)
    service handling (一网通办受理系统)
    GET  /api/handle/v1/applications/{applyNo}/status        where an application stands
    POST /api/handle/v1/applications                         an application received in another city (收件);
                                                             the same applyNo again answers where it stands
    POST /api/handle/v1/applications/{applyNo}/status        body {"handleStatus": "30", "remark": "..."}; for a
                                                             received application the change is reported to the
                                                             gateway (adapters/sandbox_handling.py)
    seal platform (电子印章平台)
    GET  /api/seal/v1/enterprises/{creditCode}/seals         {"total": n, "list": [...]}: the organisation's seals
                                                             (404 40401 if the platform knows no such organisation)
    GET  /api/seal/v1/seals/{sealCode}                       one seal with its current sealStatus
    trading centre (公共资源交易中心)
    GET  /api/trade/v1/projects?projectStatus=               {"total": n, "list": [...]}; status optional
    GET  /api/trade/v1/projects/{projectCode}                one project
    GET  /api/trade/v1/experts?specialtyCode=                {"total": n, "list": [...]}: the expert pool (评标专家库)
    cloud signature service (云签名, when the sandbox is given its `signing` desk)
    GET  /api/sign/v1/certs/{certNo}                         the resident's {"signCert", "certChain"} (base64 DER)
    POST /api/sign/v1/cosign                                 body {"certNo", "hashValue" (base64 of SM3(Z || data)),
                                                             "hashAlgorithm": "SM3", "signAlgorithm": "SM2"}:
                                                             {"signValue", "signCert", "certChain"}, the resident's
                                                             signature; 404 40401 if not a resident

Error codes: 40001 bad request, 40401 no such record, 40400 no such endpoint, 40501 method not allowed,
50001 internal error. The clock is a parameter (`now`), so tests pin the time a status change is stamped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.cloud_signing import CloudSigningDesk, NotAResident
from adapters.sandbox_credit import AlreadyRepaired, PenaltyNotFound, with_repair
from adapters.sandbox_handling import HandlingDesk
from adapters.shenzhen.mapping import NOT_FOUND_CODE, OK_CODE, ShenzhenMapping, expert_to_partner
from catalogs import code_table
from catalogs.seed import CitySeed, Expert, SeedData, generate
from gateway.canonical import (
    ApplicationState,
    ApplicationStatus,
    ApplicationSubmission,
    CreditSubject,
    EvaluationExpert,
    Licence,
    Seal,
    TradingProject,
)

__all__ = ["create_app", "seed_application_statuses"]

_SHENZHEN_TIME: Final = timezone(timedelta(hours=8))
_SEEDED_STATES: Final[tuple[ApplicationState, ...]] = (
    "received",
    "accepted",
    "correction",
    "processing",
    "concluded",
    "delivered",
)
_ITEM_CODES: Final = ("11440300TB0001000001", "11440300TB0002000003", "11440300TB0003000007")


_SM3_BYTES: Final = 32


class _Fault(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _JSON(JSONResponse):
    media_type = "application/json; charset=utf-8"


def _ok(data: Any) -> Response:
    return _JSON({"code": OK_CODE, "message": "成功", "data": data})


def _error(status: int, code: str, message: str) -> Response:
    return _JSON({"code": code, "message": message}, status_code=status)


def seed_application_statuses(city: CitySeed) -> tuple[ApplicationStatus, ...]:
    """A few applications by the seed's enterprises, one in each of the early states (fictional)."""
    base = datetime(2026, 11, 20, 9, 0, tzinfo=_SHENZHEN_TIME)
    found = []
    for index, (enterprise, state) in enumerate(zip(city.enterprises, _SEEDED_STATES, strict=False)):
        found.append(
            ApplicationStatus(
                application_id=f"SZ20261120{index + 1:05d}",
                item_code=_ITEM_CODES[index % len(_ITEM_CODES)],
                state=state,
                updated_at=base + timedelta(hours=3 * index),
                note=f"{enterprise.name}的申请",
            )
        )
    return tuple(found)


@dataclass
class _Store:
    licences: dict[str, Licence]
    subjects: dict[str, CreditSubject]
    applications: dict[str, ApplicationStatus]
    seals: dict[str, Seal]
    projects: dict[str, TradingProject]
    experts: dict[str, Expert]
    organisations: frozenset[str]  # the credit codes the seal platform knows, with or without seals


def create_app(
    seed_data: SeedData | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    handling: HandlingDesk | None = None,
    signing: CloudSigningDesk | None = None,
) -> Starlette:
    """The Shenzhen sandbox as an ASGI app, holding `seed_data` (default: catalogs.seed.generate()).
    `handling` receives applications from other cities (default: a desk that moves only when told
    and reports to nobody); with `signing`, it also plays the city's cloud signature service (云签名)."""
    city = (seed_data or generate()).city("shenzhen")
    clock = now or (lambda: datetime.now(UTC))
    desk = handling or HandlingDesk("440300", now=clock)
    mapping = ShenzhenMapping()
    states = code_table("application_state")
    store = _Store(
        licences={licence.licence_number: licence for licence in city.licences},
        subjects={subject.uscc: subject for subject in city.credit_subjects},
        applications={status.application_id: status for status in seed_application_statuses(city)},
        seals={seal.seal_code: seal for seal in city.seals},
        projects={project.project_code: project for project in city.trading_projects},
        experts={expert.expert_id: expert for expert in city.experts},
        organisations=frozenset(party.id_number for party in (*city.enterprises, *city.authorities)),
    )

    def found(value: Any, what: str) -> Any:
        if value is None:
            raise _Fault(404, NOT_FOUND_CODE, f"{what}不存在")
        return value

    async def health(request: Request) -> Response:
        return _JSON({"status": "UP"})

    async def licence(request: Request) -> Response:
        number = request.path_params["licence_no"]
        return _ok(mapping.to_partner(found(store.licences.get(number), f"证照 {number} ")))

    async def licences(request: Request) -> Response:
        holder = request.query_params.get("holderCertNo")
        if not holder:
            raise _Fault(400, "40001", "缺少参数 holderCertNo")
        wanted = request.query_params.get("licenceTypeCode") or None
        licence_type = None
        if wanted is not None:
            try:
                licence_type = code_table("licence_type").from_city("shenzhen", wanted)
            except ValueError as exc:
                raise _Fault(400, "40001", f"证照类型代码 {wanted} 无效") from exc
        rows = [
            mapping.to_partner(item)
            for item in store.licences.values()
            if item.holder.id_number == holder and licence_type in (None, item.licence_type)
        ]
        return _ok({"total": len(rows), "list": rows})

    async def subject(request: Request) -> Response:
        code = request.path_params["credit_code"]
        return _ok(mapping.to_partner(found(store.subjects.get(code), f"信用主体 {code} ")))

    async def repair(request: Request) -> Response:
        code = request.path_params["credit_code"]
        current = found(store.subjects.get(code), f"信用主体 {code} ")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(400, "40001", "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("decisionNo"), str):
            raise _Fault(400, "40001", "缺少参数 decisionNo")
        try:
            repaired_on = date.fromisoformat(
                body.get("repairDate") or clock().astimezone(_SHENZHEN_TIME).date().isoformat()
            )
        except (TypeError, ValueError) as exc:
            raise _Fault(400, "40001", "repairDate 必须是 yyyy-MM-dd 日期") from exc
        number = body["decisionNo"]
        try:
            store.subjects[code] = with_repair(current, number, repaired_on)
        except PenaltyNotFound as exc:
            raise _Fault(404, NOT_FOUND_CODE, f"信用主体 {code} 没有决定书 {number} 的行政处罚") from exc
        except AlreadyRepaired as exc:
            raise _Fault(409, "40901", f"行政处罚 {number} 已于 {exc.repaired_on} 完成信用修复") from exc
        return _ok(mapping.to_partner(store.subjects[code]))

    async def application(request: Request) -> Response:
        number = request.path_params["apply_no"]
        held = desk.status(number) or store.applications.get(number)
        return _ok(mapping.to_partner(found(held, f"办件 {number} ")))

    async def receive(request: Request) -> Response:
        try:
            submission = mapping.from_partner(json.loads(await request.body()), ApplicationSubmission)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(400, "40001", f"办件信息无效：{exc}") from exc
        return _ok(mapping.to_partner(desk.receive(submission)))

    async def change_status(request: Request) -> Response:
        number = request.path_params["apply_no"]
        current = found(desk.status(number) or store.applications.get(number), f"办件 {number} ")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(400, "40001", "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("handleStatus"), str):
            raise _Fault(400, "40001", "缺少参数 handleStatus")
        try:
            state = states.from_city("shenzhen", body["handleStatus"])
        except ValueError as exc:
            raise _Fault(400, "40001", f"办件状态代码 {body['handleStatus']} 无效") from exc
        remark = body.get("remark")
        if remark is not None and not isinstance(remark, str):
            raise _Fault(400, "40001", "remark 必须是字符串")
        moved = desk.move(number, cast(ApplicationState, state), remark)
        if moved is not None:
            return _ok(mapping.to_partner(moved))
        updated = current.model_copy(update={"state": state, "updated_at": clock(), "note": remark})
        store.applications[number] = updated
        return _ok(mapping.to_partner(updated))

    async def seals(request: Request) -> Response:
        code = request.path_params["credit_code"]
        own = [seal for seal in store.seals.values() if seal.holder.id_number == code]
        if not own and code not in store.organisations:
            raise _Fault(404, NOT_FOUND_CODE, f"单位 {code} 不存在")
        rows = [mapping.to_partner(seal) for seal in own]
        return _ok({"total": len(rows), "list": rows})

    async def seal(request: Request) -> Response:
        code = request.path_params["seal_code"]
        return _ok(mapping.to_partner(found(store.seals.get(code), f"印章 {code} ")))

    def canonical_query(request: Request, parameter: str, table: str, what: str) -> str | None:
        """The canonical code of a query parameter in Shenzhen's codes; None if absent."""
        wanted = request.query_params.get(parameter) or None
        if wanted is None:
            return None
        try:
            return code_table(table).from_city("shenzhen", wanted)
        except ValueError as exc:
            raise _Fault(400, "40001", f"{what}代码 {wanted} 无效") from exc

    async def projects(request: Request) -> Response:
        status = canonical_query(request, "projectStatus", "trading_project_status", "项目状态")
        rows = [mapping.to_partner(p) for p in store.projects.values() if status in (None, p.status)]
        return _ok({"total": len(rows), "list": rows})

    async def experts(request: Request) -> Response:
        specialty = canonical_query(request, "specialtyCode", "evaluation_specialty", "专业")
        rows = [
            expert_to_partner(EvaluationExpert.model_validate(expert.model_dump()))
            for expert in store.experts.values()
            if specialty in (None, *expert.specialties)
        ]
        return _ok({"total": len(rows), "list": rows})

    async def project(request: Request) -> Response:
        code = request.path_params["project_code"]
        return _ok(mapping.to_partner(found(store.projects.get(code), f"交易项目 {code} ")))

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    async def signing_certificate(request: Request) -> Response:
        assert signing is not None
        number = request.path_params["cert_no"]
        try:
            certificate, chain = signing.certificate(number)
        except NotAResident as exc:
            raise _Fault(404, NOT_FOUND_CODE, f"用户 {number} 不存在") from exc
        return _ok({"certNo": number, "signCert": b64(certificate), "certChain": [b64(item) for item in chain]})

    async def cosign(request: Request) -> Response:
        assert signing is not None
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(400, "40001", "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("certNo"), str):
            raise _Fault(400, "40001", "缺少参数 certNo")
        if body.get("signAlgorithm") != "SM2" or body.get("hashAlgorithm") != "SM3":
            raise _Fault(400, "40001", "只支持 signAlgorithm SM2, hashAlgorithm SM3")
        try:
            digest = base64.b64decode(str(body.get("hashValue")), validate=True)
        except binascii.Error as exc:
            raise _Fault(400, "40001", "hashValue 必须是 Base64") from exc
        if len(digest) != _SM3_BYTES:
            raise _Fault(400, "40001", f"hashValue 必须是 {_SM3_BYTES} 字节的 SM3 杂凑值")
        try:
            signed = signing.sign_digest(body["certNo"], digest)
        except NotAResident as exc:
            raise _Fault(404, NOT_FOUND_CODE, f"用户 {body['certNo']} 不存在") from exc
        return _ok(
            {
                "certNo": body["certNo"],
                "signAlgorithm": "SM2",
                "signValue": b64(signed.signature),
                "signCert": b64(signed.certificate),
                "certChain": [b64(item) for item in signed.chain],
            }
        )

    async def fault(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Fault)
        return _error(exc.status, exc.code, exc.message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return _error(404, "40400", "接口不存在")
        if exc.status_code == 405:
            return _error(405, "40501", "请求方法不支持")
        return _error(exc.status_code, f"{exc.status_code}01", str(exc.detail))

    async def crash(request: Request, exc: Exception) -> Response:
        return _error(500, "50001", "系统内部错误")

    routes = [
        Route("/health", health),
        Route("/api/licence/v1/licences/{licence_no:path}", licence),
        Route("/api/licence/v1/licences", licences),
        Route("/api/credit/v1/subjects/{credit_code}", subject),
        Route("/api/credit/v1/subjects/{credit_code}/repairs", repair, methods=["POST"]),
        Route("/api/handle/v1/applications", receive, methods=["POST"]),
        Route("/api/handle/v1/applications/{apply_no:path}/status", application, methods=["GET"]),
        Route("/api/handle/v1/applications/{apply_no:path}/status", change_status, methods=["POST"]),
        Route("/api/seal/v1/enterprises/{credit_code}/seals", seals),
        Route("/api/seal/v1/seals/{seal_code:path}", seal),
        Route("/api/trade/v1/projects", projects),
        Route("/api/trade/v1/experts", experts),
        Route("/api/trade/v1/projects/{project_code:path}", project),
    ]
    if signing is not None:
        routes.append(Route("/api/sign/v1/certs/{cert_no}", signing_certificate))
        routes.append(Route("/api/sign/v1/cosign", cosign, methods=["POST"]))
    return Starlette(
        routes=routes,
        exception_handlers={_Fault: fault, HTTPException: http_error, Exception: crash},
        lifespan=desk.lifespan,
    )


def record_credit_repair(base_url: str, uscc: str, decision_number: str, repaired_on: date) -> None:
    """Ask this sandbox's credit platform (at `base_url`) to record a repair; ValueError if it refuses."""
    import httpx

    url = f"{base_url.rstrip('/')}/api/credit/v1/subjects/{uscc}/repairs"
    body = {"decisionNo": decision_number, "repairDate": repaired_on.isoformat()}
    answer = httpx.post(url, json=body, timeout=10, trust_env=False).json()
    if answer.get("code") != "00000":
        raise ValueError(f"the credit platform refused the repair: {answer.get('message')}")
