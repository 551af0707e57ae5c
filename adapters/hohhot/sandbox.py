"""Sandbox of Hohhot's partner systems: a Starlette REST server holding the seeded data in memory.

It answers as Hohhot's platforms do: UTF-8 JSON, snake_case keys, dates as yyyy-MM-dd and times
as yyyy-MM-dd HH:mm:ss in Beijing time, Hohhot's own codes (records written with
HohhotMapping.to_partner), and the envelope of adapters/hohhot/_wire.py: business results are
HTTP 200 with an integer `code` (200 ok, 404 no data, 400 bad request, 500 error); lists are
pages {"code", "msg", "total", "rows"} (`page_num` from 1, `page_size` up to 100, default 10).
Unknown routes and crashes answer as the framework does: HTTP 404/405/500 with
{"timestamp", "status", "error", "path"}.

    GET  /actuator/health                          {"status": "UP"}
    电子证照共享服务
    GET  /api/license/detail?license_code=         one licence (numbers may hold "/", 蒙, （）, 〔〕)
    GET  /api/license/list?cert_num=&license_type= a holder's licences, type optional
    信用信息共享平台
    GET  /api/credit/subject/detail?tyshxydm=      one credit subject with its credit_records
    POST /api/credit/subject/repair                {"tyshxydm", "decide_doc_no", "repair_date": "yyyy-MM-dd"}:
                                                   a credit repair (信用修复) of that penalty; the subject
    政务服务办件
    GET  /api/affair/status/detail?affair_id=      where an affair (办件) stands
    POST /api/affair/status/update                 {"affair_id", "affair_state": "HANDLING", "opinion"}
    电子印章
    GET  /api/seal/list?cert_num=                  a unit's e-seals (the seed's)
    GET  /api/seal/detail?seal_code=
    公共资源交易中心 (Hohhot as main venue of remote cross-region evaluations, 远程异地评标)
    GET  /api/trade/project/list?project_state=&remote_eval=1   the seed's projects, each with whether it is
                                                   evaluated remotely, venues, committee size, specialties,
                                                   bidders; remote_eval=1: only those evaluated remotely
    GET  /api/trade/project/detail?project_code=
    GET  /api/trade/expert/list?specialty_code=&available_flag=1   the expert pool (评标专家库)
    GET  /api/trade/expert/detail?expert_code=
    GET  /api/trade/specialty/list                 the specialty catalogue in Hohhot's codes
    云签名 (cloud signature service, when the sandbox is given its `signing` desk)
    GET  /api/cloudsign/cert?cert_num=             the resident's {"sign_cert", "cert_chain"} (base64 DER)
    POST /api/cloudsign/sign                       {"cert_num", "sign_hash": base64 of SM3(Z || data), "sign_alg":
                                                   "SM3withSM2"}: {"sign_value", "sign_cert", "cert_chain",
                                                   "sign_alg"}; code 404 if not a resident

The clock is a parameter (`now`), so tests pin the time a status change is stamped.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.cloud_signing import CloudSigningDesk, NotAResident
from adapters.hohhot import _wire
from adapters.hohhot.mapping import CITY, HohhotMapping
from adapters.sandbox_credit import AlreadyRepaired, PenaltyNotFound, with_repair
from catalogs import CatalogError, code_table, parse_resident_id
from catalogs.seed import Expert, SeedData, generate
from gateway.canonical import ApplicationStatus, Licence, Party, TradingProject, TradingProjectStatus

__all__ = ["MAIN_VENUE", "RemoteEvaluation", "create_app", "seed_affairs", "seed_trading_centre"]

_BEIJING: Final = timezone(timedelta(hours=8))
MAIN_VENUE: Final = "呼和浩特市公共资源交易中心"
_SECONDARY_VENUES: Final = ("中山市公共资源交易中心", "深圳公共资源交易中心")
_MATTER_CODES: Final = ("11150100MB0001000001", "11150100MB0002000004", "11150100MB0005000002")
_OPEN_STATES: Final[tuple[TradingProjectStatus, ...]] = ("announced", "bid_opened", "evaluating")


@dataclass(frozen=True)
class RemoteEvaluation:
    """A project at Hohhot's trading centre, with what a remote cross-region evaluation needs beyond the
    canonical TradingProject: is it evaluated remotely, the venues, committee size, specialties, bidders."""

    project: TradingProject
    remote: bool
    secondary_venues: tuple[str, ...]
    committee_size: int
    specialties: tuple[str, ...]  # canonical codes, catalogs: evaluation_specialty
    bidders: tuple[Party, ...]

    @property
    def open_for_evaluation(self) -> bool:
        """Evaluated remotely and not yet evaluated: what a remote evaluation session can be set up for."""
        return self.remote and self.project.status in _OPEN_STATES


def seed_affairs(seed_data: SeedData) -> tuple[ApplicationStatus, ...]:
    """Hohhot's affairs (办件): one per application state, by the seed's enterprises (fictional)."""
    city = seed_data.city(CITY)
    states = code_table("application_state").canonical_codes
    start = datetime.combine(seed_data.as_of, time(16, 30), _BEIJING)
    found = []
    for index, (enterprise, state) in enumerate(zip(city.enterprises, states, strict=False)):
        found.append(
            ApplicationStatus(
                application_id=f"NM{seed_data.as_of:%Y%m%d}{index + 1:06d}",
                item_code=_MATTER_CODES[index % len(_MATTER_CODES)],
                state=state,  # type: ignore[arg-type]
                updated_at=start - timedelta(hours=5 * index, minutes=7 * index),
                note=f"{enterprise.name}申请事项" if index % 3 else None,
            )
        )
    return tuple(found)


_GOODS: Final = (
    ("信息", "information_technology"),
    ("医疗", "medical_equipment"),
    ("家具", "office_equipment"),
    ("物业", "property_management"),
)
"""What a procurement's title names -> the goods or service specialty its committee needs."""


