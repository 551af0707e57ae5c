"""Applications end to end: real gateway, real sandboxes (Shenzhen REST, Zhongshan SOAP) on loopback,
their handling systems reporting back signed; working-day limits with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from world import (
    SZ_HANDLING,
    ZS_HANDLING,
    ZS_WINDOW,
    World,
    handling_member,
    material,
    world_factory,  # noqa: F401  (the fixture)
)

from adapters.sandbox_documents import consent_token, load_sandbox_pki
from catalogs import seed
from gateway.clock import FixedClock
from gateway.demo import wait_for_trust_lists
from gateway.services.applications import sweep
from gateway.soap_client import gateway_soap_client

CST = timezone(timedelta(hours=8))
DATA = seed.generate()
ZS_RESTAURANT = next(
    licence.holder
    for licence in DATA.city("zhongshan").licences
    if licence.licence_type == "business_licence" and licence.status == "valid"
)
SZ_PERSON = DATA.city("shenzhen").persons[0]


def food_licence_application(*, with_licence: bool) -> dict[str, Any]:
    """SCJG-0002 食品经营许可证核发 for a Zhongshan restaurant, received in Zhongshan, handled in Shenzhen."""
    licence = (
        {"code": "business_licence", "licence": {"issuing_city": "442000", "licence_type": "business_licence"}}
        if with_licence
        else material("business_licence", "营业执照扫描件".encode())
    )
    return {
        "item_code": "SCJG-0002",
        "receiving_city": "442000",
        "applicant": {"name": ZS_RESTAURANT.name, "id_number": ZS_RESTAURANT.id_number},
        "agent": {"name": "林明辉", "id_number": DATA.city("zhongshan").persons[0].id_number},
        "materials": [
            material("application_form", "食品经营许可申请书".encode()),
            licence,
            {"code": "layout", "digest": "sha-256=:" + "A" * 43 + "=:", "reference": "zs-window://layout.pdf"},
            material("safety_rules", "食品安全管理制度".encode()),
        ],
    }


def test_a_zhongshan_window_applies_for_a_shenzhen_item_and_it_is_concluded(
    world_factory: Callable[..., World],  # noqa: F811
) -> None:
    world = world_factory(step_seconds=0.2)
    wait_for_trust_lists(world.gateway.url, {"442000"})
    assert world.sandboxes.material is not None
    now = datetime.now(UTC)
    consent = consent_token(
        load_sandbox_pki(world.sandboxes.material.directory, now),
        "442000",
        holder_id=ZS_RESTAURANT.id_number,
        requester=ZS_WINDOW,
        audience=world.gateway.settings.gateway_id,
        purposes=["application.materials"],
        licence_types=None,
        now=now,
    )
    without = world.call(world.zs_window, "POST", "/v1/applications", food_licence_application(with_licence=True))
    assert without.status_code == 403 and without.json()["code"] == "consent.required"
    answer = world.call(
        world.zs_window,
        "POST",
        "/v1/applications",
        food_licence_application(with_licence=True),
        **{"x-tongban-consent": consent},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["handling_city"] == "440300" and created["handling_department"] == "深圳市市场监督管理局"
    assert created["deadline"] and created["forwarded"] is True
    fetched = next(m for m in created["materials"] if m["code"] == "business_licence")
    assert fetched["source"] == "licence" and fetched["issuing_city"] == "442000"
    assert fetched["digest"].startswith("sha-256=:") and fetched["licence_number"]
    assert created["agent"]["name"] == "林明辉"

    done = world.wait_for(world.zs_window, created["id"], "delivered")
    states = [event["state"] for event in done["timeline"]]
    assert states == ["received", "accepted", "processing", "concluded", "delivered"]
    assert {event["by"] for event in done["timeline"][1:]} == {SZ_HANDLING}
    assert all(isinstance(event["audit_index"], int) for event in done["timeline"])
    assert done["result"]["decision"] == "approved" and done["time_limit"]["on_time"] is True
    reporter = handling_member(world, SZ_HANDLING)  # the client of that exchange may read its entries
    entry = world.call(reporter, "GET", f"/v1/audit/entries/{done['timeline'][2]['audit_index']}").json()
    assert entry["entry"]["kind"] == "application.event" and entry["entry"]["application_id"] == created["id"]
    assert entry["entry"]["state"] == "processing"

    # 好差评: once, through the receiving window; the two lowest levels need a reason.
    rate = f"/v1/applications/{created['id']}/rating"
    assert world.call(world.zs_window, "POST", rate, {"level": "不满意"}).status_code == 422
    assert world.call(world.zs_window, "POST", rate, {"level": "非常满意"}).status_code == 200
    again = world.call(world.zs_window, "POST", rate, {"level": "满意"})
    assert again.status_code == 409

    # Visible to the receiving and handling cities and to supervisors only.
    outsider = world.gateway.add_member("150100.hhgov.window")
    assert world.call(outsider, "GET", f"/v1/applications/{created['id']}").status_code == 404
    assert world.call(outsider, "GET", "/v1/applications").json()["total"] == 0
    supervisor = world.gateway.add_member("150100.hhjc.supervisor")
    world.gateway.grant(supervisor.id, "applications.supervise")
    assert world.call(supervisor, "GET", f"/v1/applications/{created['id']}").status_code == 200
    assert world.call(world.sz_window, "GET", f"/v1/applications/{created['id']}").status_code == 200

    stats = world.call(supervisor, "GET", "/v1/applications/stats").json()
    department = next(row for row in stats["by_department"] if row["key"] == "深圳市市场监督管理局")
    assert department["finished"] == 1 and department["on_time_rate"] == 1.0
    assert department["ratings"]["非常满意"] == 1 and department["satisfaction_rate"] == 1.0


def test_a_shenzhen_window_applies_for_a_zhongshan_item_through_the_soap_adapter(
    world_factory: Callable[..., World],  # noqa: F811
    tmp_path: Path,
) -> None:
    world = world_factory(step_seconds=0.2)
    payload = {
        "item_code": "GAJ-0001",
        "receiving_city": "440300",
        "applicant": {"name": SZ_PERSON.name, "id_number": SZ_PERSON.id_number},
        "materials": [
            material("applicant_id", "身份证正反面".encode()),
            material("health_form", "体检表".encode()),
            material("photo", b"\x89PNG fictional photo"),
        ],
    }
    answer = world.call(world.sz_window, "POST", "/v1/applications", payload)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["handling_city"] == "442000" and created["forwarded"] is True
    done = world.wait_for(world.sz_window, created["id"], "delivered")
    assert done["timeline"][-1]["by"] == ZS_HANDLING and done["result"]["title"].startswith("机动车驾驶证补领")

    # The SOAP face: the same application, read with WS-Security by an RSA window.
    soap_window = world.gateway.add_member("440300.szsoap.window", algorithm="rsa")
    key_file, cert_file = tmp_path / "member.key", tmp_path / "member.crt"
    key_file.write_bytes(soap_window.key_pem)
    cert_file.write_bytes(soap_window.cert_pem)
    x5c = next(key["x5c"][0] for key in world.gateway.jwks()["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + x5c.encode() + b"\n-----END CERTIFICATE-----\n")
    client = gateway_soap_client(
        world.gateway.url, key_file=key_file, certificate_file=cert_file, gateway_certificate_file=gateway_cert
    )
    read = client.service.GetApplication(applicationId=created["id"])
    assert read.status == "delivered" and read.handlingCity == "442000"
    world.gateway.grant(soap_window.id, "applications.submit")
    submitted = client.service.SubmitApplication(
        itemCode="GAJ-0001",
        receivingCity="440300",
        applicant={"name": SZ_PERSON.name, "idNumber": SZ_PERSON.id_number},
        material=[
            {"code": "applicant_id", "contentB64": "6Lqr5Lu96K+B"},
            {"code": "health_form", "contentB64": "5L2T5qOA6KGo"},
            {"code": "photo", "contentB64": "cGhvdG8="},
        ],
    )
    assert submitted.status == "received" and submitted.forwarded is True and submitted.deadline


def _at(world: World, clock: FixedClock, when: datetime) -> None:
    clock.advance((when - clock.now()).total_seconds())


def _report(world: World, application_id: str, state: str, **extra: Any) -> httpx.Response:
    member = handling_member(world, SZ_HANDLING)
    return world.call(member, "POST", f"/v1/applications/{application_id}/events", {"state": state, **extra})


def test_correction_stops_the_clock_and_resumes_it(world_factory: Callable[..., World]) -> None:  # noqa: F811
    clock = FixedClock(datetime(2025, 9, 26, 10, 0, tzinfo=CST))
    world = world_factory(clock=clock)
    created = world.call(world.zs_window, "POST", "/v1/applications", food_licence_application(with_licence=False))
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    assert created.json()["deadline"] == "2025-10-10"  # five working days across the National Day holiday

    _at(world, clock, datetime(2025, 9, 29, 9, 0, tzinfo=CST))
    assert _report(world, application_id, "accepted").status_code == 200
    paused = _report(world, application_id, "correction", note="请补充场所布局图的比例尺").json()
    assert paused["time_limit"]["clock"] == "paused"

    _at(world, clock, datetime(2025, 10, 10, 16, 0, tzinfo=CST))
    waiting = world.call(world.zs_window, "GET", f"/v1/applications/{application_id}").json()
    assert waiting["warnings"] == [] and waiting["deadline"] == "2025-10-14"
    resumed = _report(world, application_id, "accepted", note="已补正").json()
    assert resumed["time_limit"]["clock"] == "running" and resumed["time_limit"]["paused_working_days"] == 3

    _at(world, clock, datetime(2025, 10, 13, 9, 0, tzinfo=CST))
    warned = world.call(world.zs_window, "GET", f"/v1/applications/{application_id}").json()
    assert [w["kind"] for w in warned["warnings"]] == ["early_warning"]
    assert warned["time_limit"]["used_working_days"] == 4

    _at(world, clock, datetime(2025, 10, 15, 9, 0, tzinfo=CST))
    late = world.call(world.zs_window, "GET", f"/v1/applications/{application_id}").json()
    assert [w["kind"] for w in late["warnings"]] == ["overdue"]
    assert _report(world, application_id, "processing").status_code == 200
    finished = _report(world, application_id, "concluded", result={"decision": "approved"}).json()
    assert finished["time_limit"]["on_time"] is False and finished["warnings"] == []
    states = [event["state"] for event in finished["timeline"]]
    assert states == ["received", "accepted", "correction", "accepted", "processing", "concluded"]


def test_overdue_across_national_day_and_illegal_transitions(
    world_factory: Callable[..., World],  # noqa: F811
) -> None:
    clock = FixedClock(datetime(2025, 9, 26, 10, 0, tzinfo=CST))
    world = world_factory(clock=clock)
    application_id = world.call(
        world.zs_window, "POST", "/v1/applications", food_licence_application(with_licence=False)
    ).json()["id"]

    illegal = _report(world, application_id, "concluded")
    assert illegal.status_code == 409 and illegal.json()["code"] == "state.illegal_transition"
    wrong_city = handling_member(world, ZS_HANDLING)
    refused = world.call(wrong_city, "POST", f"/v1/applications/{application_id}/events", {"state": "accepted"})
    assert refused.status_code == 403  # Zhongshan sees it (it received it) but does not handle it
    assert (
        world.call(
            world.zs_window, "POST", f"/v1/applications/{application_id}/events", {"state": "accepted"}
        ).status_code
        == 403
    )

    _at(world, clock, datetime(2025, 9, 28, 9, 0, tzinfo=CST))  # a Sunday, worked
    assert _report(world, application_id, "accepted").status_code == 200
    assert _report(world, application_id, "processing").status_code == 200

    def seen_on(day: datetime) -> dict[str, Any]:
        _at(world, clock, day)
        found: dict[str, Any] = world.call(world.zs_window, "GET", f"/v1/applications/{application_id}").json()
        return found

    assert seen_on(datetime(2025, 10, 8, 12, 0, tzinfo=CST))["warnings"] == []  # eight calendar days, three worked
    assert [w["kind"] for w in seen_on(datetime(2025, 10, 10, 12, 0, tzinfo=CST))["warnings"]] == ["early_warning"]
    late = seen_on(datetime(2025, 10, 11, 12, 0, tzinfo=CST))  # the adjusted working Saturday
    assert [w["kind"] for w in late["warnings"]] == ["overdue"] and late["deadline"] == "2025-10-10"

    overdue = world.call(world.zs_window, "GET", "/v1/applications?overdue=true").json()
    assert [item["id"] for item in overdue["items"]] == [application_id] and overdue["total"] == 1
    assert world.call(world.zs_window, "GET", "/v1/applications?status=accepted").json()["total"] == 0
    counts = asyncio.run(sweep(world.gateway.runtime))
    assert counts[("440300", "overdue")] == 1
    metrics = httpx.get(world.gateway.url + "/metrics", trust_env=False).text
    assert 'tongban_applications_attention{handling_city="440300",kind="overdue"} 1.0' in metrics

    withdrawn = world.call(
        world.zs_window,
        "POST",
        f"/v1/applications/{application_id}/events",
        {"state": "withdrawn", "note": "申请人撤回"},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["warnings"] == []
    assert _report(world, application_id, "concluded").status_code == 409
