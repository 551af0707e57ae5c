"""Running the cities' sandbox partner systems side by side, and showing what they hold."""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["SANDBOXES", "RunningSandboxes", "SandboxSpec", "seed_listing", "start_sandboxes"]


@dataclass(frozen=True)
class SandboxSpec:
    city: str  # catalogs city key
    region: str  # GB/T 2260
    module: str  # its create_app(seed_data=None)
    port_offset: int
    protocol: str


SANDBOXES: tuple[SandboxSpec, ...] = (
    SandboxSpec("shenzhen", "440300", "adapters.shenzhen.sandbox", 0, "REST/JSON"),
    SandboxSpec("zhongshan", "442000", "adapters.zhongshan.sandbox", 1, "SOAP 1.1"),
)


@dataclass
class RunningSandboxes:
    servers: list[tuple[SandboxSpec, str, uvicorn.Server, threading.Thread]]

    def urls(self) -> dict[str, str]:
        return {spec.city: url for spec, url, _server, _thread in self.servers}

    def stop(self) -> None:
        for _spec, _url, server, _thread in self.servers:
            server.should_exit = True
        for _spec, _url, _server, thread in self.servers:
            thread.join(timeout=10)


def start_sandboxes(host: str = "127.0.0.1", base_port: int = 8081, seed: int | None = None) -> RunningSandboxes:
    """Start every city's sandbox on its own port (base_port + offset) and wait until each answers."""
    from catalogs import seed as seeding

    data = seeding.generate() if seed is None else seeding.generate(seed)
    running = []
    for spec in SANDBOXES:
        app = importlib.import_module(spec.module).create_app(seed_data=data)
        port = base_port + spec.port_offset
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"sandbox-{spec.city}", daemon=True)
        thread.start()
        running.append((spec, f"http://{host}:{port}", server, thread))
    deadline = time.monotonic() + 20
    for spec, _url, server, thread in running:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {spec.city} sandbox did not start (is port {server.config.port} free?)")
            time.sleep(0.02)
    return RunningSandboxes(running)


def seed_listing(kind: str, seed: int | None = None) -> list[dict[str, Any]]:
    """The seeded data of every sandbox city, as JSON-ready dicts (canonical field names)."""
    from catalogs import seed as seeding

    data = seeding.generate() if seed is None else seeding.generate(seed)
    rows: list[dict[str, Any]] = []
    for spec in SANDBOXES:
        city = data.city(spec.city)
        if kind == "subjects":
            records: list[Any] = list(city.credit_subjects)
        elif kind == "licences":
            records = list(city.licences)
        elif kind == "enterprises":
            records = list(city.enterprises)
        elif kind == "persons":
            records = list(city.persons)
        else:
            raise ValueError(f"unknown kind {kind!r}; choose subjects, licences, enterprises or persons")
        rows.extend({"city": spec.region, **record.model_dump(mode="json")} for record in records)
    return rows
