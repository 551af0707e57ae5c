"""The generic relay against a real partner server on loopback."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from upstream import Upstream

from gateway.client import public_key_from_jwk, verify_gateway_response
from gateway.errors import AuditUnavailable
from trust import RequestView, verify_message

CLIENT = "442000.zsgov.window"
PROVIDER = "440300.szamr.licence"


@pytest.fixture
def relay(start_gateway: Any, serve: Any) -> Any:
    def build(**settings: Any) -> tuple[Any, Any, Any, str]:
        upstream = Upstream()
        upstream_server = serve(upstream.app)
        gateway = start_gateway(**settings)
        caller = gateway.add_member(CLIENT)
        provider = gateway.add_member(PROVIDER, "ecdsa-p256")
        upstream.signing_key, upstream.signing_keyid = provider.credentials.private_key, PROVIDER
        service = gateway.add_service(PROVIDER, "licences", upstream_server.url + "/api", title="电子证照库")
        gateway.grant(CLIENT, service)
        return gateway, caller, upstream, service

    return build


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["exchange_id"] == response.headers["x-tongban-exchange-id"]
    return body


def test_success_forwards_path_query_and_body_unchanged_and_signs_both_ways(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    body = json.dumps({"holder": "91440300MA5FXXXX0X", "类型": "营业执照"}, ensure_ascii=False).encode()
    response = gateway.call(
        caller,
        "POST",
        f"/v1/exchange/{service}/echo/sub?page=2&q=%E6%B7%B1",
        body=body,
        headers={"Content-Type": "application/json", "X-Tongban-Purpose": "window.verify"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["path"] == "echo/sub" and answer["query"] == "page=2&q=%E6%B7%B1"
    assert answer["body"].encode() == body and answer["你好"] == "深中通办"
    assert "x-secret-upstream" not in response.headers  # only an allow-list of headers comes back
    verify_gateway_response(response, gateway.jwks())

    received = upstream.received[-1]
    assert received["body"] == body
    headers = received["headers"]
    assert "authorization" not in headers  # the caller's credentials stay at the gateway
    assert headers["x-tongban-client"] == CLIENT
    assert headers["x-tongban-purpose"] == "window.verify"
    assert headers["x-tongban-exchange-id"] == response.headers["x-tongban-exchange-id"]
    # The partner can check that the call came through the gateway, with the gateway's JWKS.
    jwk = gateway.jwks()["keys"][0]
    view = RequestView("POST", f"{upstream_url(gateway, service)}/echo/sub?page=2&q=%E6%B7%B1", httpx.Headers(headers))
    verify_message(
        view,
        keyid=jwk["kid"],
        public_key=public_key_from_jwk(jwk),
        required_components=("@method", "@target-uri", "content-digest", "x-tongban-client"),
        now=datetime.now(UTC),
        max_age=timedelta(seconds=60),
        body=body,
    )


def upstream_url(gateway: Any, service_id: str) -> str:
    with gateway.runtime.database.read() as connection:
        from gateway.registry import get_service

        return get_service(connection, service_id).url


def test_success_is_audited_request_then_response(relay: Any) -> None:
    gateway, caller, _upstream, service = relay()
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/echo")
    exchange_id = response.headers["x-tongban-exchange-id"]
    entries = gateway.runtime.audit_log.entries_for(exchange_id)
    kinds = [entry["kind"] for _index, entry in entries]
    assert kinds == ["exchange.request", "exchange.response"]
    request_entry, response_entry = entries[0][1], entries[1][1]
    assert request_entry["client"] == CLIENT and request_entry["service"] == service
    assert request_entry["forwarded"]["signature"]
    assert response_entry["status"] == 200
    assert response_entry["response_digest"] == response.headers["content-digest"]
    assert response_entry["gateway_signature"]["signature"] == response.headers["signature"]
    assert response_entry["upstream"]["status"] == 200


def test_upstream_timeout_is_504_and_retryable(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_read_timeout=0.5, upstream_retries=0)
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/slow")
    body = problem(response, 504, "upstream.timeout")
    assert body["retryable"] is True
    assert "retry-after" in response.headers


def test_timeout_of_a_non_idempotent_call_is_not_retried(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_read_timeout=0.5, upstream_retries=2)
    problem(gateway.call(caller, "POST", f"/v1/exchange/{service}/slow", body=b"{}"), 504, "upstream.timeout")
    assert upstream.calls["slow"] == 1


def test_upstream_500_is_502_not_relayed_as_is(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_retries=0)
    body = problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/fail"), 502, "upstream.failed")
    assert body["retryable"] is True
    assert "boom" not in json.dumps(body)


def test_a_failure_entry_keeps_the_internal_detail_as_a_digest_only(relay: Any, caplog: Any) -> None:
    """The client and the provider may read the entry; the partner's address and the library's
    message stay in the log line, which the entry's digest ties to it."""
    from conftest import free_port

    gateway, caller, _upstream, _service = relay(upstream_retries=0)
    dead = gateway.add_service(PROVIDER, "dead", f"http://127.0.0.1:{free_port()}")
    gateway.grant(CLIENT, dead)
    with caplog.at_level("INFO", logger="tongban"):
        response = gateway.call(caller, "GET", f"/v1/exchange/{dead}/x")
    problem(response, 502, "upstream.unreachable")
    exchange_id = response.headers["x-tongban-exchange-id"]
    entries = [entry for _index, entry in gateway.runtime.audit_log.entries_for(exchange_id)]
    assert [entry["kind"] for entry in entries] == ["exchange.request", "exchange.failed"]
    entry = entries[1]
    assert "internal" not in entry
    [logged] = [record for record in caplog.records if record.getMessage() == "exchange failed"]
    assert "Connect" in logged.internal  # the library's message...
    assert "Connect" not in json.dumps(entry)  # ...is not in the entry
    assert entry["internal_sha256"] == hashlib.sha256(logged.internal.encode("utf-8")).hexdigest()


