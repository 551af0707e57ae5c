"""One contract for every city adapter, each run against its real sandbox on loopback.

Adding a city is adding one `Adapter` entry to ADAPTERS: how to make its client, its sandbox and
its mapping, which seeded applications its sandbox holds, how its records cross the wire, and
which errors it raises. Every test below then runs for it too. Licences, credit subjects, seals
and trading projects are the city's in catalogs.seed: every sandbox serves exactly those.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from conftest import LoopbackServer, free_port
from lxml import etree

from adapters import PartnerClient, PartnerMapping, hohhot, shenzhen, zhongshan
from adapters.zhongshan._exceptions import MalformedPartnerData as ZhongshanMalformedPartnerData
from catalogs import UnknownCode, code_table
from catalogs.seed import CitySeed, SeedData, generate
from gateway.canonical import ApplicationStatus, CreditSubject, Licence, Seal, TradingProject
from trust import parse_xml

T = TypeVar("T")
DATA = generate()


def _json_wire(record: Any) -> Any:
    return json.loads(json.dumps(record, ensure_ascii=False).encode("utf-8"))


def _gb18030_xml_wire(element: Any) -> Any:
    return parse_xml(etree.tostring(element, encoding="GB18030", xml_declaration=True))


@dataclass(frozen=True)
class Adapter:
    """What the contract needs to know about one city's adapter."""

    name: str  # catalogs city id
    region: str  # GB/T 2260
    client: Callable[[str], PartnerClient]  # base URL -> a client
    sandbox: Callable[[SeedData], Any]  # seed -> the city's sandbox as an ASGI app
    mapping: Callable[[], PartnerMapping]
    applications: Callable[[SeedData], Sequence[ApplicationStatus]]  # what the sandbox seeds
    over_the_wire: Callable[[Any], Any]  # a partner representation, serialised and parsed back
    unavailable: type[Exception]  # the partner cannot be reached or fails
    malformed: type[Exception]  # the partner answered something that is not its format

    def seed(self) -> CitySeed:
        return DATA.city(self.name)


ADAPTERS = (
    Adapter(
        name="shenzhen",
        region="440300",
        client=shenzhen.ShenzhenClient,
        sandbox=shenzhen.create_app,
        mapping=shenzhen.ShenzhenMapping,
        applications=lambda data: shenzhen.seed_application_statuses(data.city("shenzhen")),
        over_the_wire=_json_wire,
        unavailable=shenzhen.PartnerUnavailable,
        malformed=shenzhen.MalformedPartnerData,
    ),
    Adapter(
        name="zhongshan",
        region="442000",
        client=zhongshan.ZhongshanClient,
        sandbox=zhongshan.create_app,
        mapping=zhongshan.ZhongshanMapping,
        applications=zhongshan.sample_applications,
        over_the_wire=_gb18030_xml_wire,
        unavailable=zhongshan.PartnerUnavailable,
        malformed=ZhongshanMalformedPartnerData,
    ),
    Adapter(
        name="hohhot",
        region="150100",
        client=hohhot.HohhotClient,
        sandbox=hohhot.create_app,
        mapping=hohhot.HohhotMapping,
        applications=hohhot.seed_affairs,
        over_the_wire=_json_wire,
        unavailable=hohhot.PartnerUnavailable,
        malformed=hohhot.MalformedPartnerData,
    ),
)
IDS = [adapter.name for adapter in ADAPTERS]


@dataclass(frozen=True)
class Running:
    adapter: Adapter
    url: str

    def call(self, work: Callable[[PartnerClient], Awaitable[T]], url: str | None = None) -> T:
        async def main() -> T:
            client = self.adapter.client(url or self.url)
            try:
                return await work(client)
            finally:
                await client.aclose()

        return asyncio.run(main())


@pytest.fixture(scope="module", params=ADAPTERS, ids=IDS)
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    adapter: Adapter = request.param
    server = LoopbackServer(adapter.sandbox(DATA)).start()
    yield Running(adapter, server.url)
    server.stop()


async def _garbage(scope: dict[str, Any], receive: Any, send: Any, body: bytes, content_type: bytes) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


GARBAGE = {
    "bytes": (b"\x00\x01 not a partner answer \xff\xfe", b"application/octet-stream"),
    "foreign-json": (b'{"unexpected": true, "items": [1, 2, 3]}', b"application/json"),
    "html-page": (b"<html><body><h1>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xbb\xb4\xe6\x8a\xa4</h1></body></html>", b"text/html"),
}


@pytest.fixture(scope="module", params=list(GARBAGE), ids=list(GARBAGE))
def garbage_url(request: pytest.FixtureRequest) -> Iterator[str]:
    body, content_type = GARBAGE[request.param]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _garbage(scope, receive, send, body, content_type)

    server = LoopbackServer(app).start()
    yield server.url
    server.stop()


