"""Running the cities' sandbox partner systems side by side, and showing what they hold."""

from __future__ import annotations

import importlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from gateway.settings import SANDBOX_TRUST_LIST_PATH

if TYPE_CHECKING:
    from adapters.sandbox_documents import SandboxMaterial

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_STEP_SECONDS",
    "LISTING_KINDS",
    "MEMBER_KEYS_DIR",
    "RunningSandboxes",
    "SANDBOXES",
    "SandboxSpec",
    "SandboxSystem",
    "member_key_files",
    "record_credit_repair",
    "seed_listing",
    "start_sandboxes",
]


@dataclass(frozen=True)
class SandboxSystem:
    """One partner system a sandbox plays, as it would be registered with the gateway."""

    member_id: str  # <city>.<org>.<system>
    name: str
    kind: str  # licence_registry, credit_platform, service_handling, seal_platform, trading_centre
    path: str  # where it answers under the sandbox's base URL


@dataclass(frozen=True)
class SandboxSpec:
    city: str  # catalogs city key
    region: str  # GB/T 2260
    module: str  # its create_app(seed_data=None)
    port_offset: int
    protocol: str
    systems: tuple[SandboxSystem, ...] = ()
    handles_applications: bool = False  # its create_app takes `handling` (adapters/sandbox_handling.py)
    cloud_signing: bool = False  # its create_app takes `signing` (adapters/cloud_signing.py): 云签名 for residents

    @property
    def handling_member(self) -> str | None:
        """The member id its service-handling system reports to the gateway as."""
        return next((system.member_id for system in self.systems if system.kind == "service_handling"), None)


SANDBOXES: tuple[SandboxSpec, ...] = (
    SandboxSpec(
        "shenzhen",
        "440300",
        "adapters.shenzhen.sandbox",
        0,
        "REST/JSON",
        (
            SandboxSystem("440300.szzsj.handling", "深圳市一网通办受理系统", "service_handling", "/api/handle/v1"),
            SandboxSystem("440300.szamr.licence", "深圳市电子证照库", "licence_registry", "/api/licence/v1"),
            SandboxSystem("440300.szamr.seal", "深圳市电子印章平台", "seal_platform", "/api/seal/v1"),
            SandboxSystem("440300.szfgw.credit", "深圳市公共信用信息平台", "credit_platform", "/api/credit/v1"),
            SandboxSystem("440300.szggzy.trading", "深圳公共资源交易中心", "trading_centre", "/api/trade/v1"),
        ),
        handles_applications=True,
        cloud_signing=True,
    ),
    SandboxSpec(
        "zhongshan",
        "442000",
        "adapters.zhongshan.sandbox",
        1,
        "SOAP 1.1",
        (
            SandboxSystem(
                "442000.zszsj.licence", "中山市电子证照查询服务", "licence_registry", "/services/DzzzCxService"
            ),
            SandboxSystem(
                "442000.zsfgj.credit", "中山市信用信息查询服务", "credit_platform", "/services/XyxxCxService"
            ),
            SandboxSystem(
                "442000.zszsj.handling", "中山市办件状态同步服务", "service_handling", "/services/BjztTbService"
            ),
            SandboxSystem("442000.zsscjg.seal", "中山市电子印章查询服务", "seal_platform", "/services/DzyzCxService"),
            SandboxSystem(
                "442000.zsggzy.trading", "中山市公共资源交易中心", "trading_centre", "/services/JyxmCxService"
            ),
        ),
        handles_applications=True,
        cloud_signing=True,
    ),
    SandboxSpec(
        "hohhot",
        "150100",
        "adapters.hohhot.sandbox",
        2,
        "REST/JSON",
        (
            SandboxSystem("150100.hhzsj.licence", "呼和浩特市电子证照共享服务", "licence_registry", "/api/license"),
            SandboxSystem("150100.hhfgw.credit", "信用呼和浩特信息共享平台", "credit_platform", "/api/credit"),
            SandboxSystem("150100.hhzsj.affair", "呼和浩特市政务服务办件系统", "service_handling", "/api/affair"),
            SandboxSystem("150100.hhzsj.seal", "呼和浩特市电子印章平台", "seal_platform", "/api/seal"),
            SandboxSystem("150100.hhggzy.trading", "呼和浩特市公共资源交易中心", "trading_centre", "/api/trade"),
        ),
        cloud_signing=True,
    ),
)

DEFAULT_STEP_SECONDS = 5.0
"""How long a sandbox's handling system takes for each step of an application (受理, 办理, 办结, 送达)
under `make run`; 0 moves an application only when told (the tests)."""

MEMBER_KEYS_DIR = "members"
"""Under the sandbox directory: the handling systems' member keys and certificates (<member id>.key/.crt),
with which they sign their reports to the gateway; register them with `tongban members add`."""

