"""The examples in examples/ run as a user runs them: a separate process against a real gateway on loopback."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Gateway

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WINDOW = "442000.zssoap.window"


def soap_client(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "soap_client.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def identity(gateway: Gateway, tmp_path: Path, member_id: str, algorithm: str, register: bool = True) -> list[str]:
    """--key and --cert for a member with a new key pair (registered with the gateway unless told not to)."""
    if register:
        member = gateway.add_member(member_id, algorithm=algorithm)
        key_pem, cert_pem = member.key_pem, member.cert_pem
    else:
        from gateway.client import make_member_certificate

        key_pem, cert_pem = make_member_certificate(member_id, algorithm=algorithm)
    (tmp_path / f"{member_id}.key").write_bytes(key_pem)
    (tmp_path / f"{member_id}.crt").write_bytes(cert_pem)
    return ["--key", str(tmp_path / f"{member_id}.key"), "--cert", str(tmp_path / f"{member_id}.crt")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("algorithm", "binding"), [("ecdsa-p256", []), ("rsa", ["--soap12"])])
def test_soap_client_lists_members_signed_both_ways(
    gateway: Gateway, tmp_path: Path, algorithm: str, binding: list[str]
) -> None:
    key_and_cert = identity(gateway, tmp_path, WINDOW, algorithm)
    result = soap_client("--gateway", gateway.url, *key_and_cert, *binding, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    answer: dict[str, Any] = json.loads(result.stdout)
    assert answer["total"] == 1
    assert [member["id"] for member in answer["member"]] == [WINDOW]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_soap_client_passes_parameters(gateway: Gateway, tmp_path: Path) -> None:
    key_and_cert = identity(gateway, tmp_path, WINDOW, "ecdsa-p256")
    result = soap_client("--gateway", gateway.url, *key_and_cert, "ListServices", "allowed=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["total"] == 0 and answer["service"] == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_soap_client_reports_a_fault_in_one_line(gateway: Gateway, tmp_path: Path) -> None:
    key_and_cert = identity(gateway, tmp_path, WINDOW, "ecdsa-p256", register=False)
    result = soap_client("--gateway", gateway.url, *key_and_cert, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("soap_client: auth.unknown_issuer: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_soap_client_refuses_an_answer_not_signed_by_the_pinned_gateway(gateway: Gateway, tmp_path: Path) -> None:
    key_and_cert = identity(gateway, tmp_path, WINDOW, "ecdsa-p256")
    not_the_gateway = identity(gateway, tmp_path, "442000.zsother.window", "ecdsa-p256", register=False)[3]
    result = soap_client("--gateway", gateway.url, *key_and_cert, "--gateway-cert", not_the_gateway, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "signature does not verify" in result.stderr


def test_examples_need_nothing_from_tongban() -> None:
    """A partner copies an example into its own system, where no Tongban package is installed."""
    for path in sorted(EXAMPLES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            own = [n for n in names if n.split(".")[0] in ("gateway", "trust", "adapters", "catalogs", "conftest")]
            assert not own, f"{path.name} imports {own}"