def _every_call(seed: CitySeed) -> list[Callable[[PartnerClient], Awaitable[Any]]]:
    licence, subject, seal = seed.licences[0], seed.credit_subjects[0], seed.seals[0]
    return [
        lambda client: client.get_licence(licence.licence_number),
        lambda client: client.find_licences(licence.holder.id_number),
        lambda client: client.get_credit_subject(subject.uscc),
        lambda client: client.get_application_status("2026-0001"),
        lambda client: client.get_seals(seal.holder.id_number),
        lambda client: client.get_seal(seal.seal_code),
        lambda client: client.find_trading_projects(),
        lambda client: client.find_trading_projects("evaluating"),
    ]


# ---- the adapter's identity ------------------------------------------------------------------------


def test_every_partner_city_has_an_adapter_in_the_contract() -> None:
    from adapters.sandboxes import SANDBOXES

    assert sorted(IDS) == sorted(spec.city for spec in SANDBOXES)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
def test_client_and_mapping_name_their_city(adapter: Adapter) -> None:
    client = adapter.client("http://127.0.0.1:9")
    assert client.city == adapter.mapping().city == adapter.region
    asyncio.run(client.aclose())


# ---- licences --------------------------------------------------------------------------------------


def test_every_seeded_licence_is_found_equal_to_the_seed(running: Running) -> None:
    seed = running.adapter.seed()

    async def work(client: PartnerClient) -> list[Licence | None]:
        return [await client.get_licence(licence.licence_number) for licence in seed.licences]

    assert running.call(work) == list(seed.licences)
    assert any(not licence.licence_number.isascii() for licence in seed.licences)  # 粤/蒙, （）, 〔〕 among them


@pytest.mark.parametrize(
    "number",
    [
        "NO-SUCH-LICENCE",
        "NO/SUCH/LICENCE",
        "（蒙）JZ安许证字〔2099〕999999",
        "a b+c%2F?x=1#frag",
        "<&>'\"",
        "号码 ümlaut ☃",
    ],
)
def test_an_unknown_licence_is_none_whatever_its_characters(running: Running, number: str) -> None:
    assert running.call(lambda client: client.get_licence(number)) is None


def test_licences_are_found_by_holder_and_by_type(running: Running) -> None:
    seed = running.adapter.seed()
    by_holder: dict[str, list[Licence]] = {}
    for licence in seed.licences:
        by_holder.setdefault(licence.holder.id_number, []).append(licence)
    holder, held = max(by_holder.items(), key=lambda item: len({lic.licence_type for lic in item[1]}))
    person = seed.persons[0].id_number
    types = sorted({licence.licence_type for licence in held})
    assert len(types) >= 2

    async def work(client: PartnerClient) -> tuple[Any, ...]:
        return (
            await client.find_licences(holder),
            [await client.find_licences(holder, licence_type) for licence_type in types],
            await client.find_licences(
                holder, "drug_operation_permit" if "drug_operation_permit" not in types else "resident_id_card"
            ),
            await client.find_licences(person),
            await client.find_licences("150102190001010000"),
        )

    everything, each_type, other_type, persons, nobody = running.call(work)
    assert everything == held
    assert each_type == [[lic for lic in held if lic.licence_type == licence_type] for licence_type in types]
    assert other_type == []
    assert persons == by_holder[person] and persons[0].licence_type == "resident_id_card"
    assert nobody == []


# ---- credit subjects and applications --------------------------------------------------------------


def test_every_credit_subject_is_found_equal_to_the_seed_and_an_unknown_one_is_none(running: Running) -> None:
    seed = running.adapter.seed()

    async def work(client: PartnerClient) -> tuple[list[CreditSubject | None], CreditSubject | None]:
        found = [await client.get_credit_subject(subject.uscc) for subject in seed.credit_subjects]
        return found, await client.get_credit_subject("91000000TB00000000")

    found, unknown = running.call(work)
    assert found == list(seed.credit_subjects)
    assert any(subject.records for subject in found if subject is not None)
    assert unknown is None


def test_every_application_status_is_found_equal_to_the_seed_and_an_unknown_one_is_none(running: Running) -> None:
    seeded = running.adapter.applications(DATA)
    assert len({status.state for status in seeded}) >= 6

    async def work(client: PartnerClient) -> tuple[list[ApplicationStatus | None], ApplicationStatus | None]:
        found = [await client.get_application_status(status.application_id) for status in seeded]
        return found, await client.get_application_status("NO-SUCH/APPLICATION")

    found, unknown = running.call(work)
    assert found == list(seeded)
    assert unknown is None


# ---- seal platform ---------------------------------------------------------------------------------


