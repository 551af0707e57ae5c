"""`tongban serve` as an operator runs it: separate worker processes sharing one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
