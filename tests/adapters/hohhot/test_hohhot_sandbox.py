"""End to end: the Hohhot sandbox on loopback (uvicorn) and HohhotClient talking to it; its wire and its errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
import pytest
from conftest import LoopbackServer

from adapters import PartnerClient
from adapters.hohhot import (
    MAIN_VENUE,
    HohhotClient,
    HohhotMapping,
    MalformedPartnerData,
    PartnerRejected,
    PartnerUnavailable,
    create_app,
    seed_affairs,
    seed_trading_centre,
)
from catalogs import code_table, validate_resident_id
from catalogs.seed import generate
from gateway.canonical import Licence

T = TypeVar("T")
DATA = generate()
SEED = DATA.city("hohhot")
PINNED = datetime(2026, 11, 23, 2, 0, 5, 123456, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


def run(work: Callable[[HohhotClient], Awaitable[T]], url: str, **options: Any) -> T:
    async def main() -> T:
        async with HohhotClient(url, **options) as client:
            return await work(client)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    server = LoopbackServer(create_app(DATA, now=lambda: PINNED)).start()
    yield server.url
    server.stop()


def get(url: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{url}{path}", params=params, trust_env=False)


def test_health_and_raw_wire_format(sandbox: str) -> None:
    assert get(sandbox, "/actuator/health").json() == {"status": "UP"}
    licence = next(item for item in SEED.licences if not item.licence_number.isascii())
    response = get(sandbox, "/api/license/detail", license_code=licence.licence_number)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert licence.holder.name.encode("utf-8") in response.content  # UTF-8, not \\u escapes
    body = response.json()
    assert (body["code"], body["msg"]) == (200, "操作成功")
    assert body["data"]["license_code"] == licence.licence_number
    assert body["data"]["issue_date"] == f"{licence.issued_on:%Y-%m-%d}"
    assert body["data"]["license_type"] == code_table("licence_type").to_city("hohhot", licence.licence_type)
    assert body["data"]["holder_info"]["cert_num"] == licence.holder.id_number


def test_client_reads_what_the_seed_holds(sandbox: str) -> None:
    enterprise = SEED.enterprises[0]
    subject = next(item for item in SEED.credit_subjects if item.records)
    affair = seed_affairs(DATA)[3]

    async def work(client: HohhotClient) -> tuple[Any, ...]:
        return (
            [await client.get_licence(item.licence_number) for item in SEED.licences],
            await client.find_licences(enterprise.id_number),
            await client.find_licences(enterprise.id_number, "business_licence"),
            await client.get_credit_subject(subject.uscc),
            await client.get_application_status(affair.application_id),
        )

    every, held, business, got_subject, got_affair = run(work, sandbox)
    assert every == list(SEED.licences)
    expected = [item for item in SEED.licences if item.holder.id_number == enterprise.id_number]
    assert held == expected and expected
    assert business == [item for item in expected if item.licence_type == "business_licence"]
    assert got_subject == subject
    assert got_affair == affair


def test_a_status_change_is_pushed_stamped_in_whole_seconds_and_read_back(sandbox: str) -> None:
    affair = seed_affairs(DATA)[0]

    async def work(client: HohhotClient) -> tuple[Any, ...]:
        pushed = await client.update_application_status(affair.application_id, "processing", "材料齐全，进入办理")
        return pushed, await client.get_application_status(affair.application_id)

    pushed, read = run(work, sandbox)
    expected = affair.model_copy(
        update={"state": "processing", "note": "材料齐全，进入办理", "updated_at": PINNED.replace(microsecond=0)}
    )
    assert pushed == read == expected
    raw = get(sandbox, "/api/affair/status/detail", affair_id=affair.application_id).json()["data"]
    assert raw["affair_state"] == "HANDLING"
    assert raw["modify_time"] == "2026-11-23 10:00:05"
    assert run(lambda client: client.update_application_status("NO-SUCH", "processing"), sandbox) is None


def test_errors_come_in_hohhots_style(sandbox: str) -> None:
    missing = get(sandbox, "/api/credit/subject/detail", tyshxydm="NOPE")
    assert missing.status_code == 200 and missing.json() == {"code": 404, "msg": "未查询到信用主体 NOPE", "data": None}
    no_holder = get(sandbox, "/api/license/list")
    assert no_holder.status_code == 200 and no_holder.json()["code"] == 400
    bad_type = get(sandbox, "/api/license/list", cert_num="x", license_type="SZ-YYZZ")
    assert bad_type.json()["code"] == 400
    too_big = get(sandbox, "/api/license/list", cert_num="x", page_size=101)
    assert too_big.json()["code"] == 400
    bad_state = httpx.post(
        f"{sandbox}/api/affair/status/update",
        json={"affair_id": seed_affairs(DATA)[1].application_id, "affair_state": "30"},
        trust_env=False,
    )
    assert bad_state.json()["code"] == 400
    no_route = get(sandbox, "/api/nothing")
    assert no_route.status_code == 404
    assert {"timestamp", "status", "error", "path"} == set(no_route.json())
    wrong_method = httpx.delete(f"{sandbox}/api/license/detail", trust_env=False)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "Method Not Allowed"


def test_lists_are_pages(sandbox: str) -> None:
    first = get(sandbox, "/api/trade/expert/list", page_size=5).json()
    second = get(sandbox, "/api/trade/expert/list", page_size=5, page_num=2).json()
    assert first["total"] == second["total"] == len(SEED.experts)
    assert len(first["rows"]) == len(second["rows"]) == 5
    assert first["rows"][-1]["expert_code"] < second["rows"][0]["expert_code"]
    assert get(sandbox, "/api/trade/expert/list").json()["rows"] == first["rows"] + second["rows"]  # default 10
    assert get(sandbox, "/api/trade/expert/list", page_num=99).json()["rows"] == []


def test_the_trading_centre_lists_projects_open_for_remote_evaluation(sandbox: str) -> None:
    seeded = seed_trading_centre(DATA)
    remote = get(sandbox, "/api/trade/project/list", remote_eval="1", page_size=100).json()["rows"]
    assert [row["project_code"] for row in remote] == [item.project.project_code for item in seeded if item.remote]
    assert any(item.open_for_evaluation for item in seeded)
    assert len(remote) < len(seeded)  # some are evaluated on site only
    for row in remote:
        assert row["remote_eval"] == "1" and row["main_venue"] == MAIN_VENUE
        assert "中山市公共资源交易中心" in row["secondary_venues"]
        assert row["committee_size"] in (5, 7)
        assert row["specialty_codes"] and all(isinstance(code, str) for code in row["specialty_codes"])
        assert {code_table("evaluation_specialty").from_city("hohhot", c) for c in row["specialty_codes"]}
        assert len(row["bidder_list"]) >= 3
        datetime.strptime(row["eval_time"], "%Y-%m-%d %H:%M:%S")
    detail = get(sandbox, "/api/trade/project/detail", project_code=remote[0]["project_code"]).json()["data"]
    assert detail == remote[0]

    async def work(client: HohhotClient) -> tuple[Any, ...]:
        return await client.find_trading_projects(), await client.find_trading_projects("evaluating")

    every, evaluating = run(work, sandbox)
    assert every == [item.project for item in seeded]
    assert evaluating == [item.project for item in seeded if item.project.status == "evaluating"] != []
    for project in every:
        assert project.evaluation_at is None or project.evaluation_at.utcoffset() == timedelta(hours=8)


def test_the_trading_centre_serves_its_expert_pool(sandbox: str) -> None:
    specialties = code_table("evaluation_specialty")
    law = specialties.to_city("hohhot", "legal_services")
    rows = get(sandbox, "/api/trade/expert/list", specialty_code=law, available_flag="1", page_size=100).json()["rows"]
    expected = [e for e in SEED.experts if "legal_services" in e.specialties and e.available]
    assert [row["expert_code"] for row in rows] == [e.expert_id for e in expected] and expected
    for row, expert in zip(rows, expected, strict=True):
        validate_resident_id(row["cert_num"], on=DATA.as_of)
        assert row["cert_num"] == expert.id_number
        assert row["gender"] in ("男", "女")
        assert [item["specialty_code"] for item in row["specialty_list"]] == [
            specialties.to_city("hohhot", code) for code in expert.specialties
        ]
        assert (row["work_unit"], row["work_unit_credit_code"]) == (expert.employer.name, expert.employer.id_number)
        assert row["available_flag"] == "1"
    unavailable = get(sandbox, "/api/trade/expert/list", available_flag="0", page_size=100).json()
    assert unavailable["total"] == sum(1 for e in SEED.experts if not e.available)
    one = get(sandbox, "/api/trade/expert/detail", expert_code=SEED.experts[0].expert_id).json()["data"]
    assert one["expert_name"] == SEED.experts[0].name
    catalogue = get(sandbox, "/api/trade/specialty/list").json()
    assert catalogue["total"] == len(specialties)
    assert {row["specialty_code"] for row in catalogue["rows"]} == set(specialties.city_codes("hohhot"))
    assert get(sandbox, "/api/trade/expert/list", specialty_code="legal_services").json()["code"] == 400


def test_seals_are_what_the_seed_holds_for_hohhot(sandbox: str) -> None:
    holder = SEED.seals[0].holder.id_number

    async def work(client: HohhotClient) -> tuple[Any, ...]:
        return await client.get_seals(holder), await client.get_seal("NO-SUCH-SEAL")

    held, missing = run(work, sandbox)
    assert held == [seal for seal in SEED.seals if seal.holder.id_number == holder]
    assert missing is None


def test_a_stopped_sandbox_is_partner_unavailable() -> None:
    server = LoopbackServer(create_app(DATA)).start()
    server.stop()
    with pytest.raises(PartnerUnavailable) as caught:
        run(lambda client: client.get_licence(SEED.licences[0].licence_number), server.url)
    assert caught.value.status is None and caught.value.retryable


def _mock(status: int, body: Any) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, {"timestamp": "x", "status": 500, "error": "Internal Server Error", "path": "/"}, PartnerUnavailable),
        (502, b"<html>Bad Gateway</html>", PartnerUnavailable),
        (200, {"code": 500, "msg": "系统异常"}, PartnerUnavailable),
        (200, {"code": 400, "msg": "参数错误"}, PartnerRejected),
        (200, {"code": 401, "msg": "未授权"}, PartnerRejected),
        (404, {"timestamp": "x", "status": 404, "error": "Not Found", "path": "/"}, PartnerRejected),
        (301, b"", PartnerRejected),
        (200, b"not json", MalformedPartnerData),
        (200, {"code": "200", "msg": "ok", "data": {}}, MalformedPartnerData),  # Shenzhen-style string code
        (200, {"code": 200, "msg": "ok", "data": None}, MalformedPartnerData),
        (200, {"code": 200, "msg": "ok", "data": {"license_code": 1}}, MalformedPartnerData),
        (200, [1, 2], MalformedPartnerData),
    ],
)
def test_partner_failures_become_the_clients_errors(status: int, body: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        run(lambda client: client.get_licence("X"), "http://hohhot.invalid", transport=_mock(status, body))
    if isinstance(caught.value, PartnerRejected | PartnerUnavailable):
        assert caught.value.status == status
        assert caught.value.code == (body.get("code") if isinstance(body, dict) and "code" in body else None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": 200, "msg": "ok", "rows": []}, "total"),
        ({"code": 200, "msg": "ok", "total": "1", "rows": []}, "total"),
        ({"code": 200, "msg": "ok", "total": 1, "rows": {}}, "rows"),
        ({"code": 200, "msg": "ok", "total": 1, "rows": [{"license_code": None}]}, "rows[0].license_code"),
    ],
)
def test_a_malformed_page_names_what_is_wrong(body: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPartnerData) as caught:
        run(lambda client: client.find_licences("X"), "http://hohhot.invalid", transport=_mock(200, body))
    assert caught.value.field == field


def test_lists_are_read_page_after_page() -> None:
    """A holder with more licences than one page holds (the seed has none): the client follows the pages."""
    licence = SEED.licences[0]
    many = [licence.model_copy(update={"licence_number": f"P-{i:04d}"}) for i in range(230)]
    mapping = HohhotMapping()
    asked: list[dict[str, str]] = []

    def pages(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        size, number = int(params["page_size"]), int(params["page_num"])
        rows = [mapping.to_partner(item) for item in many[(number - 1) * size : number * size]]
        return httpx.Response(200, json={"code": 200, "msg": "查询成功", "total": len(many), "rows": rows})

    found: list[Licence] = run(
        lambda client: client.find_licences(licence.holder.id_number, "business_licence"),
        "http://hohhot.invalid",
        transport=httpx.MockTransport(pages),
    )
    assert found == many
    assert [a["page_num"] for a in asked] == ["1", "2", "3"]
    assert {a["cert_num"] for a in asked} == {licence.holder.id_number}
    assert {a["license_type"] for a in asked} == {code_table("licence_type").to_city("hohhot", "business_licence")}


def test_a_timeout_is_partner_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(PartnerUnavailable, match="timed out"):
        run(
            lambda client: client.get_credit_subject("91150100TB00000000"),
            "http://hohhot.invalid",
            transport=httpx.MockTransport(slow),
        )


def test_an_unknown_canonical_code_is_refused_before_anything_is_sent() -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    with pytest.raises(ValueError, match="no_such_type"):
        run(
            lambda client: client.find_licences("X", "no_such_type"),
            "http://x.invalid",
            transport=httpx.MockTransport(never),
        )


def test_the_client_implements_the_partner_interface() -> None:
    client: PartnerClient = HohhotClient("http://hohhot.invalid")  # mypy checks the structural fit
    assert client.city == "150100"
    asyncio.run(client.aclose())