def _specialties(rng: random.Random, project: TradingProject) -> tuple[str, ...]:
    """The specialties (catalogs: evaluation_specialty) a committee for this project is drawn by."""
    if project.category == "construction":
        return (
            "building_construction",
            "engineering_cost",
            rng.choice(("municipal_engineering", "electromechanical_installation")),
        )
    if project.category == "government_procurement":
        goods = next((code for word, code in _GOODS if word in project.title), "office_equipment")
        return (goods, rng.choice(("financial_accounting", "legal_services")))
    if project.category in ("land_use_rights", "mining_rights"):
        return ("land_and_minerals",)
    if project.category == "state_property":
        return ("financial_accounting", "legal_services")
    return ("financial_accounting", rng.choice(("legal_services", "property_management")))


def seed_trading_centre(seed_data: SeedData) -> tuple[RemoteEvaluation, ...]:
    """Hohhot's trading-centre projects: the seed's (catalogs.seed, `trading_projects`), each with what a remote
    evaluation needs beyond the canonical record. Most of those evaluated are evaluated remotely with Zhongshan
    (and Shenzhen) as secondary venues; a few on site only.

    Deterministic, from a random stream of its own; bidders come from every city's seeded companies, so
    that the avoidance rules of a later draw (an expert working for a bidder) have something to find.
    """
    rng = random.Random(f"tongban-sandbox:{seed_data.seed}:hohhot:trading-centre")
    city = seed_data.city(CITY)
    companies = [
        party
        for seed in seed_data.cities
        for party, subject in zip(seed.enterprises, seed.credit_subjects, strict=True)
        if subject.status == "active" and subject.subject_type == "enterprise"
    ]
    found = []
    for index, project in enumerate(city.trading_projects):
        remote = project.evaluation_at is not None and index % 5 != 4  # a few are evaluated on site only
        found.append(
            RemoteEvaluation(
                project=project,
                remote=remote,
                secondary_venues=_SECONDARY_VENUES[: 1 + index % 2] if remote else (),
                committee_size=7 if (project.budget_cny or 0) >= 20_000_000 else 5,
                specialties=_specialties(rng, project),
                bidders=tuple(rng.sample([c for c in companies if c != project.tenderer], k=3 + index % 3)),
            )
        )
    return tuple(found)


_SM3_BYTES: Final = 32


class _Fault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _JSON(JSONResponse):
    media_type = "application/json;charset=UTF-8"


def _ok(data: Any) -> Response:
    return _JSON({"code": _wire.OK, "msg": "操作成功", "data": data})


