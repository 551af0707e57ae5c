"""Every authentication failure the contract names is a 4xx problem+json with its code."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from trust import RequestView, content_digest, sign_message

MEMBER = "442000.zsgov.window"
PROVIDER = "440300.szamr.licence"


@pytest.fixture
def setup(gateway: Any, serve: Any) -> Any:
    from upstream import Upstream

    upstream = Upstream()
    upstream_server = serve(upstream.app)
    caller = gateway.add_member(MEMBER)
    gateway.add_member(PROVIDER, "ecdsa-p256")
    service = gateway.add_service(PROVIDER, "licences", upstream_server.url)
    gateway.grant(MEMBER, service)
    return gateway, caller, service, upstream


def claims(gateway: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": MEMBER,
        "sub": MEMBER,
        "aud": gateway.settings.gateway_id,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def assertion(caller: Any, body: dict[str, Any], algorithm: str = "EdDSA", key: Any = None) -> str:
    return jwt.encode(body, key or caller.credentials.private_key, algorithm=algorithm)


def get(gateway: Any, token: str | None, path: str = "/v1/services") -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(gateway.url + path, headers=headers, trust_env=False)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["exchange_id"] == response.headers["x-tongban-exchange-id"]
    assert problem["type"].endswith(code)
    return problem


def test_valid_assertion_is_accepted(setup: Any) -> None:
    gateway, caller, _service, _upstream = setup
    assert get(gateway, assertion(caller, claims(gateway))).status_code == 200


def test_missing_token(setup: Any) -> None:
    gateway, *_ = setup
    assert_problem(get(gateway, None), 401, "auth.missing_token")


def test_garbage_token(setup: Any) -> None:
    gateway, *_ = setup
    assert_problem(get(gateway, "not.a.jwt"), 401, "auth.malformed_token")


def test_alg_none_is_refused(setup: Any) -> None:
    gateway, *_ = setup
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims(gateway)).encode()).rstrip(b"=").decode()
    assert_problem(get(gateway, f"{header}.{payload}."), 401, "auth.algorithm_not_allowed")


def test_hmac_signed_with_the_public_key_is_refused(setup: Any) -> None:
    """The classic key-confusion attack: HS256 keyed with the member's public certificate."""
    gateway, caller, *_ = setup
    public_pem = caller.credentials.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims(gateway)).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()).rstrip(
        b"="
    )
    token = b".".join((header, payload, signature)).decode()
    assert_problem(get(gateway, token), 401, "auth.algorithm_not_allowed")
    pem_token = b".".join((header, payload, signature)).decode()
    assert_problem(get(gateway, pem_token), 401, "auth.algorithm_not_allowed")


def test_algorithm_not_matching_the_registered_key(setup: Any) -> None:
    gateway, caller, *_ = setup
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    assert_problem(get(gateway, assertion(caller, claims(gateway), "ES256", other)), 401, "auth.algorithm_not_allowed")


def test_signature_by_another_key(setup: Any) -> None:
    gateway, caller, *_ = setup
    from cryptography.hazmat.primitives.asymmetric import ed25519

    forged = assertion(caller, claims(gateway), key=ed25519.Ed25519PrivateKey.generate())
    problem = assert_problem(get(gateway, forged), 401, "auth.bad_token_signature")
    assert problem["detail"] == "the client assertion is not signed with the key of the member's registered certificate"


def test_expired(setup: Any) -> None:
    gateway, caller, *_ = setup
    past = int(time.time()) - 400
    assert_problem(get(gateway, assertion(caller, claims(gateway, iat=past, exp=past + 60))), 401, "auth.token_expired")


def test_expired_within_the_clock_skew_allowance_is_still_accepted(setup: Any) -> None:
    """`exp` is honoured with clock_skew_seconds (30 s) of leeway, as the README says."""
    gateway, caller, *_ = setup
    now = int(time.time())
    assert get(gateway, assertion(caller, claims(gateway, iat=now - 70, exp=now - 10))).status_code == 200
    late = assertion(caller, claims(gateway, iat=now - 100, exp=now - 40))
    assert_problem(get(gateway, late), 401, "auth.token_expired")


