"""Malformed input is always a 4xx problem, never a 5xx: fuzzing the authentication surface."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CLIENT = "442000.zsgov.window"

header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=120).map(
    str.strip
)  # HTTP itself forbids surrounding white space in field values
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def target(start_gateway: Any) -> Any:
    gateway = start_gateway()
    member = gateway.add_member(CLIENT)
    return gateway, member


def assert_client_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(authorization=header_text, signature_input=header_text, signature=header_text, digest=header_text)
def test_random_headers_are_refused_cleanly(
    target: Any, authorization: str, signature_input: str, signature: str, digest: str
) -> None:
    gateway, _member = target
    headers = {
        "Authorization": authorization,
        "Signature-Input": signature_input,
        "Signature": signature,
        "Content-Digest": digest,
    }
    response = httpx.post(gateway.url + "/v1/exchange/440300.x.y/svc", headers=headers, content=b"{}", trust_env=False)
    assert_client_error(response)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.dictionaries(st.sampled_from(["alg", "typ", "kid", "crit"]), json_values, max_size=3),
    claims=st.dictionaries(st.sampled_from(["iss", "sub", "aud", "iat", "exp", "jti", "nbf"]), json_values, max_size=7),
)
def test_random_token_contents_are_refused_cleanly(target: Any, header: dict[str, Any], claims: dict[str, Any]) -> None:
    gateway, member = target
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(b'x' * 64)}"
    response = httpx.get(gateway.url + "/v1/members", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert_client_error(response)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature_input=header_text, signature=header_text)
def test_random_signatures_from_an_authenticated_member_are_refused_cleanly(
    target: Any, signature_input: str, signature: str
) -> None:
    gateway, member = target
    url = gateway.url + "/v1/members"
    headers = httpx.Headers(
        {
            "Authorization": f"Bearer {member.credentials.client_assertion(gateway.settings.gateway_id)}",
            "Signature-Input": signature_input,
            "Signature": signature,
        }
    )
    response = httpx.post(url, headers=headers, content=b"", trust_env=False)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("part", ["header", "claims"])
@pytest.mark.parametrize("depth", [65, 5_000])
def test_a_token_nested_beyond_the_json_limit_is_a_malformed_token(target: Any, part: str, depth: int) -> None:
    gateway, member = target
    header = {"alg": "EdDSA", "typ": "JWT"}
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": gateway.settings.gateway_id, "iat": 1, "exp": 2, "jti": "x" * 8}
    deep = "[" * depth + "]" * depth
    texts = [json.dumps(header), json.dumps(claims)]
    index = 0 if part == "header" else 1
    texts[index] = texts[index][:-1] + f', "deep": {deep}}}'
    token = f"{b64(texts[0].encode())}.{b64(texts[1].encode())}.{b64(b'x' * 64)}"
    response = httpx.get(gateway.url + "/v1/members", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "auth.malformed_token"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_non_numeric_content_length_is_400(target: Any) -> None:
    import socket

    gateway, _ = target
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/members HTTP/1.1\r\nHost: x\r\nContent-Length: 12ab\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.split(b" ", 2)[1].startswith(b"4")


components = st.lists(
    st.sampled_from(
        [
            '"@method"',
            '"@target-uri"',
            '"content-digest"',
            '"@status"',
            '"@query-param"',
            '"@query-param";name="x"',
            '"x-unknown"',
            '"content-digest";key="sha-256"',
            '"@path";req',
            "@method",
            '"authorization";bs',
        ]
    ),
    max_size=5,
)
structured_input = st.builds(
    lambda label, covered, created, keyid, alg: f'{label}=({" ".join(covered)});created={created};keyid="{keyid}"{alg}',
    st.sampled_from(["sig1", "member", "a-b", "*"]),
    components,
    st.one_of(st.integers(min_value=-(2**62), max_value=2**62), st.just(0)),
    st.sampled_from([CLIENT, "other", ""]),
    st.sampled_from(["", ';alg="ed25519"', ';alg="hmac-sha256"', ";expires=1"]),
)
structured_signature = st.builds(
    lambda label, raw: f"{label}=:{base64.b64encode(raw).decode()}:",
    st.sampled_from(["sig1", "member", "other"]),
    st.binary(min_size=0, max_size=80),
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature_input=structured_input, signature=structured_signature, body=st.binary(max_size=40))
def test_structured_but_wrong_signatures_are_401(
    target: Any, signature_input: str, signature: str, body: bytes
) -> None:
    from trust import content_digest

    gateway, member = target
    headers = {
        "Authorization": f"Bearer {member.credentials.client_assertion(gateway.settings.gateway_id)}",
        "Signature-Input": signature_input,
        "Signature": signature,
        "Content-Digest": content_digest(body),
    }
    response = httpx.post(gateway.url + "/v1/exchange/440300.x.y/svc", headers=headers, content=body, trust_env=False)
    assert response.status_code == 401, response.text
