"""ZhongshanClient end to end: zeep against the sandbox on loopback, GB18030 answers read right, failures typed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from adapters.zhongshan import PartnerRejected, PartnerUnavailable, ZhongshanClient, create_app, sample_applications
from catalogs.seed import generate
from tests.conftest import free_port

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


def test_malformed_answer_is_partner_unavailable() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap:Body><z:QueryDzzzResponse xmlns:z="urn:zhongshan:gov:dzzz">'
            "<DZZZ><ZZBH>1</ZZBH><FZRQ>2026-01-01</FZRQ></DZZZ></z:QueryDzzzResponse></soap:Body></soap:Envelope>"
        )
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "text/xml; charset=UTF-8"})

    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.MockTransport(answer)) as client:
            with pytest.raises(PartnerUnavailable, match="FZRQ"):
                await client.get_licence("1")

    run(scenario())


def test_xxe_in_an_answer_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>'
        return httpx.Response(200, content=body, headers={"Content-Type": "text/xml"})

    async def scenario() -> None:
        async with ZhongshanClient("http://zhongshan", transport=httpx.MockTransport(answer)) as client:
            with pytest.raises(PartnerUnavailable):
                await client.get_licence("1")

    run(scenario())