def test_every_seeded_seal_is_found_equal_to_the_seed(running: Running) -> None:
    seed = running.adapter.seed()

    async def work(client: PartnerClient) -> list[Seal | None]:
        return [await client.get_seal(seal.seal_code) for seal in seed.seals]

    assert running.call(work) == list(seed.seals)
    assert set(code_table("seal_status").canonical_codes) == {seal.status for seal in seed.seals}


@pytest.mark.parametrize("status", ["valid", "revoked"])
def test_a_seal_is_found_with_its_status_at_the_platform(running: Running, status: str) -> None:
    seeded = next(seal for seal in running.adapter.seed().seals if seal.status == status)
    found = running.call(lambda client: client.get_seal(seeded.seal_code))
    assert found == seeded
    assert found is not None and found.status == status


def test_seals_are_found_by_holder_exactly(running: Running) -> None:
    seed = running.adapter.seed()
    holders = (*seed.enterprises, *seed.authorities, *seed.persons[:2])  # authorities and persons hold none
    held: dict[str, list[Seal]] = {party.id_number: [] for party in holders}
    for seal in seed.seals:
        held[seal.holder.id_number].append(seal)
    assert any(not seals for seals in held.values()) and max(len(seals) for seals in held.values()) >= 3

    async def work(client: PartnerClient) -> dict[str, list[Seal]]:
        return {holder: await client.get_seals(holder) for holder in held}

    assert running.call(work) == held


@pytest.mark.parametrize("holder", ["91000000TB00000000", "91442000TB0000000X", "NO-SUCH-HOLDER", "号码 ☃"])
def test_an_unknown_holder_has_no_seals(running: Running, holder: str) -> None:
    assert running.call(lambda client: client.get_seals(holder)) == []


@pytest.mark.parametrize(
    "code", ["NO-SUCH-SEAL", "999999TB99999", "NO/SUCH/SEAL", "a b+c%2F?x=1#frag", "<&>'\"", "印章 ☃"]
)
def test_an_unknown_seal_is_none_whatever_its_characters(running: Running, code: str) -> None:
    assert running.call(lambda client: client.get_seal(code)) is None


# ---- trading centre --------------------------------------------------------------------------------


def test_every_seeded_trading_project_is_found_and_each_status_exactly(running: Running) -> None:
    projects = list(running.adapter.seed().trading_projects)
    statuses = code_table("trading_project_status").canonical_codes

    async def work(client: PartnerClient) -> tuple[list[TradingProject], list[list[TradingProject]]]:
        return await client.find_trading_projects(), [await client.find_trading_projects(s) for s in statuses]

    every, each = running.call(work)
    assert every == projects
    assert each == [[project for project in projects if project.status == status] for status in statuses]
    assert all(each)  # the seed holds a project in every status


def _refused_before_sending(running: Running, status: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # a request sent there would be "unavailable", not UnknownCode
    for url in (running.url, closed):
        with pytest.raises(UnknownCode, match="trading_project_status"):
            running.call(lambda client: client.find_trading_projects(status), url)


@pytest.mark.parametrize("status", ["open", "Evaluating", "", "评标中"])
def test_an_unknown_project_status_is_refused_before_anything_is_sent(running: Running, status: str) -> None:
    _refused_before_sending(running, status)


def test_the_partners_own_status_code_is_not_a_canonical_one(running: Running) -> None:
    _refused_before_sending(running, code_table("trading_project_status").to_city(running.adapter.name, "evaluating"))


# ---- failures --------------------------------------------------------------------------------------


def test_a_partner_that_is_down_is_unavailable(running: Running) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for call in _every_call(running.adapter.seed()):
        with pytest.raises(running.adapter.unavailable):
            running.call(call, closed)


def test_a_partner_answering_garbage_is_malformed_data(running: Running, garbage_url: str) -> None:
    for call in _every_call(running.adapter.seed()):
        with pytest.raises(running.adapter.malformed):
            running.call(call, garbage_url)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
def test_malformed_data_is_a_value_error_distinct_from_unavailable(adapter: Adapter) -> None:
    """The gateway tells "the partner is down, retry" from "the partner answered nonsense" by this."""
    assert issubclass(adapter.malformed, ValueError)
    assert not issubclass(adapter.malformed, adapter.unavailable)


# ---- mapping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
def test_every_seeded_record_survives_the_round_trip_over_the_wire(adapter: Adapter) -> None:
    mapping = adapter.mapping()
    seed = adapter.seed()
    records: tuple[Licence | CreditSubject | ApplicationStatus | Seal | TradingProject, ...] = (
        *seed.licences,
        *seed.credit_subjects,
        *adapter.applications(DATA),
        *seed.seals,
        *seed.trading_projects,
    )
    assert seed.seals and seed.trading_projects
    for record in records:
        wire = adapter.over_the_wire(mapping.to_partner(record))
        assert mapping.from_partner(wire, type(record)) == record  # type: ignore[type-var]  # each its own type