def _page(request: Request, rows: list[dict[str, Any]]) -> Response:
    page_num = _int_param(request, "page_num", 1)
    page_size = _int_param(request, "page_size", 10)
    if page_size > _wire.MAX_PAGE_SIZE:
        raise _Fault(_wire.BAD_REQUEST, f"page_size 不能大于 {_wire.MAX_PAGE_SIZE}")
    start = (page_num - 1) * page_size
    return _JSON({"code": _wire.OK, "msg": "查询成功", "total": len(rows), "rows": rows[start : start + page_size]})


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise _Fault(_wire.BAD_REQUEST, f"参数 {name} 必须是正整数")
    return int(raw)


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise _Fault(_wire.BAD_REQUEST, f"缺少参数 {name}")
    return value


def _canonical(table: str, hohhot_code: str, what: str) -> str:
    try:
        return code_table(table).from_city(CITY, hohhot_code)
    except CatalogError as exc:
        raise _Fault(_wire.BAD_REQUEST, f"{what}代码 {hohhot_code} 无效") from exc


def _expert_row(expert: Expert) -> dict[str, Any]:
    specialties = code_table("evaluation_specialty")
    return {
        "expert_code": expert.expert_id,
        "expert_name": expert.name,
        "cert_type": code_table("holder_id_type").to_city(CITY, "resident_id"),
        "cert_num": expert.id_number,
        "gender": code_table("gender").to_city(CITY, parse_resident_id(expert.id_number).gender),
        "specialty_list": [
            {"specialty_code": specialties.to_city(CITY, code), "specialty_name": specialties.label(code, CITY)}
            for code in expert.specialties
        ],
        "prof_title": expert.title,
        "work_unit": expert.employer.name,
        "work_unit_credit_code": expert.employer.id_number,
        "division_code": expert.city,
        "available_flag": "1" if expert.available else "0",
        "avoid_unit_list": [
            {
                "unit_credit_code": relation.credit_code,
                "relation_type": code_table("expert_relation").to_city(CITY, relation.relation),
            }
            for relation in expert.relations
        ],
        "punish_list": [
            {
                "punish_reason": sanction.reason,
                "punish_start_date": sanction.starts_on.isoformat(),
                "punish_end_date": sanction.ends_on.isoformat(),
            }
            for sanction in expert.sanctions
        ],
    }


def _project_row(mapping: HohhotMapping, item: RemoteEvaluation) -> dict[str, Any]:
    specialties = code_table("evaluation_specialty")
    return {
        **mapping.to_partner(item.project),
        "remote_eval": "1" if item.remote else "0",
        "main_venue": MAIN_VENUE,
        "secondary_venues": list(item.secondary_venues),
        "committee_size": item.committee_size,
        "specialty_codes": [specialties.to_city(CITY, code) for code in item.specialties],
        "bidder_list": [{"bidder_name": p.name, "credit_code": p.id_number} for p in item.bidders],
    }