def test_upstream_503_keeps_its_retry_after(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_retries=0)
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/unavailable")
    problem(response, 503, "upstream.unavailable")
    assert response.headers["retry-after"] == "7"


def test_idempotent_calls_are_retried_until_the_partner_answers(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_retries=2)
    upstream.fail_times = 2
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/flaky")
    assert response.status_code == 200
    assert upstream.calls["flaky"] == 3


def test_post_without_idempotency_key_is_not_retried(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_retries=2)
    upstream.fail_times = 1
    problem(gateway.call(caller, "POST", f"/v1/exchange/{service}/flaky", body=b"{}"), 503, "upstream.unavailable")
    assert upstream.calls["flaky"] == 1


def test_unreachable_partner_is_502(relay: Any) -> None:
    from conftest import free_port

    gateway, caller, _upstream, _service = relay(upstream_retries=1)
    dead = gateway.add_service(PROVIDER, "dead", f"http://127.0.0.1:{free_port()}")
    gateway.grant(CLIENT, dead)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{dead}/x"), 502, "upstream.unreachable")


def test_circuit_opens_after_repeated_failures_and_closes_after_a_successful_trial(relay: Any) -> None:
    from gateway.clock import FixedClock

    clock = FixedClock(datetime.now(UTC))
    gateway, caller, upstream, service = relay(
        upstream_retries=0, circuit_failure_threshold=3, circuit_reset_seconds=30, clock=clock
    )
    for _ in range(3):
        problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/fail"), 502, "upstream.failed")
    assert upstream.calls["fail"] == 3
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/echo")
    body = problem(response, 503, "upstream.circuit_open")
    assert body["retryable"] is True and int(response.headers["retry-after"]) > 0
    assert upstream.calls["echo"] == 0  # nothing reached the partner while open
    clock.advance(31)  # half-open: one trial call goes through and closes the circuit
    assert gateway.call(caller, "GET", f"/v1/exchange/{service}/echo").status_code == 200
    assert gateway.call(caller, "GET", f"/v1/exchange/{service}/echo").status_code == 200
    assert upstream.calls["echo"] == 2


def test_failed_trial_reopens_the_circuit(relay: Any) -> None:
    from gateway.clock import FixedClock

    clock = FixedClock(datetime.now(UTC))
    gateway, caller, upstream, service = relay(upstream_retries=0, circuit_failure_threshold=2, clock=clock)
    for _ in range(2):
        gateway.call(caller, "GET", f"/v1/exchange/{service}/fail")
    clock.advance(31)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/fail"), 502, "upstream.failed")
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/echo"), 503, "upstream.circuit_open")


def test_idempotency_key_replays_the_stored_answer(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    headers = {"Idempotency-Key": "submit-0001", "Content-Type": "application/json"}
    first = gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b'{"n":1}', headers=headers)
    second = gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b'{"n":1}', headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert upstream.calls["echo"] == 1
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["x-tongban-original-exchange-id"] == first.headers["x-tongban-exchange-id"]
    assert second.headers["x-tongban-exchange-id"] != first.headers["x-tongban-exchange-id"]
    verify_gateway_response(second, gateway.jwks())
    replay_entries = gateway.runtime.audit_log.entries_for(second.headers["x-tongban-exchange-id"])
    assert [entry["decision"] for _i, entry in replay_entries if entry["kind"] == "exchange.request"] == ["replay"]


