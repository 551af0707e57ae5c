"""ZhongshanClient end to end: zeep against the sandbox on loopback, GB18030 answers read right, failures typed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from conftest import free_port
from lxml import etree

from adapters.zhongshan import (
    PartnerRejected,
    PartnerUnavailable,
    ZhongshanClient,
    ZhongshanMapping,
    create_app,
    sample_applications,
)
from adapters.zhongshan._exceptions import MalformedPartnerData
from catalogs import UnknownCode
from catalogs.seed import generate

SEED = generate()
ZHONGSHAN = SEED.city("zhongshan")
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture
def sandbox(serve: Callable[..., Any]) -> str:
    return str(serve(create_app(SEED)).url)


def test_end_to_end_on_loopback(sandbox: str) -> None:
    licence = next(lic for lic in ZHONGSHAN.licences if lic.holder.id_type == "uscc")
    subject = next(s for s in ZHONGSHAN.credit_subjects if s.records)
    application = sample_applications(SEED)[4]

    async def scenario() -> None:
        async with ZhongshanClient(sandbox) as client:
            found = await client.get_licence(licence.licence_number)
            assert found == licence
            assert found is not None and found.holder.name == licence.holder.name  # Chinese, sent as GB18030
            held = await client.find_licences(licence.holder.id_number)
            assert held == [lic for lic in ZHONGSHAN.licences if lic.holder.id_number == licence.holder.id_number]
            assert await client.find_licences(licence.holder.id_number, licence.licence_type) == [
                lic for lic in held if lic.licence_type == licence.licence_type
            ]
            assert await client.get_credit_subject(subject.uscc) == subject
            assert await client.get_application_status(application.application_id) == application
            assert await client.get_licence("NO-SUCH-LICENCE") is None
            assert await client.get_credit_subject("91442000TB00000000") is None
            assert await client.get_application_status("0") is None
            assert await client.find_licences("442000190001010000") == []

    run(scenario())


def test_every_seeded_licence_reads_back(sandbox: str) -> None:
    async def scenario() -> None:
        async with ZhongshanClient(sandbox) as client:
            for licence in ZHONGSHAN.licences:
                assert await client.get_licence(licence.licence_number) == licence

    run(scenario())


def test_client_fault_is_partner_rejected() -> None:
    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.ASGITransport(create_app(SEED))) as client:
            with pytest.raises(PartnerRejected) as caught:
                await client.find_licences("")
            assert caught.value.code == "ZS-E1002"
            assert not caught.value.retryable

    run(scenario())


def test_unreachable_is_partner_unavailable() -> None:
    async def scenario() -> None:
        async with ZhongshanClient(f"http://127.0.0.1:{free_port()}") as client:
            with pytest.raises(PartnerUnavailable) as caught:
                await client.get_licence("1")
            assert caught.value.retryable

    run(scenario())


ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    '<soap:Body><z:QueryDzzzResponse xmlns:z="urn:zhongshan:gov:dzzz">{records}</z:QueryDzzzResponse></soap:Body>'
    "</soap:Envelope>"
)


def _answering(status: int, body: bytes, content_type: str = "text/xml; charset=UTF-8") -> ZhongshanClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    return ZhongshanClient("http://zhongshan", transport=httpx.MockTransport(answer))


def _get_licence_raises(client: ZhongshanClient, error: type[Exception], match: str | None = None) -> Exception:
    async def scenario() -> Exception:
        async with client:
            with pytest.raises(error, match=match) as caught:
                await client.get_licence("1")
            return caught.value

    return run(scenario())


def test_a_malformed_record_is_malformed_partner_data_naming_the_element() -> None:
    body = ENVELOPE.format(records="<DZZZ><ZZBH>1</ZZBH><FZRQ>2026-01-01</FZRQ></DZZZ>").encode()
    error = _get_licence_raises(_answering(200, body), MalformedPartnerData, "FZRQ")
    assert isinstance(error, ValueError) and not isinstance(error, PartnerUnavailable) and not error.retryable


def test_xxe_in_an_answer_is_refused_as_malformed() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>'
    _get_licence_raises(_answering(200, body), MalformedPartnerData)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\x00\x01 not xml \xff", "unreadable XML"),
        (b'{"code": 200, "data": {}}', "unreadable XML"),
        ("<html><body><h1>系统维护</h1></body></html>".encode(), "not a SOAP 1.1 envelope"),
        (ENVELOPE.replace("QueryDzzzResponse", "QueryXyztResponse").format(records="").encode(), "QueryDzzzResponse"),
    ],
    ids=["bytes", "json", "html", "wrong-response"],
)
def test_an_answer_that_is_not_zhongshans_is_malformed_on_200(body: bytes, problem: str) -> None:
    _get_licence_raises(_answering(200, body), MalformedPartnerData, problem)


@pytest.mark.parametrize("status", [502, 503, 404])
def test_an_error_page_in_front_of_the_service_is_unavailable(status: int) -> None:
    page = f"<html><body><h1>{status} 服务暂不可用</h1></body></html>".encode()
    error = _get_licence_raises(_answering(status, page, "text/html"), PartnerUnavailable, f"HTTP {status}")
    assert error.retryable and not isinstance(error, ValueError)


def test_two_records_for_one_key_are_malformed() -> None:
    licence = ZHONGSHAN.licences[0]
    record = etree.tostring(ZhongshanMapping().to_partner(licence), encoding="unicode")
    body = ENVELOPE.format(records=record * 2).encode()
    _get_licence_raises(_answering(200, body), MalformedPartnerData, "2 records for one key")


def test_seals_and_trading_projects_end_to_end(sandbox: str) -> None:
    revoked = next(seal for seal in ZHONGSHAN.seals if seal.status == "revoked")
    valid = next(seal for seal in ZHONGSHAN.seals if seal.status == "valid" and seal.seal_type == "official")
    project = next(p for p in ZHONGSHAN.trading_projects if p.evaluation_at is not None and p.budget_cny)

    async def scenario() -> None:
        async with ZhongshanClient(sandbox) as client:
            got = await client.get_seal(revoked.seal_code)  # DzyzCxService answers in GB18030
            assert got == revoked and got.status == "revoked"
            assert await client.get_seal(valid.seal_code) == valid
            assert await client.get_seals(valid.holder.id_number) == [
                seal for seal in ZHONGSHAN.seals if seal.holder.id_number == valid.holder.id_number
            ]
            assert await client.get_seal("442000TB99999") is None
            assert await client.get_seals("91442000TB00000000") == []
            assert await client.find_trading_projects() == list(ZHONGSHAN.trading_projects)
            assert await client.find_trading_projects(project.status) == [
                p for p in ZHONGSHAN.trading_projects if p.status == project.status
            ]
            assert await client.get_trading_project(project.project_code) == project
            assert await client.get_trading_project("NOPE") is None

    run(scenario())


def test_every_seeded_seal_reads_back_with_its_status() -> None:
    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.ASGITransport(create_app(SEED))) as client:
            for seal in ZHONGSHAN.seals:
                assert await client.get_seal(seal.seal_code) == seal

    run(scenario())


def test_seal_and_project_faults_are_typed() -> None:
    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.ASGITransport(create_app(SEED))) as client:
            with pytest.raises(PartnerRejected) as caught:
                await client.get_seals("")
            assert caught.value.code == "ZS-E1002"
            with pytest.raises(UnknownCode, match="trading_project_status"):
                await client.find_trading_projects("open")

    run(scenario())


def test_a_gb18030_seal_answer_is_read_from_its_bytes() -> None:
    seal = next(item for item in ZHONGSHAN.seals if item.status == "revoked")
    served: list[bytes] = []
    app = httpx.ASGITransport(create_app(SEED))

    async def capture(request: httpx.Request) -> httpx.Response:
        response = await app.handle_async_request(request)
        body = await response.aread()
        served.append(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.MockTransport(capture)) as client:
            assert await client.get_seal(seal.seal_code) == seal

    run(scenario())
    assert served[0].startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    assert seal.holder.name.encode("gb18030") in served[0]
    assert seal.holder.name.encode("utf-8") not in served[0]
