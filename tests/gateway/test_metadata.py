"""Metadata endpoints, the registry listings, and the signature every answer carries."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest

from gateway.client import verify_gateway_response

CLIENT = "442000.zsgov.window"


def get(gateway: Any, path: str) -> httpx.Response:
    return httpx.get(gateway.url + path, trust_env=False)


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/.well-known/tongban",
        "/.well-known/jwks.json",
        "/no/such/thing",
        "/v1/members",
    ],
)
def test_every_answer_is_signed_by_the_gateway(gateway: Any, path: str) -> None:
    response = get(gateway, path)
    assert response.headers["x-tongban-exchange-id"]
    verify_gateway_response(response, gateway.jwks())


def test_health_and_readiness(gateway: Any) -> None:
    assert get(gateway, "/healthz").json() == {"status": "ok"}
    ready = get(gateway, "/readyz").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "keys": "ok"}}


def test_readiness_fails_when_the_database_is_gone(gateway: Any) -> None:
    gateway.runtime.database.engine.dispose()
    original = gateway.runtime.database.ping

    def broken() -> None:
        raise RuntimeError("connection refused")

    gateway.runtime.database.ping = broken
    try:
        response = get(gateway, "/readyz")
    finally:
        gateway.runtime.database.ping = original
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_well_known_names_the_gateway(gateway: Any) -> None:
    info = get(gateway, "/.well-known/tongban").json()
    assert info["gateway_id"] == "440300.tongban.gateway"
    assert info["city"] == "440300"
    assert "EdDSA" in info["algorithms"]["client_assertion"]
    assert info["audit_origin"]
    assert info["endpoints"]["jwks"] == "/.well-known/jwks.json"


def test_key_rotation_keeps_the_previous_key_published(gateway: Any) -> None:
    before = gateway.jwks()["keys"]
    old_answer = get(gateway, "/healthz")
    gateway.runtime.keyring.rotate(algorithm="ed25519", now=gateway.runtime.clock.now())
    after = gateway.jwks()["keys"]
    assert len(after) == len(before) + 1
    assert after[0]["kid"] != before[0]["kid"]
    assert before[0]["kid"] in {key["kid"] for key in after}
    new_answer = get(gateway, "/healthz")
    assert verify_gateway_response(new_answer, gateway.jwks()) == after[0]["kid"]
    assert verify_gateway_response(old_answer, gateway.jwks()) == before[0]["kid"]


def test_metrics_count_requests_and_stages(gateway: Any) -> None:
    member = gateway.add_member(CLIENT)
    gateway.call(member, "GET", "/v1/members")
    text = get(gateway, "/metrics").text
    assert 'tongban_requests_total{method="GET",route="/v1/members",status="200"}' in text
    assert 'tongban_stage_seconds_count{service="members.list",stage="authenticate"}' in text
    assert "tongban_exchange_seconds_bucket" in text


def metric_series(gateway: Any) -> set[str]:
    """Every series /metrics exposes: metric name and labels, without the value."""
    text = get(gateway, "/metrics").text
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_metrics_do_not_grow_with_made_up_paths(gateway: Any) -> None:
    """Label values come from closed sets: 100 distinct made-up paths, services, cities, SOAP
    operations and methods, sent with and without credentials, add no series."""
    member = gateway.add_member(CLIENT)
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tb="urn:tongban:gateway:v1">'
        "<soap:Body><tb:Made{i}Up/></soap:Body></soap:Envelope>"
    )

    def made_up(i: int) -> None:
        kind = i % 5
        if kind == 0:
            get(gateway, f"/made/up/{i}/path-{i}?q={i}")
        elif kind == 1:
            gateway.call(member, "GET", f"/v1/exchange/440300.madeup{i}.x/service{i}/path/{i}")
        elif kind == 2:
            get(gateway, f"/v1/exchange/442000.other{i}.y/svc{i}")
            gateway.call(member, "POST", f"/v1/exchange/441900.nope{i}.z/code{i}", body=b"{}")
        elif kind == 3:
            gateway.call(member, "GET", f"/v1/registries/{990000 + i}/licences/L-{i}")
        else:
            httpx.post(
                gateway.url + "/soap",
                content=envelope.format(i=i).encode(),
                headers={"Content-Type": "text/xml"},
                trust_env=False,
            )
            with contextlib.suppress(httpx.HTTPError):  # only a parser that takes any method lets it in
                httpx.request(f"MADEUP{i}", gateway.url + f"/made/up/{i}", trust_env=False)

    for i in range(5):  # every kind once, so that the series they may rightly add exist
        made_up(i)
    get(gateway, "/metrics")
    before = metric_series(gateway)
    for i in range(5, 105):
        made_up(i)
    after = metric_series(gateway)
    assert after - before == set()
    assert 'route="unmatched"' in "".join(before)
    assert not any("madeup" in series or "990007" in series or "MADEUP" in series for series in after)


def test_openapi_loads_nothing_from_outside(gateway: Any) -> None:
    assert get(gateway, "/docs").status_code == 404
    spec = get(gateway, "/openapi.json").json()
    assert "/v1/exchange/{provider_member_id}/{service_code}/{path}" in spec["paths"]
    assert "cdn" not in get(gateway, "/openapi.json").text.lower()


def test_unknown_route_and_method_are_problems(gateway: Any) -> None:
    missing = get(gateway, "/v2/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == "request.not_found"
    wrong = httpx.delete(gateway.url + "/healthz", trust_env=False)
    assert wrong.status_code == 405 and wrong.json()["code"] == "request.method_not_allowed"


def test_members_and_services_listing(gateway: Any, serve: Any) -> None:
    client = gateway.add_member(CLIENT)
    gateway.add_member("440300.szamr.licence", "ecdsa-p256")
    first = gateway.add_service("440300.szamr.licence", "licences", "http://127.0.0.1:9/api", title="电子证照")
    gateway.add_service("440300.szamr.licence", "seals", "http://127.0.0.1:9/seals")
    gateway.grant(CLIENT, first)
    gateway.grant(CLIENT, "audit.read")

    members = gateway.call(client, "GET", "/v1/members").json()
    assert members["total"] == 2 and members["page"] == 1
    assert {item["id"] for item in members["items"]} == {CLIENT, "440300.szamr.licence"}
    assert "certificate_pem" not in members["items"][0]

    services = gateway.call(client, "GET", "/v1/services").json()
    ids = {item["id"] for item in services["items"]}
    assert {first, "440300.szamr.licence/seals", "audit.read"} <= ids
    assert all("url" not in item for item in services["items"])  # partners' internal addresses stay private

    allowed = gateway.call(client, "GET", "/v1/services?allowed=true").json()
    assert {item["id"] for item in allowed["items"]} == {first, "audit.read"}

    paged = gateway.call(client, "GET", "/v1/services?page=2&page_size=1").json()
    assert paged["page"] == 2 and paged["page_size"] == 1 and len(paged["items"]) == 1
    bad = gateway.call(client, "GET", "/v1/services?page_size=0")
    assert bad.status_code == 422


def test_metadata_reads_are_not_audited(gateway: Any) -> None:
    member = gateway.add_member(CLIENT)
    response = gateway.call(member, "GET", "/v1/members")
    assert gateway.runtime.audit_log.entries_for(response.headers["x-tongban-exchange-id"]) == []
