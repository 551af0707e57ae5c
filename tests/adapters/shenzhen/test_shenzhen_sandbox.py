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


def test_seal_platform_and_trading_centre(sandbox: str) -> None:
    enterprise = SEED.enterprises[2]
    seals = httpx.get(f"{sandbox}/api/seal/v1/enterprises/{enterprise.id_number}/seals", trust_env=False).json()
    assert seals["code"] == "00000" and seals["data"]["total"] == len(seals["data"]["list"]) >= 1
    assert {seal["creditCode"] for seal in seals["data"]["list"]} == {enterprise.id_number}
    missing = httpx.get(f"{sandbox}/api/seal/v1/enterprises/NOPE/seals", trust_env=False)
    assert missing.status_code == 404 and missing.json()["code"] == "40401"
    projects = httpx.get(f"{sandbox}/api/trade/v1/projects", trust_env=False).json()["data"]
    assert projects["total"] == len(projects["list"]) > 0
    opens = datetime.fromisoformat(projects["list"][0]["bidOpenTime"])
    assert opens.utcoffset() == timedelta(hours=8)
    open_ones = httpx.get(f"{sandbox}/api/trade/v1/projects", params={"projectStatus": "10"}, trust_env=False).json()
    assert {p["projectStatus"] for p in open_ones["data"]["list"]} == {"10"}


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