def test_issued_in_the_future(setup: Any) -> None:
    gateway, caller, *_ = setup
    future = int(time.time()) + 600
    token = assertion(caller, claims(gateway, iat=future, exp=future + 60))
    assert_problem(get(gateway, token), 401, "auth.token_not_yet_valid")


def test_exp_more_than_300_seconds_after_iat(setup: Any) -> None:
    gateway, caller, *_ = setup
    now = int(time.time())
    problem = assert_problem(
        get(gateway, assertion(caller, claims(gateway, iat=now, exp=now + 301))),
        401,
        "auth.token_lifetime_too_long",
    )
    assert "301" in problem["detail"]


def test_wrong_audience(setup: Any) -> None:
    gateway, caller, *_ = setup
    token = assertion(caller, claims(gateway, aud="442000.tongban.gateway"))
    assert_problem(get(gateway, token), 401, "auth.wrong_audience")


def test_unknown_issuer(setup: Any) -> None:
    gateway, caller, *_ = setup
    token = assertion(caller, claims(gateway, iss="441900.dgamr.licence", sub="441900.dgamr.licence"))
    assert_problem(get(gateway, token), 401, "auth.unknown_issuer")


@pytest.mark.parametrize("claim", ["jti", "exp", "iat", "aud", "sub"])
def test_missing_claim(setup: Any, claim: str) -> None:
    gateway, caller, *_ = setup
    token = assertion(caller, claims(gateway, **{claim: None}))
    assert_problem(get(gateway, token), 401, "auth.invalid_claims")


def test_sub_must_equal_iss(setup: Any) -> None:
    gateway, caller, *_ = setup
    assert_problem(get(gateway, assertion(caller, claims(gateway, sub=PROVIDER))), 401, "auth.invalid_claims")


def test_replayed_jti(setup: Any) -> None:
    gateway, caller, *_ = setup
    token = assertion(caller, claims(gateway))
    assert get(gateway, token).status_code == 200
    assert_problem(get(gateway, token), 401, "auth.replayed_token")


def test_replay_is_caught_after_a_restart_and_by_another_gateway_process(setup: Any, start_gateway: Any) -> None:
    """The jti store is the shared database: a second gateway on it (a restart, or another
    worker behind the load balancer) refuses a token the first one accepted."""
    gateway, caller, *_ = setup
    other = start_gateway()
    token = assertion(caller, claims(gateway))
    assert get(gateway, token).status_code == 200
    assert_problem(get(other, token), 401, "auth.replayed_token")


def signed_post(
    gateway: Any,
    caller: Any,
    path: str,
    body: bytes,
    *,
    digest_body: bytes | None = None,
    sign: bool = True,
    components: tuple[str, ...] = ("@method", "@target-uri", "content-digest"),
    created: int | None = None,
    keyid: str | None = None,
) -> httpx.Response:
    url = gateway.url + path
    headers = httpx.Headers(
        {
            "authorization": f"Bearer {caller.credentials.client_assertion(gateway.settings.gateway_id)}",
            "content-type": "application/json",
            "content-digest": content_digest(body if digest_body is None else digest_body),
        }
    )
    if sign:
        from datetime import UTC, datetime

        view = RequestView("POST", url, headers)
        when = datetime.fromtimestamp(created, UTC) if created else datetime.now(UTC)
        sign_message(
            view,
            private_key=caller.credentials.private_key,
            keyid=keyid or caller.id,
            components=components,
            created=when,
            label="sig1",
        )
    return httpx.post(url, headers=headers, content=body, trust_env=False)


def test_signed_write_is_accepted(setup: Any) -> None:
    gateway, caller, service, upstream = setup
    response = signed_post(gateway, caller, f"/v1/exchange/{service}/echo", b'{"a":1}')
    assert response.status_code == 200, response.text
    assert upstream.calls["echo"] == 1


