"""`tongban serve` as an operator runs it: separate worker processes sharing one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port

from gateway.client import MemberCredentials, verify_gateway_response

BIN = Path(sys.executable).parent


def tongban(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "tongban"), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Any:
    port = free_port()
    env = {
        **os.environ,
        "TONGBAN_VAR_DIR": str(tmp_path / "var"),
        "TONGBAN_DATABASE_URL": database_url,
        "TONGBAN_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [str(BIN / "tongban"), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/readyz", trust_env=False).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read() if process.stdout else ""
            process.kill()
            pytest.fail(f"tongban serve did not become ready:\n{output}")
        time.sleep(0.2)
    yield url, env, process, tmp_path
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_workers_share_the_replay_store_and_stop_cleanly(served: Any) -> None:
    url, env, process, tmp_path = served
    member = "442000.zsgov.window"
    keys = tmp_path / "member"
    assert tongban("members", "keygen", member, "--out", str(keys), env=env).returncode == 0
    added = tongban("members", "add", member, "--cert", str(keys / "cert.pem"), env=env)
    assert added.returncode == 0, added.stderr  # registered while the gateway runs: no restart needed

    credentials = MemberCredentials.from_pem_file(member, keys / "key.pem")
    token = credentials.client_assertion("440300.tongban.gateway")
    with httpx.Client(trust_env=False) as client:
        jwks = client.get(url + "/.well-known/jwks.json").json()
        # New connections spread over both workers; one jti is accepted exactly once between them.
        statuses = [
            httpx.get(url + "/v1/members", headers={"Authorization": f"Bearer {token}"}, trust_env=False).status_code
            for _ in range(6)
        ]
        assert statuses.count(200) == 1 and statuses.count(401) == 5
        for _ in range(4):
            response = client.get(
                url + "/v1/members",
                headers={"Authorization": f"Bearer {credentials.client_assertion('440300.tongban.gateway')}"},
            )
            assert response.status_code == 200
            verify_gateway_response(response, jwks)
        metrics = client.get(url + "/metrics").text
        assert 'tongban_requests_total{method="GET",route="/v1/members",status="200"} 5.0' in metrics

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0


def test_key_rotation_reaches_running_workers(served: Any) -> None:
    url, env, _process, _tmp = served
    before = httpx.get(url + "/.well-known/jwks.json", trust_env=False).json()["keys"][0]["kid"]
    rotated = tongban("keys", "rotate", env=env)
    assert rotated.returncode == 0, rotated.stderr
    deadline = time.monotonic() + 15
    kids: set[str] = set()
    while time.monotonic() < deadline:
        response = httpx.get(url + "/healthz", trust_env=False)
        jwks = httpx.get(url + "/.well-known/jwks.json", trust_env=False).json()
        kids.add(verify_gateway_response(response, jwks))
        if jwks["keys"][0]["kid"] != before and verify_gateway_response(response, jwks) != before:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"workers still sign with the old key; seen {kids}")


# ---- a member and a partner of its own, for the tests below -----------------------------------


class _Upstream:
    """A partner system on loopback that records the bodies it receives."""

    def __init__(self) -> None:
        import http.server
        import threading

        bodies: list[bytes] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                bodies.append(self.rfile.read(int(self.headers.get("content-length") or 0)))
                answer = b'{"ok":true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def _relay_setup(env: dict[str, str], tmp_path: Path, upstream: _Upstream) -> tuple[MemberCredentials, str]:
    client, provider = "442000.zsgov.window", "440300.szamr.licence"
    for member in (client, provider):
        assert tongban("members", "keygen", member, "--out", str(tmp_path / member), env=env).returncode == 0
        added = tongban("members", "add", member, "--cert", str(tmp_path / member / "cert.pem"), env=env)
        assert added.returncode == 0, added.stderr
    assert tongban("services", "add", provider, "apply", "--url", upstream.url, env=env).returncode == 0
    assert tongban("access", "grant", client, f"{provider}/apply", env=env).returncode == 0
    return MemberCredentials.from_pem_file(client, tmp_path / client / "key.pem"), f"/v1/exchange/{provider}/apply"


def _raw_post(url: str, path: str, headers: httpx.Headers, body: bytes, *, offer_h2c: bool) -> tuple[int, bytes]:
    """A POST written byte by byte as Java's HttpClient writes it: headers first (with the h2c
    upgrade offer when asked), the body in a second packet."""
    import socket

    host = url.removeprefix("http://")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    if offer_h2c:
        lines += [
            "Connection: Upgrade, HTTP2-Settings",
            "Upgrade: h2c",
            "HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA",
        ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    hostname, port = host.split(":")
    with socket.create_connection((hostname, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        time.sleep(0.05)
        connection.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = int(
            next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        )
        while len(rest) < length:
            rest += connection.recv(65536)
    return int(head.split(b" ")[1]), rest


def test_a_request_offering_an_http2_upgrade_is_read_with_its_body(served: Any) -> None:
    """RFC 9110 §7.8: the server may ignore the offer but must read the request. A REST write and
    a SOAP call, each as Java's HttpClient sends them (Upgrade: h2c, body in its own packet)."""
    url, env, _process, tmp_path = served
    upstream = _Upstream()
    try:
        credentials, path = _relay_setup(env, tmp_path, upstream)
        body = '{"item":"企业设立登记"}'.encode()
        headers = credentials.signed_headers("POST", url + path, body, audience="440300.tongban.gateway")
        headers["content-type"] = "application/json"
        status, answer = _raw_post(url, path, headers, body, offer_h2c=True)
        assert status == 200, answer
        assert upstream.bodies == [body]
    finally:
        upstream.stop()

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from lxml import etree

    from trust import sign_envelope

    soap_member = "442000.zsgov.soap"
    keys = tmp_path / soap_member
    generated = tongban("members", "keygen", soap_member, "--out", str(keys), "--algorithm", "ecdsa-p256", env=env)
    assert generated.returncode == 0, generated.stderr
    assert tongban("members", "add", soap_member, "--cert", str(keys / "cert.pem"), env=env).returncode == 0
    envelope = etree.fromstring(
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tb="urn:tongban:gateway:v1">'
        b"<soap:Body><tb:ListMembers/></soap:Body></soap:Envelope>"
    )
    sign_envelope(
        envelope,
        private_key=serialization.load_pem_private_key((keys / "key.pem").read_bytes(), None),  # type: ignore[arg-type]
        certificate=x509.load_pem_x509_certificate((keys / "cert.pem").read_bytes()),
        now=datetime.now(UTC),
    )
    soap_body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    status, answer = _raw_post(
        url,
        "/soap",
        httpx.Headers({"content-type": "text/xml; charset=utf-8", "soapaction": '"ListMembers"'}),
        soap_body,
        offer_h2c=True,
    )
    assert status == 200, answer
    assert b"ListMembersResponse" in answer and soap_member.encode() in answer