DEFAULT_BASE_PORT = 8081
"""The first sandbox's port under `make run`; each city takes base + its port_offset (8081, 8082, 8083)."""

LISTING_KINDS: tuple[str, ...] = ("subjects", "licences", "enterprises", "persons", "experts", "members", "samples")
"""What `tongban sandbox list KIND` prints."""


@dataclass
class RunningSandboxes:
    servers: list[tuple[SandboxSpec, str, uvicorn.Server, threading.Thread]]
    material: SandboxMaterial | None = None  # the PKI and samples, when started with a sandbox_dir

    def urls(self) -> dict[str, str]:
        return {spec.city: url for spec, url, _server, _thread in self.servers}

    def regions(self) -> dict[str, str]:
        """GB/T 2260 city code -> base URL: what partner_urls takes."""
        return {spec.region: url for spec, url, _server, _thread in self.servers}

    def trust_list_urls(self) -> dict[str, str]:
        """GB/T 2260 city code -> where that city's sandbox publishes its trust list."""
        return {region: f"{url}{SANDBOX_TRUST_LIST_PATH}" for region, url in self.regions().items()}

    def stop(self) -> None:
        for _spec, _url, server, _thread in self.servers:
            server.should_exit = True
        for _spec, _url, _server, thread in self.servers:
            thread.join(timeout=10)


def start_sandboxes(
    host: str = "127.0.0.1",
    base_port: int = DEFAULT_BASE_PORT,
    seed: int | None = None,
    *,
    sandbox_dir: Path | None = None,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> RunningSandboxes:
    """Start every city's sandbox on its own port (base_port + offset) and wait until each answers.

    base_port 0 puts each sandbox on a free port the system picks (tests, the demo): see urls().
    With `sandbox_dir`, the demo PKI, status lists and sample documents are made there first (their
    URLs name the ports), and each sandbox also publishes its city's trust list, CRLs and status
    lists under /pki, and the handling systems report the applications they receive back to the
    gateway, signed with their member keys under sandbox_dir/members (made here when missing), one step
    every `step_seconds` (0: only when told)."""
    from adapters.sandbox_documents import PkiPublication, prepare_sandbox
    from catalogs import seed as seeding

    data = seeding.generate() if seed is None else seeding.generate(seed)
    listeners: dict[str, socket.socket] = {}
    ports: dict[str, int] = {}
    for spec in SANDBOXES:
        ports[spec.city] = base_port + spec.port_offset
        if base_port == 0:  # bind here, so the port is known and nobody can take it in between
            listener = socket.socket()
            listener.bind((host, 0))
            ports[spec.city] = int(listener.getsockname()[1])
            listeners[spec.city] = listener
    material = None
    if sandbox_dir is not None:
        material = prepare_sandbox(
            sandbox_dir, {spec.region: f"http://{host}:{ports[spec.city]}" for spec in SANDBOXES}, data=data
        )
    running = []
    for spec in SANDBOXES:
        options: dict[str, Any] = {}
        if spec.handles_applications:
            options["handling"] = _handling_desk(spec, sandbox_dir, step_seconds)
        if spec.cloud_signing and material is not None and sandbox_dir is not None:
            options["signing"] = _signing_desk(spec, material.pki, data, sandbox_dir)
        app = importlib.import_module(spec.module).create_app(seed_data=data, **options)
        if sandbox_dir is not None:
            app = PkiPublication(app, sandbox_dir / "pki" / spec.region)
        port = ports[spec.city]
        sockets = [listeners[spec.city]] if spec.city in listeners else []
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": sockets or None}, name=f"sandbox-{spec.city}", daemon=True
        )
        thread.start()
        running.append((spec, f"http://{host}:{port}", server, thread))
    deadline = time.monotonic() + 20
    for spec, _url, server, thread in running:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {spec.city} sandbox did not start (is port {server.config.port} free?)")
            time.sleep(0.02)
    return RunningSandboxes(running, material)


def member_key_files(sandbox_dir: Path, member_id: str) -> tuple[Path, Path]:
    """A sandbox member's key and certificate files, made (Ed25519, self-signed) when missing."""
    from gateway.client import make_member_certificate

    folder = sandbox_dir / MEMBER_KEYS_DIR
    key_file, cert_file = folder / f"{member_id}.key", folder / f"{member_id}.crt"
    if not key_file.is_file() or not cert_file.is_file():
        key_pem, cert_pem = make_member_certificate(member_id)
        folder.mkdir(parents=True, exist_ok=True)
        key_file.write_bytes(key_pem)
        key_file.chmod(0o600)
        cert_file.write_bytes(cert_pem)
    return key_file, cert_file


