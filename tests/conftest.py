"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), real servers on loopback."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from gateway.app import create_app
from gateway.client import MemberCredentials, make_member_certificate
from gateway.registry import add_member, add_service, grant
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("TONGBAN_TEST_POSTGRES_URL")
VECTORS = Path(__file__).resolve().parent / "vectors"


def load_vectors(name: str) -> dict[str, Any]:
    """One published vector file from tests/vectors/ (its README.md names each file's source)."""
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[..., LoopbackServer]]:
    """Start any ASGI app on loopback for the length of a test."""
    servers: list[LoopbackServer] = []

    def start(app: Any, port: int | None = None) -> LoopbackServer:
        server = LoopbackServer(app, port).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


def _postgres_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database test runs on SQLite, and on PostgreSQL in a schema of its own when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tongban.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("TONGBAN_TEST_POSTGRES_URL is not set (PostgreSQL tests need it; .ci/run sets it)")
    schema = f"tongban_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    _ensure_trigram_extension(admin)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _ensure_trigram_extension(admin: Any) -> None:
    """pg_trgm (migration 0005) is one per database: made here once, so that test workers running at
    the same time (make test runs two) do not race to create it in their migrations."""
    for _attempt in range(5):
        try:
            with admin.connect() as connection:
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            return
        except DBAPIError:  # another worker created it at the same moment: it exists now
            time.sleep(0.2)


def _drop_schema(admin: Any, schema: str) -> None:
    """DROP SCHEMA ... CASCADE, again if it lost a deadlock to a gateway's background read that
    was still finishing (PostgreSQL then aborts the DROP, not the reader)."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(5):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": tmp_path / "var",
        "database_url": database_url,
        "log_json": False,
        "log_level": "WARNING",
        "upstream_retry_backoff_seconds": 0.01,
        "upstream_read_timeout": 2.0,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass(repr=False)
class Member:
    id: str
    credentials: MemberCredentials
    key_pem: bytes
    cert_pem: bytes

    def __repr__(self) -> str:
        return f"Member({self.id})"


@dataclass(repr=False)
class Gateway:
    """A running gateway with helpers to register members and call it as one."""

    def __repr__(self) -> str:
        return f"Gateway({self.url})"

    runtime: Runtime
    server: LoopbackServer
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def add_member(self, member_id: str, algorithm: str = "ed25519") -> Member:
        key_pem, cert_pem = make_member_certificate(member_id, algorithm=algorithm)
        with self.runtime.database.write() as connection:
            add_member(connection, member_id, cert_pem, now=self.runtime.clock.now())
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(key_pem, password=None)
        member = Member(member_id, MemberCredentials(member_id, key), key_pem, cert_pem)  # type: ignore[arg-type]
        self.members[member_id] = member
        return member

    def add_service(self, provider_id: str, code: str, url: str, **options: Any) -> str:
        with self.runtime.database.write() as connection:
            service = add_service(connection, provider_id, code, url=url, now=self.runtime.clock.now(), **options)
        return service.id

    def grant(self, client_id: str, service_id: str) -> None:
        with self.runtime.database.write() as connection:
            grant(connection, client_id, service_id, now=self.runtime.clock.now())

    def call(
        self,
        member: Member,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> httpx.Response:
        url = self.url + path
        signed = member.credentials.signed_headers(
            method, url, body, audience=self.settings.gateway_id, headers=headers
        )
        return httpx.request(method, url, headers=signed, content=body, timeout=timeout, trust_env=False)

    def jwks(self) -> dict[str, Any]:
        return httpx.get(self.url + "/.well-known/jwks.json", trust_env=False).json()


@pytest.fixture
def start_gateway(tmp_path: Path, database_url: str, serve: Callable[..., LoopbackServer]) -> Callable[..., Gateway]:
    """Start a gateway (on the parametrised database); call again for a second process-like instance."""

    def start(**overrides: Any) -> Gateway:
        runtime_options = {key: overrides.pop(key) for key in ("audit_log", "clock") if key in overrides}
        settings = make_settings(tmp_path, database_url, **overrides)
        runtime = Runtime.build(settings, **runtime_options)
        server = serve(create_app(runtime=runtime))
        return Gateway(runtime, server)

    return start


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway()
