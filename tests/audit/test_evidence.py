"""Evidence bundles of real exchanges: every check passes, every tamper fails, and checking needs no database."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from gateway.audit import EVIDENCE_FORMAT, EvidenceReport, canonical_entry, check_evidence, leaf_hash
from gateway.audit_operations import evidence_bundle
from gateway.cli import app as cli
from gateway.clock import FixedClock
from gateway.runtime import open_transparency_log

CLIENT = "442000.zsgov.window"
PROVIDER = "440300.szamr.licence"
TONGBAN = Path(sys.executable).parent / "tongban"
INTERVAL = 0.05  # checkpoint interval: a covering checkpoint is never more than this away


async def partner(request: Request) -> Response:
    """The provider's system: answers with what it was sent."""
    body = await request.body()
    answer = {"path": request.path_params["path"], "received": body.decode("utf-8", "replace"), "城市": "深圳"}
    return Response(json.dumps(answer, ensure_ascii=False).encode(), media_type="application/json; charset=utf-8")


@dataclass
class Exchanged:
    gateway: Any
    exchange_ids: list[str]

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.gateway.runtime.transparency_log.signer.private_key.public_key()

    def bundle(self, index: int = 0) -> dict[str, Any]:
        bundle = evidence_bundle(self.gateway.runtime, self.exchange_ids[index])
        assert bundle is not None
        return bundle


@pytest.fixture
def exchanged(start_gateway: Any, serve: Any) -> Exchanged:
    """Two relayed POSTs from CLIENT to PROVIDER's service, audited with their messages kept."""
    upstream = serve(Starlette(routes=[Route("/{path:path}", partner, methods=["GET", "POST"])]))
    gateway = start_gateway(audit_checkpoint_interval_seconds=INTERVAL)
    caller = gateway.add_member(CLIENT)
    gateway.add_member(PROVIDER, "ecdsa-p256")
    service = gateway.add_service(PROVIDER, "licences", upstream.url + "/api", title="电子证照库")
    gateway.grant(CLIENT, service)
    exchange_ids = []
    for holder in ("91440300MA5FXXXX0X", "91442000MA4UXXXX1Y"):
        body = json.dumps({"holder": holder, "类型": "营业执照"}, ensure_ascii=False).encode()
        response = gateway.call(
            caller,
            "POST",
            f"/v1/exchange/{service}/verify?lang=zh",
            body=body,
            headers={"Content-Type": "application/json", "X-Tongban-Purpose": "window.verify"},
        )
        assert response.status_code == 200, response.text
        exchange_ids.append(response.headers["x-tongban-exchange-id"])
    return Exchanged(gateway, exchange_ids)


def failed(report: EvidenceReport) -> list[str]:
    return [check.name for check in report.checks if not check.passed]


def test_bundle_of_a_real_exchange_passes_every_check(exchanged: Exchanged) -> None:
    bundle = exchanged.bundle()
    assert bundle["format"] == EVIDENCE_FORMAT
    assert bundle["exchange_id"] == exchanged.exchange_ids[0]
    assert bundle["origin"] == exchanged.gateway.settings.audit_origin
    assert [item["entry"]["kind"] for item in bundle["entries"]] == ["exchange.request", "exchange.response"]
    assert set(bundle["certificates"]) == {CLIENT, PROVIDER}
    assert bundle["messages"]["request"] is not None and bundle["messages"]["response"] is not None
    json.dumps(bundle)  # plain JSON all through

    report = check_evidence(bundle, exchanged.public_key)
    assert report.passed, report.checks
    checks = {check.name: check for check in report.checks}
    for name in ("checkpoint signature", "request message", "response message", "gateway signature recorded"):
        assert checks[name].passed
    for item in bundle["entries"]:
        for suffix in ("leaf hash", "exchange", "inclusion"):
            assert checks[f"entry {item['index']} {suffix}"].passed
    caller = checks["caller signature"]
    assert caller.passed and not caller.detail.startswith("not checked"), caller


def _entry_field_changed(bundle: dict[str, Any]) -> None:
    bundle["entries"][0]["entry"]["purpose"] = "marketing"