def _handling_desk(spec: SandboxSpec, sandbox_dir: Path | None, step_seconds: float) -> Any:
    from adapters.sandbox_handling import HandlingDesk, Reporter
    from gateway.client import MemberCredentials

    reporter = None
    member_id = spec.handling_member
    if sandbox_dir is not None and member_id is not None:
        key_file, _cert_file = member_key_files(sandbox_dir, member_id)
        credentials = MemberCredentials.from_pem_file(member_id, key_file)
        reporter = Reporter(member_id, credentials.signed_headers)
    return HandlingDesk(spec.region, reporter=reporter, step_seconds=step_seconds)


def _signing_desk(spec: SandboxSpec, pki: Any, data: Any, sandbox_dir: Path) -> Any:
    """The city's cloud signature service for its residents (persons and pool experts of the seed);
    their keys kept under the city's PKI folder (never published: PkiPublication serves only lists)."""
    from adapters.cloud_signing import CloudSigningDesk

    city = data.city(spec.city)
    residents = {person.id_number: person.name for person in (*city.persons, *city.experts)}
    keys_dir = sandbox_dir / "pki" / spec.region / "cloud-sign"
    return CloudSigningDesk(pki, spec.region, residents, keys_dir=keys_dir)


# The demo PKI identity each kind of partner system signs with (trust._pki roles).
SYSTEM_IDENTITIES: dict[str, str] = {"licence_registry": "licence-issuer-ec", "seal_platform": "seal-platform-sm2"}


def seed_listing(kind: str, seed: int | None = None, *, sandbox_dir: Path | None = None) -> list[dict[str, Any]]:
    """The seeded data of every sandbox city, as JSON-ready dicts (canonical field names).

    kind is one of LISTING_KINDS; "members" lists the partner systems each sandbox plays (with their
    key files in the sandbox PKI, once made), "samples" the signed documents under samples/, and
    "licences" names the sample documents that carry each licence."""
    from catalogs import seed as seeding

    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose {', '.join(LISTING_KINDS)}")
    samples = _samples(sandbox_dir)
    if kind == "samples":
        if sandbox_dir is None or not samples:
            raise ValueError("no sample documents yet: `tongban sandbox` or `make run` makes them under var/sandbox")
        return samples
    if kind == "members":
        rows = []
        for spec in SANDBOXES:
            for system in spec.systems:
                role = SYSTEM_IDENTITIES.get(system.kind)
                folder = None if sandbox_dir is None or role is None else sandbox_dir / "pki" / spec.region
                if system.kind == "service_handling" and sandbox_dir is not None:
                    role, folder = system.member_id, sandbox_dir / MEMBER_KEYS_DIR
                present = folder is not None and (folder / f"{role}.key").is_file()
                rows.append(
                    {
                        "city": spec.region,
                        "member_id": system.member_id,
                        "name": system.name,
                        "kind": system.kind,
                        "protocol": spec.protocol,
                        "path": system.path,
                        "default_url": f"http://127.0.0.1:{DEFAULT_BASE_PORT + spec.port_offset}{system.path}",
                        "key_file": str(folder / f"{role}.key") if present and folder else None,
                        "certificate_file": str(folder / f"{role}.crt") if present and folder else None,
                    }
                )
        return rows
    data = seeding.generate() if seed is None else seeding.generate(seed)
    rows = []
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
            records = list(city.experts)
        for record in records:
            row = {"city": spec.region, **record.model_dump(mode="json")}
            if kind == "licences":
                row["sample_documents"] = [
                    sample["path"]
                    for sample in samples
                    if sample["kind"] == "licence" and sample["subject"] == record.licence_number
                ]
            rows.append(row)
    return rows


def _samples(sandbox_dir: Path | None) -> list[dict[str, Any]]:
    if sandbox_dir is None:
        return []
    index = sandbox_dir / "samples" / "index.json"
    if not index.is_file():
        return []
    listed: list[dict[str, Any]] = json.loads(index.read_text(encoding="utf-8"))
    return [{**sample, "path": str(sandbox_dir / "samples" / sample["file"])} for sample in listed]


def record_credit_repair(region: str, base_url: str, uscc: str, decision_number: str, repaired_on: date) -> None:
    """Tell a city's sandbox credit platform that a penalty was repaired (信用修复), in that city's
    wire format (its sandbox module's record_credit_repair); ValueError when it refuses or cannot."""
    spec = next((spec for spec in SANDBOXES if spec.region == region), None)
    module = importlib.import_module(spec.module) if spec is not None else None
    if module is None or not hasattr(module, "record_credit_repair"):
        takers = [s.region for s in SANDBOXES if hasattr(importlib.import_module(s.module), "record_credit_repair")]
        raise ValueError(f"the {region} sandbox records no repairs; these do: {', '.join(takers)}")
    module.record_credit_repair(base_url, uscc, decision_number, repaired_on)
