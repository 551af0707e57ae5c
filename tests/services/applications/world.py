"""A gateway wired to real sandboxes whose handling systems report back to it, signed, on loopback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Gateway, LoopbackServer, Member, free_port, make_settings

from adapters.sandboxes import RunningSandboxes, member_key_files, start_sandboxes
from gateway.app import create_app
from gateway.client import MemberCredentials
from gateway.clock import Clock
from gateway.registry import add_member, grant
from gateway.runtime import Runtime
from gateway.settings import SANDBOX_TRUST_LIST_PATH

ZS_WINDOW = "442000.zsgov.window"
SZ_WINDOW = "440300.szgov.window"
SZ_HANDLING = "440300.szzsj.handling"
ZS_HANDLING = "442000.zszsj.handling"


@dataclass
class World:
    gateway: Gateway
    sandboxes: RunningSandboxes
    zs_window: Member
    sz_window: Member
    clock: Clock | None

    def call(self, member: Member, method: str, path: str, payload: Any = None, **headers: str) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        extra = {"content-type": "application/json", **headers} if payload is not None else dict(headers)
        url = self.gateway.url + path
        now = self.clock.now() if self.clock is not None else None
        signed = member.credentials.signed_headers(
            method, url, body, audience=self.gateway.settings.gateway_id, headers=extra, now=now
        )
        return httpx.request(method, url, headers=signed, content=body, timeout=30, trust_env=False)

    def sandbox(self, city: str) -> str:
        return self.sandboxes.regions()[city]

    def wait_for(self, member: Member, application_id: str, state: str, seconds: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            answer = self.call(member, "GET", f"/v1/applications/{application_id}")
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()
            if found["status"] == state:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{application_id} stayed {found['status']}, not {state}: {found['timeline']}")
            time.sleep(0.1)


def material(code: str, content: bytes) -> dict[str, Any]:
    return {"code": code, "content_b64": base64.b64encode(content).decode("ascii")}


@pytest.fixture
def world_factory(
    tmp_path: Path, database_url: str, serve: Callable[..., LoopbackServer]
) -> Iterator[Callable[..., World]]:
    running: list[RunningSandboxes] = []

    def build(step_seconds: float = 0.0, clock: Clock | None = None) -> World:
        sandbox_dir = tmp_path / "var" / "sandbox"
        sandboxes = start_sandboxes(base_port=0, sandbox_dir=sandbox_dir, step_seconds=step_seconds)
        running.append(sandboxes)
        regions = sandboxes.regions()
        port = free_port()
        settings = make_settings(
            tmp_path,
            database_url,
            port=port,
            partner_urls=regions,
            trust_list_urls={region: f"{url}{SANDBOX_TRUST_LIST_PATH}" for region, url in regions.items()},
            trust_list_operators={
                region: sandbox_dir / "pki" / region / "trust-list-operator.crt" for region in regions
            },
        )
        runtime = Runtime.build(settings, clock=clock) if clock is not None else Runtime.build(settings)
        gateway = Gateway(runtime, serve(create_app(runtime=runtime), port))
        now = runtime.clock.now()
        with runtime.database.write() as connection:
            for member_id in (SZ_HANDLING, ZS_HANDLING):
                _key, cert = member_key_files(sandbox_dir, member_id)
                add_member(connection, member_id, cert.read_bytes(), now=now)
                grant(connection, member_id, "applications.report", now=now)
        zs_window = gateway.add_member(ZS_WINDOW)
        sz_window = gateway.add_member(SZ_WINDOW)
        for window in (zs_window, sz_window):
            gateway.grant(window.id, "applications.submit")
        return World(gateway, sandboxes, zs_window, sz_window, clock)

    yield build
    for sandboxes in running:
        sandboxes.stop()


def handling_member(world: World, member_id: str) -> Member:
    """The sandbox handling system's own credentials, to report as it would (tests with a fixed clock)."""
    assert world.sandboxes.material is not None
    key_file, cert_file = member_key_files(world.sandboxes.material.directory, member_id)
    return Member(
        member_id, MemberCredentials.from_pem_file(member_id, key_file), key_file.read_bytes(), cert_file.read_bytes()
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