def _entry_and_its_leaf_hash_changed(bundle: dict[str, Any]) -> None:
    entry = bundle["entries"][0]["entry"]
    entry["client"] = "440300.someone.else"
    bundle["entries"][0]["leaf_hash"] = base64.b64encode(leaf_hash(canonical_entry(entry))).decode()


def _proof_hash_changed(bundle: dict[str, Any]) -> None:
    hashes = bundle["entries"][1]["inclusion_proof"]["hashes"]
    raw = bytearray(base64.b64decode(hashes[0]))
    raw[0] ^= 0x01
    hashes[0] = base64.b64encode(bytes(raw)).decode()


def _proof_for_another_tree_size(bundle: dict[str, Any]) -> None:
    bundle["entries"][0]["inclusion_proof"]["tree_size"] += 1


def _checkpoint_size_changed(bundle: dict[str, Any]) -> None:
    lines = bundle["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) + 1)
    bundle["checkpoint"] = "\n".join(lines)


def _checkpoint_root_changed(bundle: dict[str, Any]) -> None:
    lines = bundle["checkpoint"].split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    bundle["checkpoint"] = "\n".join(lines)


def _request_body_changed(bundle: dict[str, Any]) -> None:
    bundle["messages"]["request"]["body_b64"] = base64.b64encode(b'{"holder":"91440300MA5FXXXX0X"}').decode()


def _response_body_changed(bundle: dict[str, Any]) -> None:
    bundle["messages"]["response"]["body_b64"] = base64.b64encode(b'{"valid":true}').decode()


def _entries_removed(bundle: dict[str, Any]) -> None:
    bundle["entries"] = []


def _exchange_id_changed(bundle: dict[str, Any]) -> None:
    bundle["exchange_id"] = "00000000-0000-7000-8000-000000000000"


TAMPERS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_entry_field_changed, "entry {0} leaf hash"),
    (_entry_and_its_leaf_hash_changed, "entry {0} inclusion"),
    (_proof_hash_changed, "entry {1} inclusion"),
    (_proof_for_another_tree_size, "entry {0} inclusion"),
    (_checkpoint_size_changed, "checkpoint signature"),
    (_checkpoint_root_changed, "checkpoint signature"),
    (_request_body_changed, "request message"),
    (_response_body_changed, "response message"),
    (_entries_removed, "entries present"),
    (_exchange_id_changed, "entry {0} exchange"),
]


def test_each_tamper_makes_the_bundle_fail(exchanged: Exchanged) -> None:
    bundle = exchanged.bundle()
    indexes = [item["index"] for item in bundle["entries"]]
    assert check_evidence(bundle, exchanged.public_key).passed
    for tamper, expected in TAMPERS:
        changed = copy.deepcopy(bundle)
        tamper(changed)
        report = check_evidence(changed, exchanged.public_key)
        assert not report.passed, tamper.__name__
        assert expected.format(*indexes) in failed(report), (tamper.__name__, failed(report))


def test_checkpoint_verified_with_another_key_fails(exchanged: Exchanged) -> None:
    report = check_evidence(exchanged.bundle(), Ed25519PrivateKey.generate().public_key())
    assert not report.passed
    assert failed(report) == ["checkpoint signature"]


def test_messages_swapped_with_another_exchange_fail(exchanged: Exchanged) -> None:
    bundle, other = exchanged.bundle(0), exchanged.bundle(1)
    signature_swapped = copy.deepcopy(bundle)
    signature_swapped["messages"]["response"]["headers"]["signature"] = other["messages"]["response"]["headers"][
        "signature"
    ]
    assert "gateway signature recorded" in failed(check_evidence(signature_swapped, exchanged.public_key))

    request_swapped = copy.deepcopy(bundle)
    request_swapped["messages"]["request"] = other["messages"]["request"]
    assert "request message" in failed(check_evidence(request_swapped, exchanged.public_key))

    caller_forged = copy.deepcopy(bundle)
    caller_forged["messages"]["request"]["headers"]["signature"] = other["messages"]["request"]["headers"]["signature"]
    assert "caller signature" in failed(check_evidence(caller_forged, exchanged.public_key))