def create_app(
    seed_data: SeedData | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    signing: CloudSigningDesk | None = None,
) -> Starlette:
    """The Hohhot sandbox as an ASGI app, holding `seed_data` (default: catalogs.seed.generate());
    with `signing`, it also plays the city's cloud signature service (云签名)."""
    data = seed_data or generate()
    city = data.city(CITY)
    clock = now or (lambda: datetime.now(UTC))
    mapping = HohhotMapping()
    licences: dict[str, Licence] = {licence.licence_number: licence for licence in city.licences}
    subjects = {subject.uscc: subject for subject in city.credit_subjects}
    affairs = {affair.application_id: affair for affair in seed_affairs(data)}
    seals = {seal.seal_code: seal for seal in city.seals}
    projects = {item.project.project_code: item for item in seed_trading_centre(data)}
    experts = {expert.expert_id: expert for expert in city.experts}

    def found(value: Any, what: str) -> Any:
        if value is None:
            raise _Fault(_wire.NOT_FOUND, f"未查询到{what}")
        return value

    async def health(request: Request) -> Response:
        return _JSON({"status": "UP"})

    async def licence(request: Request) -> Response:
        number = _required(request, "license_code")
        return _ok(mapping.to_partner(found(licences.get(number), f"证照 {number}")))

    async def licence_list(request: Request) -> Response:
        holder = _required(request, "cert_num")
        wanted = request.query_params.get("license_type") or None
        licence_type = None if wanted is None else _canonical("licence_type", wanted, "证照类型")
        rows = [
            mapping.to_partner(item)
            for item in licences.values()
            if item.holder.id_number == holder and licence_type in (None, item.licence_type)
        ]
        return _page(request, rows)

    async def subject(request: Request) -> Response:
        code = _required(request, "tyshxydm")
        return _ok(mapping.to_partner(found(subjects.get(code), f"信用主体 {code}")))

    async def repair(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(_wire.BAD_REQUEST, "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict):
            raise _Fault(_wire.BAD_REQUEST, "请求体必须是 JSON 对象")
        for name in ("tyshxydm", "decide_doc_no", "repair_date"):
            if not isinstance(body.get(name), str):
                raise _Fault(_wire.BAD_REQUEST, f"缺少参数 {name}")
        try:
            repaired_on = date.fromisoformat(body["repair_date"])
        except ValueError as exc:
            raise _Fault(_wire.BAD_REQUEST, "repair_date 必须是 yyyy-MM-dd 日期") from exc
        code, number = body["tyshxydm"], body["decide_doc_no"]
        current = found(subjects.get(code), f"信用主体 {code}")
        try:
            subjects[code] = with_repair(current, number, repaired_on)
        except PenaltyNotFound as exc:
            raise _Fault(_wire.NOT_FOUND, f"信用主体 {code} 没有决定书 {number} 的行政处罚") from exc
        except AlreadyRepaired as exc:
            raise _Fault(_wire.BAD_REQUEST, f"行政处罚 {number} 已于 {exc.repaired_on} 完成信用修复") from exc
        return _ok(mapping.to_partner(subjects[code]))

    async def affair(request: Request) -> Response:
        number = _required(request, "affair_id")
        return _ok(mapping.to_partner(found(affairs.get(number), f"办件 {number}")))

    async def update_affair(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(_wire.BAD_REQUEST, "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("affair_id"), str):
            raise _Fault(_wire.BAD_REQUEST, "缺少参数 affair_id")
        if not isinstance(body.get("affair_state"), str):
            raise _Fault(_wire.BAD_REQUEST, "缺少参数 affair_state")
        opinion = body.get("opinion")
        if opinion is not None and not isinstance(opinion, str):
            raise _Fault(_wire.BAD_REQUEST, "opinion 必须是字符串")
        state = _canonical("application_state", body["affair_state"], "办件状态")
        current = found(affairs.get(body["affair_id"]), f"办件 {body['affair_id']}")
        stamped = clock().replace(microsecond=0)  # Hohhot keeps whole seconds
        updated = current.model_copy(update={"state": state, "updated_at": stamped, "note": opinion})
        affairs[updated.application_id] = updated
        return _ok(mapping.to_partner(updated))

    async def seal_list(request: Request) -> Response:
        holder = _required(request, "cert_num")
        return _page(request, [mapping.to_partner(s) for s in seals.values() if s.holder.id_number == holder])

    async def seal(request: Request) -> Response:
        code = _required(request, "seal_code")
        return _ok(mapping.to_partner(found(seals.get(code), f"印章 {code}")))

    async def project_list(request: Request) -> Response:
        wanted = request.query_params.get("project_state") or None
        status = None if wanted is None else _canonical("trading_project_status", wanted, "项目状态")
        remote_only = request.query_params.get("remote_eval") == "1"
        rows = [
            _project_row(mapping, item)
            for item in projects.values()
            if status in (None, item.project.status) and (item.remote or not remote_only)
        ]
        return _page(request, rows)

    async def project(request: Request) -> Response:
        code = _required(request, "project_code")
        return _ok(_project_row(mapping, found(projects.get(code), f"项目 {code}")))

    async def expert_list(request: Request) -> Response:
        wanted = request.query_params.get("specialty_code") or None
        specialty = None if wanted is None else _canonical("evaluation_specialty", wanted, "专业")
        flag = request.query_params.get("available_flag") or None
        if flag not in (None, "0", "1"):
            raise _Fault(_wire.BAD_REQUEST, "available_flag 只能是 0 或 1")
        rows = [
            _expert_row(expert)
            for expert in experts.values()
            if (specialty is None or specialty in expert.specialties)
            and (flag is None or expert.available == (flag == "1"))
        ]
        return _page(request, rows)

    async def expert(request: Request) -> Response:
        code = _required(request, "expert_code")
        return _ok(_expert_row(found(experts.get(code), f"专家 {code}")))

    async def specialty_list(request: Request) -> Response:
        table = code_table("evaluation_specialty")
        rows = [
            {"specialty_code": table.to_city(CITY, code), "specialty_name": table.label(code, CITY)} for code in table
        ]
        return _JSON({"code": _wire.OK, "msg": "查询成功", "total": len(rows), "rows": rows})

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    async def cloud_sign_cert(request: Request) -> Response:
        assert signing is not None
        number = _required(request, "cert_num")
        try:
            certificate, chain = signing.certificate(number)
        except NotAResident as exc:
            raise _Fault(_wire.NOT_FOUND, f"未查询到用户 {number}") from exc
        return _ok({"cert_num": number, "sign_cert": b64(certificate), "cert_chain": [b64(item) for item in chain]})

    async def cloud_sign(request: Request) -> Response:
        assert signing is not None
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Fault(_wire.BAD_REQUEST, "请求体不是有效的 JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("cert_num"), str):
            raise _Fault(_wire.BAD_REQUEST, "缺少参数 cert_num")
        if body.get("sign_alg") != _wire.CLOUD_SIGN_ALGORITHM:
            raise _Fault(_wire.BAD_REQUEST, f"sign_alg 只支持 {_wire.CLOUD_SIGN_ALGORITHM}")
        try:
            digest = base64.b64decode(str(body.get("sign_hash")), validate=True)
        except binascii.Error as exc:
            raise _Fault(_wire.BAD_REQUEST, "sign_hash 必须是 Base64") from exc
        if len(digest) != _SM3_BYTES:
            raise _Fault(_wire.BAD_REQUEST, f"sign_hash 必须是 {_SM3_BYTES} 字节的 SM3 杂凑值")
        try:
            signed = signing.sign_digest(body["cert_num"], digest)
        except NotAResident as exc:
            raise _Fault(_wire.NOT_FOUND, f"未查询到用户 {body['cert_num']}") from exc
        return _ok(
            {
                "cert_num": body["cert_num"],
                "sign_alg": _wire.CLOUD_SIGN_ALGORITHM,
                "sign_value": b64(signed.signature),
                "sign_cert": b64(signed.certificate),
                "cert_chain": [b64(item) for item in signed.chain],
            }
        )

    def framework_error(request: Request, status: int, error: str) -> Response:
        stamp = clock().astimezone(_BEIJING).isoformat(timespec="milliseconds")
        body = {"timestamp": stamp, "status": status, "error": error, "path": request.url.path}
        return _JSON(body, status_code=status)

    async def fault(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Fault)
        return _JSON({"code": exc.code, "msg": exc.message, "data": None})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        names = {404: "Not Found", 405: "Method Not Allowed"}
        return framework_error(request, exc.status_code, names.get(exc.status_code, str(exc.detail)))

    async def crash(request: Request, exc: Exception) -> Response:
        return framework_error(request, 500, "Internal Server Error")

    routes = [
        Route(_wire.HEALTH, health),
        Route(_wire.LICENCE_DETAIL, licence),
        Route(_wire.LICENCE_LIST, licence_list),
        Route(_wire.SUBJECT_DETAIL, subject),
        Route(_wire.SUBJECT_REPAIR, repair, methods=["POST"]),
        Route(_wire.AFFAIR_STATUS, affair),
        Route(_wire.AFFAIR_UPDATE, update_affair, methods=["POST"]),
        Route(_wire.SEAL_LIST, seal_list),
        Route(_wire.SEAL_DETAIL, seal),
        Route(_wire.PROJECT_LIST, project_list),
        Route(_wire.PROJECT_DETAIL, project),
        Route(_wire.EXPERT_LIST, expert_list),
        Route(_wire.EXPERT_DETAIL, expert),
        Route(_wire.SPECIALTY_LIST, specialty_list),
    ]
    if signing is not None:
        routes.append(Route(_wire.CLOUD_SIGN_CERT, cloud_sign_cert))
        routes.append(Route(_wire.CLOUD_SIGN, cloud_sign, methods=["POST"]))
    return Starlette(routes=routes, exception_handlers={_Fault: fault, HTTPException: http_error, Exception: crash})


def record_credit_repair(base_url: str, uscc: str, decision_number: str, repaired_on: date) -> None:
    """Ask this sandbox's credit platform (at `base_url`) to record a repair; ValueError if it refuses."""
    import httpx

    url = f"{base_url.rstrip('/')}{_wire.SUBJECT_REPAIR}"
    body = {"tyshxydm": uscc, "decide_doc_no": decision_number, "repair_date": repaired_on.isoformat()}
    answer = httpx.post(url, json=body, timeout=10, trust_env=False).json()
    if answer.get("code") != _wire.OK:
        raise ValueError(f"the credit platform refused the repair: {answer.get('msg')}")
