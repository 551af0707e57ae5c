"""End to end: the Shenzhen sandbox on loopback (uvicorn) and ShenzhenClient talking to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
import pytest

from adapters import PartnerClient, PartnerMapping
from adapters.shenzhen import (
    MalformedPartnerData,
    PartnerRejected,
    PartnerUnavailable,
    ShenzhenClient,
    ShenzhenMapping,
    create_app,
    seed_application_statuses,
)
from catalogs import UnknownCode, code_table
from catalogs.seed import generate

T = TypeVar("T")
SEED = generate().city("shenzhen")
PINNED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def run(work: Callable[[ShenzhenClient], Awaitable[T]], url: str, **options: Any) -> T:
    async def main() -> T:
        async with ShenzhenClient(url, **options) as client:
            return await work(client)

    return asyncio.run(main())


@pytest.fixture
def sandbox(serve: Callable[..., Any]) -> str:
    return str(serve(create_app(now=lambda: PINNED)).url)


def test_health_and_raw_wire_format(sandbox: str) -> None:
    assert httpx.get(f"{sandbox}/health", trust_env=False).json() == {"status": "UP"}
    licence = SEED.licences[-1]
    response = httpx.get(f"{sandbox}/api/licence/v1/licences/{licence.licence_number}", trust_env=False)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert licence.holder.name.encode("utf-8") in response.content  # UTF-8, not \\u escapes
    body = response.json()
    assert body["code"] == "00000"
    assert body["data"]["licenceNo"] == licence.licence_number
    assert body["data"]["issueDate"] == licence.issued_on.isoformat()


def test_client_reads_licences_subjects_and_applications(sandbox: str) -> None:
    licence = next(item for item in SEED.licences if not item.licence_number.isascii())  # 粤…, （粤）…
    enterprise = SEED.enterprises[0]
    subject = next(item for item in SEED.credit_subjects if item.records)
    application = seed_application_statuses(SEED)[2]

    async def work(client: ShenzhenClient) -> tuple[Any, ...]:
        return (
            await client.get_licence(licence.licence_number),
            await client.find_licences(enterprise.id_number),
            await client.find_licences(enterprise.id_number, "business_licence"),
            await client.find_licences(enterprise.id_number, "food_production_permit"),
            await client.get_credit_subject(subject.uscc),
            await client.get_application_status(application.application_id),
        )

    got_licence, all_found, business, none_found, got_subject, got_status = run(work, sandbox)
    assert got_licence == licence
    expected = [item for item in SEED.licences if item.holder.id_number == enterprise.id_number]
    assert all_found == expected and len(expected) >= 1
    assert business == [item for item in expected if item.licence_type == "business_licence"]
    assert none_found == []
    assert got_subject == subject
    assert got_status == application


def test_unknown_records_are_none(sandbox: str) -> None:
    async def work(client: ShenzhenClient) -> tuple[Any, ...]:
        return (
            await client.get_licence("NO-SUCH/LICENCE"),
            await client.get_credit_subject("91440300TB00000000"),
            await client.get_application_status("SZ0000"),
        )

    assert run(work, sandbox) == (None, None, None)


def test_a_status_change_is_pushed_and_read_back(sandbox: str) -> None:
    application = seed_application_statuses(SEED)[0]

    async def work(client: ShenzhenClient) -> tuple[Any, ...]:
        pushed = await client.update_application_status(application.application_id, "processing", "材料齐全，进入办理")
        return pushed, await client.get_application_status(application.application_id)

    pushed, read = run(work, sandbox)
    expected = application.model_copy(
        update={"state": "processing", "note": "材料齐全，进入办理", "updated_at": PINNED}
    )
    assert pushed == read == expected
    raw = httpx.get(f"{sandbox}/api/handle/v1/applications/{application.application_id}/status", trust_env=False)
    assert raw.json()["data"]["handleStatus"] == "30"
    assert raw.json()["data"]["updateTime"] == (PINNED.astimezone(timezone(timedelta(hours=8)))).isoformat()


def test_errors_come_in_shenzhens_style(sandbox: str) -> None:
    missing = httpx.get(f"{sandbox}/api/credit/v1/subjects/NOPE", trust_env=False)
    assert missing.status_code == 404 and missing.json()["code"] == "40401"
    no_route = httpx.get(f"{sandbox}/api/nothing", trust_env=False)
    assert no_route.status_code == 404 and no_route.json()["code"] == "40400"
    no_holder = httpx.get(f"{sandbox}/api/licence/v1/licences", trust_env=False)
    assert no_holder.status_code == 400 and no_holder.json()["code"] == "40001"
    bad_type = httpx.get(
        f"{sandbox}/api/licence/v1/licences", params={"holderCertNo": "x", "licenceTypeCode": "1001"}, trust_env=False
    )
    assert bad_type.status_code == 400 and bad_type.json()["code"] == "40001"
    application = seed_application_statuses(SEED)[1].application_id
    bad_state = httpx.post(
        f"{sandbox}/api/handle/v1/applications/{application}/status", json={"handleStatus": "SL"}, trust_env=False
    )
    assert bad_state.status_code == 400 and bad_state.json()["code"] == "40001"

    async def work(client: ShenzhenClient) -> Any:
        return await client.update_application_status(application, "received", note=None)

    assert run(work, sandbox).state == "received"


def test_the_seed_gives_the_seal_platform_valid_and_revoked_seals_of_seeded_organisations() -> None:
    statuses = {seal.status for seal in SEED.seals}
    assert {"valid", "revoked"} <= statuses
    enterprises = {party.id_number: party for party in SEED.enterprises}
    assert all(enterprises.get(seal.holder.id_number) == seal.holder for seal in SEED.seals)
    assert len({seal.seal_code for seal in SEED.seals}) == len(SEED.seals)
    assert {p.status for p in SEED.trading_projects} == set(code_table("trading_project_status").canonical_codes)
    assert {p.category for p in SEED.trading_projects} == set(code_table("trading_category").canonical_codes)


def test_seal_platform_raw_wire_format(sandbox: str) -> None:
    seal = next(item for item in SEED.seals if item.status == "revoked")
    holder = seal.holder.id_number
    body = httpx.get(f"{sandbox}/api/seal/v1/enterprises/{holder}/seals", trust_env=False).json()
    assert body["code"] == "00000" and body["data"]["total"] == len(body["data"]["list"]) >= 1
    assert {row["creditCode"] for row in body["data"]["list"]} == {holder}
    assert seal.seal_code in {row["sealCode"] for row in body["data"]["list"]}
    one = httpx.get(f"{sandbox}/api/seal/v1/seals/{seal.seal_code}", trust_env=False).json()["data"]
    assert one["sealStatus"] == code_table("seal_status").to_city("shenzhen", "revoked")
    assert one["validFrom"] == seal.valid_from.isoformat()
    missing = httpx.get(f"{sandbox}/api/seal/v1/enterprises/NOPE/seals", trust_env=False)
    assert missing.status_code == 404 and missing.json()["code"] == "40401"
    sealless = next(a for a in SEED.authorities if all(s.holder.id_number != a.id_number for s in SEED.seals))
    empty = httpx.get(f"{sandbox}/api/seal/v1/enterprises/{sealless.id_number}/seals", trust_env=False).json()
    assert empty["data"] == {"total": 0, "list": []}


def test_trading_centre_raw_wire_format(sandbox: str) -> None:
    projects = httpx.get(f"{sandbox}/api/trade/v1/projects", trust_env=False).json()["data"]
    assert projects["total"] == len(projects["list"]) == len(SEED.trading_projects)
    timed = next(row for row in projects["list"] if row["evaluationTime"] is not None)
    assert datetime.fromisoformat(timed["evaluationTime"]).utcoffset() == timedelta(hours=8)
    evaluating = code_table("trading_project_status").to_city("shenzhen", "evaluating")
    rows = httpx.get(f"{sandbox}/api/trade/v1/projects", params={"projectStatus": evaluating}, trust_env=False)
    assert {p["projectStatus"] for p in rows.json()["data"]["list"]} == {evaluating}
    bad = httpx.get(f"{sandbox}/api/trade/v1/projects", params={"projectStatus": "PB"}, trust_env=False)
    assert bad.status_code == 400 and bad.json()["code"] == "40001"
    missing = httpx.get(f"{sandbox}/api/trade/v1/projects/NOPE", trust_env=False)
    assert missing.status_code == 404 and missing.json()["code"] == "40401"


def test_client_reads_seals_and_trading_projects(sandbox: str) -> None:
    revoked = next(item for item in SEED.seals if item.status == "revoked")
    valid = next(item for item in SEED.seals if item.status == "valid")
    project = next(item for item in SEED.trading_projects if item.status == "evaluating")

    async def work(client: ShenzhenClient) -> tuple[Any, ...]:
        return (
            await client.get_seals(valid.holder.id_number),
            await client.get_seal(revoked.seal_code),
            await client.get_seal(valid.seal_code),
            await client.get_seal("440300TB99999"),
            await client.get_seals("91440300TB00000000"),
            await client.find_trading_projects(),
            await client.find_trading_projects("evaluating"),
            await client.get_trading_project(project.project_code),
            await client.get_trading_project("NOPE"),
        )

    held, got_revoked, got_valid, no_seal, no_holder, every, evaluating, got_project, no_project = run(work, sandbox)
    assert held == [seal for seal in SEED.seals if seal.holder.id_number == valid.holder.id_number]
    assert got_revoked == revoked and got_revoked.status == "revoked"
    assert got_valid == valid
    assert no_seal is None and no_holder == []
    assert every == list(SEED.trading_projects)
    assert evaluating == [p for p in SEED.trading_projects if p.status == "evaluating"] and project in evaluating
    assert got_project == project and no_project is None


def test_an_unknown_project_status_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async def work(client: ShenzhenClient) -> Any:
        return await client.find_trading_projects("open")

    with pytest.raises(UnknownCode, match="trading_project_status"):
        run(work, "http://shenzhen.invalid", transport=httpx.MockTransport(record))
    assert sent == []


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, {"code": "50001", "message": "系统内部错误"}, PartnerUnavailable),
        (400, {"code": "40001", "message": "参数错误"}, PartnerRejected),
        (200, {"code": "00000", "message": "成功", "data": {"total": 1}}, MalformedPartnerData),
        (
            200,
            {"code": "00000", "message": "成功", "data": {"total": 1, "list": [{"sealCode": 1}]}},
            MalformedPartnerData,
        ),
    ],
)
def test_seal_and_project_failures_become_the_clients_errors(status: int, body: Any, error: type[Exception]) -> None:
    for call in (
        lambda client: client.get_seals("91440300TB00000000"),
        lambda client: client.find_trading_projects(),
    ):
        with pytest.raises(error):
            run(call, "http://shenzhen.invalid", transport=_mock(status, body))


def test_a_stopped_sandbox_is_partner_unavailable(serve: Callable[..., Any]) -> None:
    server = serve(create_app())
    url = server.url
    server.stop()

    async def work(client: ShenzhenClient) -> Any:
        return await client.get_licence(SEED.licences[0].licence_number)

    with pytest.raises(PartnerUnavailable):
        run(work, url)


def _mock(status: int, body: Any) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, {"code": "50001", "message": "系统内部错误"}, PartnerUnavailable),
        (503, b"<html>busy</html>", PartnerUnavailable),
        (400, {"code": "40001", "message": "参数错误"}, PartnerRejected),
        (403, {"code": "40301", "message": "无权访问"}, PartnerRejected),
        (404, b"Not Found", PartnerRejected),  # not Shenzhen's "no such record": a wrong URL, not an absence
        (200, {"code": "40001", "message": "参数错误"}, PartnerRejected),
        (200, b"not json", MalformedPartnerData),
        (200, {"code": "00000", "message": "成功", "data": {"licenceNo": 1}}, MalformedPartnerData),
    ],
)
def test_partner_failures_become_the_clients_errors(status: int, body: Any, error: type[Exception]) -> None:
    async def work(client: ShenzhenClient) -> Any:
        return await client.get_licence("X")

    with pytest.raises(error) as caught:
        run(work, "http://shenzhen.invalid", transport=_mock(status, body))
    if isinstance(caught.value, PartnerRejected | PartnerUnavailable):
        assert caught.value.status == status


def test_a_timeout_is_partner_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async def work(client: ShenzhenClient) -> Any:
        return await client.get_credit_subject("91440300TB00000000")

    with pytest.raises(PartnerUnavailable, match="timed out"):
        run(work, "http://shenzhen.invalid", transport=httpx.MockTransport(slow))


def test_the_adapter_implements_the_partner_interfaces() -> None:
    mapping: PartnerMapping = ShenzhenMapping()  # mypy checks the structural fit
    client: PartnerClient = ShenzhenClient("http://shenzhen.invalid")
    assert mapping.city == client.city == "440300"
    asyncio.run(client.aclose())