def test_bundle_whose_bodies_were_purged_still_passes(exchanged: Exchanged) -> None:
    settings = exchanged.gateway.settings
    later = FixedClock(datetime.now(UTC) + timedelta(days=settings.audit_body_retention_days, minutes=1))
    purger = open_transparency_log(settings, exchanged.gateway.runtime.database, clock=later)
    assert purger.purge_bodies() == 4  # request and response of both exchanges
    bundle = exchanged.bundle()
    assert bundle["messages"] == {"request": None, "response": None}
    assert len(bundle["entries"]) == 2
    report = check_evidence(bundle, exchanged.public_key)
    assert report.passed, report.checks
    assert exchanged.gateway.runtime.transparency_log.verify() == purger.size()


# ---- on another machine: export, then check with the key alone -------------------------------------


def _gateway_env(exchanged: Exchanged) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TONGBAN_")}
    settings = exchanged.gateway.settings
    env.update(
        TONGBAN_VAR_DIR=str(settings.var_dir),
        TONGBAN_DATABASE_URL=settings.database_url,
        TONGBAN_AUDIT_CHECKPOINT_INTERVAL_SECONDS=str(INTERVAL),
    )
    return env


def _tongban(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TONGBAN), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_exported_bundle_is_checked_on_another_machine_without_a_database(exchanged: Exchanged, tmp_path: Path) -> None:
    handover = tmp_path / "handover"
    handover.mkdir()
    bundle_file, key_file = handover / "evidence.json", handover / "audit-key.pem"
    env = _gateway_env(exchanged)
    exported = _tongban("audit", "export", exchanged.exchange_ids[0], "-o", str(bundle_file), env=env)
    assert exported.returncode == 0, exported.stderr
    key = _tongban("audit", "key", env=env)
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    key_file.write_text(key.stdout)
    assert json.loads(bundle_file.read_text())["exchange_id"] == exchanged.exchange_ids[0]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "never.db"
    bare = {name: value for name, value in os.environ.items() if not name.startswith("TONGBAN_")}
    bare["TONGBAN_DATABASE_URL"] = f"sqlite:///{database}"
    checked = _tongban("audit", "check", str(bundle_file), "--key", str(key_file), env=bare, cwd=elsewhere)
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert "FAIL" not in checked.stdout
    assert f"evidence for exchange {exchanged.exchange_ids[0]} verifies" in checked.stdout
    assert not database.exists()
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran: no database, no var/

    tampered = json.loads(bundle_file.read_text())
    tampered["entries"][0]["entry"]["status"] = 201
    tampered_file = handover / "tampered.json"
    tampered_file.write_text(json.dumps(tampered, ensure_ascii=False))
    refused = _tongban("audit", "check", str(tampered_file), "--key", str(key_file), env=bare, cwd=elsewhere)
    assert refused.returncode != 0
    assert refused.stderr.startswith("tongban: ") and refused.stderr.count("\n") == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "FAIL" in refused.stdout
    assert not database.exists()


MALFORMED_BUNDLES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("entries not objects", lambda b: b.update(entries=["not an entry"])),
    ("messages a list", lambda b: b.update(messages=["request", "response"])),
    ("proof a list", lambda b: b["entries"][0].update(inclusion_proof=["hash"])),
    ("certificates a list", lambda b: b.update(certificates=[])),
]


def test_check_of_a_bundle_of_the_wrong_shape_fails_in_one_line(
    exchanged: Exchanged, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("TONGBAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    key_file = tmp_path / "audit-key.pem"
    key_file.write_bytes(
        exchanged.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bundle = exchanged.bundle()
    problems = []
    for label, malform in MALFORMED_BUNDLES:
        changed = copy.deepcopy(bundle)
        malform(changed)
        bundle_file = tmp_path / "malformed.json"
        bundle_file.write_text(json.dumps(changed))
        result = CliRunner().invoke(cli, ["audit", "check", str(bundle_file), "--key", str(key_file)])
        one_line = result.exit_code != 0 and isinstance(result.exception, SystemExit)
        one_line = one_line and result.stderr.startswith("tongban: ") and result.stderr.count("\n") == 1
        if not one_line:
            problems.append((label, repr(result.exception)))
    assert problems == []