def test_write_without_message_signature(setup: Any) -> None:
    gateway, caller, service, upstream = setup
    response = signed_post(gateway, caller, f"/v1/exchange/{service}/echo", b'{"a":1}', sign=False)
    assert_problem(response, 401, "auth.missing_signature")
    assert upstream.calls["echo"] == 0


def test_body_not_matching_content_digest(setup: Any) -> None:
    gateway, caller, service, upstream = setup
    response = signed_post(gateway, caller, f"/v1/exchange/{service}/echo", b'{"a":2}', digest_body=b'{"a":1}')
    assert_problem(response, 401, "auth.content_digest_mismatch")
    assert upstream.calls["echo"] == 0


def test_signature_not_covering_content_digest(setup: Any) -> None:
    gateway, caller, service, _ = setup
    response = signed_post(
        gateway, caller, f"/v1/exchange/{service}/echo", b"{}", components=("@method", "@target-uri")
    )
    assert_problem(response, 401, "auth.bad_signature")


def test_signature_by_someone_else(setup: Any) -> None:
    """keyid must be the caller's own member id: another member's signature does not count."""
    gateway, caller, service, _ = setup
    response = signed_post(gateway, caller, f"/v1/exchange/{service}/echo", b"{}", keyid=PROVIDER)
    assert_problem(response, 401, "auth.missing_signature")


def test_signature_over_another_target(setup: Any) -> None:
    gateway, caller, service, _ = setup
    url = gateway.url + f"/v1/exchange/{service}/echo"
    body = b"{}"
    signed = caller.credentials.signed_headers("POST", url + "?amount=1", body, audience=gateway.settings.gateway_id)
    response = httpx.post(url + "?amount=1000", headers=signed, content=body, trust_env=False)
    assert_problem(response, 401, "auth.bad_signature")


@pytest.mark.parametrize("offset", [-301 - 30, 301 + 30])
def test_signature_created_outside_300_seconds(setup: Any, offset: int) -> None:
    gateway, caller, service, _ = setup
    response = signed_post(gateway, caller, f"/v1/exchange/{service}/echo", b"{}", created=int(time.time()) + offset)
    assert_problem(response, 401, "auth.stale_signature")


def test_no_access_right(setup: Any) -> None:
    gateway, caller, service, upstream = setup
    other = gateway.add_member("440300.szgov.window")
    response = gateway.call(other, "GET", f"/v1/exchange/{service}/echo")
    assert_problem(response, 403, "access.denied")
    assert upstream.calls["echo"] == 0


def test_es256_member_authenticates(setup: Any) -> None:
    gateway, *_ = setup
    member = gateway.add_member("440300.szcredit.platform", "ecdsa-p256")
    assert gateway.call(member, "GET", "/v1/members").status_code == 200


def test_problem_for_failed_signature_check_does_not_spend_the_token(setup: Any) -> None:
    """A caller whose message signature was wrong may fix it and retry with the same assertion."""
    gateway, caller, service, _ = setup
    url = gateway.url + f"/v1/exchange/{service}/echo"
    token = caller.credentials.client_assertion(gateway.settings.gateway_id)
    bad = httpx.post(
        url,
        headers={"authorization": f"Bearer {token}", "content-digest": content_digest(b"{}")},
        content=b"{}",
        trust_env=False,
    )
    assert bad.status_code == 401
    headers = httpx.Headers({"authorization": f"Bearer {token}", "content-digest": content_digest(b"{}")})
    from datetime import UTC, datetime

    view = RequestView("POST", url, headers)
    sign_message(
        view,
        private_key=caller.credentials.private_key,
        keyid=caller.id,
        components=("@method", "@target-uri", "content-digest"),
        created=datetime.now(UTC),
    )
    assert httpx.post(url, headers=headers, content=b"{}", trust_env=False).status_code == 200