def test_idempotency_key_reused_for_another_body_is_refused(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    headers = {"Idempotency-Key": "submit-0002"}
    gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b'{"n":1}', headers=headers)
    problem(
        gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b'{"n":2}', headers=headers),
        422,
        "idempotency.key_reused",
    )
    assert upstream.calls["echo"] == 1


def test_idempotency_key_is_released_after_a_failure(relay: Any) -> None:
    gateway, caller, upstream, service = relay(upstream_retries=0)
    upstream.fail_times = 1
    headers = {"Idempotency-Key": "submit-0003"}
    problem(
        gateway.call(caller, "POST", f"/v1/exchange/{service}/flaky", body=b"{}", headers=headers),
        503,
        "upstream.unavailable",
    )
    assert gateway.call(caller, "POST", f"/v1/exchange/{service}/flaky", body=b"{}", headers=headers).status_code == 200


def test_idempotency_keys_belong_to_one_caller(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    other = gateway.add_member("440300.szgov.window")
    gateway.grant(other.id, service)
    headers = {"Idempotency-Key": "same-key"}
    gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b"{}", headers=headers)
    gateway.call(other, "POST", f"/v1/exchange/{service}/echo", body=b"{}", headers=headers)
    assert upstream.calls["echo"] == 2


class FailingAuditLog:
    async def append(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditUnavailable(internal="disk full")

    def entries_for(self, exchange_id: str) -> list[Any]:
        return []


def test_no_audit_entry_means_no_forward(relay: Any) -> None:
    gateway, caller, upstream, service = relay(audit_log=FailingAuditLog())
    response = gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b"{}")
    body = problem(response, 503, "audit.unavailable")
    assert body["retryable"] is True
    assert response.headers["retry-after"] == str(gateway.settings.audit_retry_after_seconds)
    assert upstream.calls["echo"] == 0
    assert "disk full" not in response.text  # the story goes to the log, not to the caller


def test_audit_storage_failing_mid_flight_means_no_forward(relay: Any) -> None:
    """The real log on a database that lost a table: the append fails, the caller gets 503."""
    from sqlalchemy import text

    gateway, caller, upstream, service = relay()
    with gateway.runtime.database.write() as connection:
        connection.execute(text("DROP TABLE audit_nodes"))
    response = gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b"{}")
    problem(response, 503, "audit.unavailable")
    assert upstream.calls["echo"] == 0


def test_a_failing_gateway_database_is_503_and_retryable(relay: Any) -> None:
    from sqlalchemy import text

    gateway, caller, upstream, service = relay()
    with gateway.runtime.database.write() as connection:
        connection.execute(text("DROP TABLE idempotency_records"))
    # The registry and circuits are read from memory; the idempotency record is the next thing
    # this request needs from the database.
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/echo", headers={"Idempotency-Key": "k-1"})
    body = problem(response, 503, "gateway.unavailable")
    assert body["retryable"] is True and response.headers["retry-after"] == "5"
    assert upstream.calls["echo"] == 0


def test_unknown_service_is_404_after_authentication(relay: Any) -> None:
    gateway, caller, _upstream, _service = relay()
    problem(gateway.call(caller, "GET", f"/v1/exchange/{PROVIDER}/nosuch/x"), 404, "service.unknown")
    anonymous = httpx.get(gateway.url + f"/v1/exchange/{PROVIDER}/nosuch/x", trust_env=False)
    problem(anonymous, 401, "auth.missing_token")


def test_body_over_the_limit_is_413(relay: Any) -> None:
    gateway, caller, upstream, service = relay(max_body_bytes=4096)
    problem(
        gateway.call(caller, "POST", f"/v1/exchange/{service}/echo", body=b"x" * 5000),
        413,
        "request.too_large",
    )
    assert upstream.calls["echo"] == 0


def test_per_service_body_limit(relay: Any) -> None:
    gateway, caller, upstream, _service = relay(max_body_bytes=4096)
    big = gateway.add_service(PROVIDER, "bulk", f"{upstream_url(gateway, _service)}", max_body_bytes=64 * 1024)
    gateway.grant(CLIENT, big)
    assert gateway.call(caller, "POST", f"/v1/exchange/{big}/echo", body=b"x" * 20000).status_code == 200