def test_a_worker_killed_under_load_loses_no_acknowledged_exchange(served: Any) -> None:
    """SIGKILL one worker while signed calls are in flight: every exchange the caller saw
    acknowledged has exactly its request and response entries, and the whole log verifies."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from gateway.storage import Database, audit_entries

    url, env, process, tmp_path = served
    upstream = _Upstream()
    try:
        credentials, path = _relay_setup(env, tmp_path, upstream)
        workers = [
            int(pid)
            for pid in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2, workers
        acknowledged: list[str] = []

        def call(number: int) -> None:
            body = json.dumps({"application": number}).encode()
            headers = credentials.signed_headers("POST", url + path, body, audience="440300.tongban.gateway")
            try:
                response = httpx.post(url + path, content=body, headers=headers, timeout=20, trust_env=False)
            except httpx.TransportError:
                return  # the connection died with the worker: not acknowledged
            if response.status_code == 200:
                acknowledged.append(response.headers["x-tongban-exchange-id"])

        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(call, number) for number in range(400)]
            time.sleep(0.5)
            os.kill(workers[0], signal.SIGKILL)
            for future in futures:
                future.result()
    finally:
        upstream.stop()
    assert len(acknowledged) > 50  # the surviving worker (and any restarted one) kept serving
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)

    database = Database(env["TONGBAN_DATABASE_URL"])
    try:
        with database.read() as connection:
            rows = connection.execute(select(audit_entries.c.exchange_id, audit_entries.c.kind)).all()
    finally:
        database.dispose()
    kinds: dict[str, list[str]] = {}
    for exchange_id, kind in rows:
        kinds.setdefault(exchange_id, []).append(kind)
    for exchange_id in acknowledged:
        assert sorted(kinds.get(exchange_id, [])) == ["exchange.request", "exchange.response"], exchange_id
    verified = tongban("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_no_access_line_is_written_per_request(tmp_path: Path, database_url: str) -> None:
    """`serve` turns uvicorn's access log off (the audit log and /metrics record every exchange);
    the workers' logging set-up must not turn it back on, even at INFO."""
    port = free_port()
    env = {**os.environ, "TONGBAN_VAR_DIR": str(tmp_path / "var"), "TONGBAN_DATABASE_URL": database_url}
    env |= {"TONGBAN_LOG_LEVEL": "INFO", "TONGBAN_LOG_JSON": "false"}
    process = subprocess.Popen(
        [str(BIN / "tongban"), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answered = 0
        while answered < 5 and time.monotonic() < deadline and process.poll() is None:
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered == 5
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert "Application startup complete" in output  # INFO lines are written...
    assert "/healthz" not in output  # ...but no line per request