def test_purpose_required_by_the_service(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    strict = gateway.add_service(PROVIDER, "credit", upstream_url(gateway, service), purpose_required=True)
    gateway.grant(CLIENT, strict)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{strict}/echo"), 422, "request.purpose_required")
    ok = gateway.call(caller, "GET", f"/v1/exchange/{strict}/echo", headers={"X-Tongban-Purpose": "loan.review"})
    assert ok.status_code == 200


def test_partner_signature_is_verified_when_present(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    good = gateway.call(caller, "GET", f"/v1/exchange/{service}/signed")
    assert good.status_code == 200, good.text
    entry = gateway.runtime.audit_log.entries_for(good.headers["x-tongban-exchange-id"])[-1][1]
    assert entry["upstream"]["signature"]["signature"]
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/badsig"), 502, "upstream.bad_signature")


def test_partner_signature_required_by_the_service(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    strict = gateway.add_service(PROVIDER, "strict", upstream_url(gateway, service), response_signature="required")
    gateway.grant(CLIENT, strict)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{strict}/echo"), 502, "upstream.bad_signature")
    assert gateway.call(caller, "GET", f"/v1/exchange/{strict}/signed").status_code == 200


def test_partner_4xx_is_the_partners_answer(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/notfound")
    assert response.status_code == 404
    assert response.json() == {"error": "no such licence"}
    verify_gateway_response(response, gateway.jwks())


def test_dot_dot_in_the_relayed_path_is_refused(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/a/%2E%2E/admin"), 422, "request.invalid")


@pytest.mark.parametrize(
    "path",
    [
        "..%2Fescape",
        "%2e%2e%2fescape",
        "%2E%2E%2Fescape",
        "a%2F..%2F..%2Fescape",
        "a/%2e/b",
        "a/%2e",
        "%2e%2e",
        "..%5Cescape",  # a backslash, which some servers take for a slash
        "a%5cb",
        "%252e%252e%252fescape",  # encoded twice
        "%25252e%25252e%25252fescape",  # three times
        "a/%252F/b",
        "a/%25252e%25252e",
        "%c0%afescape",  # an overlong '/', which strict UTF-8 refuses and lax decoders take for '/'
        "%" + "25" * 6 + "41",  # still changing after every round we decode
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_encoded_dot_segments_and_slashes_never_reach_the_provider(relay: Any, path: str, method: str) -> None:
    gateway, caller, upstream, service = relay()
    url_path = f"/v1/exchange/{service}/{path}?x=1"
    assert httpx.URL(gateway.url + url_path).raw_path.decode().endswith(path + "?x=1")  # sent as written
    response = gateway.call(caller, method, url_path, body=b"{}" if method == "POST" else b"")
    problem(response, 422, "request.invalid")
    assert upstream.received == []


@pytest.mark.parametrize("path", ["a.b/..c/...", "%2e%2e.txt/x", "100%25/%41", "%E8%90%A5%E4%B8%9A"])
def test_segments_that_only_look_like_dots_are_forwarded(relay: Any, path: str) -> None:
    gateway, caller, upstream, service = relay()
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/{path}")
    assert response.status_code == 200, response.text
    assert len(upstream.received) == 1


def test_the_circuit_is_shared_by_every_gateway_process(relay: Any, start_gateway: Any) -> None:
    """Failures seen by one gateway process open the circuit for the others on the same database."""
    gateway, caller, upstream, service = relay(upstream_retries=0, circuit_failure_threshold=2)
    other = start_gateway(upstream_retries=0, circuit_failure_threshold=2)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/fail"), 502, "upstream.failed")
    problem(other.call(caller, "GET", f"/v1/exchange/{service}/fail"), 502, "upstream.failed")
    # Each process reads the others' circuit states every registry_refresh_seconds (the bound is 1 s).
    time.sleep(gateway.settings.registry_refresh_seconds * 2 + 0.1)
    problem(gateway.call(caller, "GET", f"/v1/exchange/{service}/echo"), 503, "upstream.circuit_open")
    problem(other.call(caller, "GET", f"/v1/exchange/{service}/echo"), 503, "upstream.circuit_open")
    assert upstream.calls["echo"] == 0


def test_percent_encoded_paths_are_forwarded_as_written(relay: Any) -> None:
    gateway, caller, upstream, service = relay()
    response = gateway.call(caller, "GET", f"/v1/exchange/{service}/echo/%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7?q=a%2Fb")
    assert response.status_code == 200, response.text
    assert response.json()["path"] == "echo/营业执照"
    assert upstream.received[-1]["query"] == "q=a%2Fb"
