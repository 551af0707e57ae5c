"""The registry of domain services: the faces, the app factory and the CLI know the services only
through gateway/services, each service imports on its own, and the WSDL carries every operation."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from gateway.faces.soap import soap_operations, wsdl_document
from gateway.registry import GATEWAY_OPERATIONS, gateway_rights
from gateway.services import SERVICE_PACKAGES, DomainService, domain_services

ROOT = Path(__file__).resolve().parents[2]
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_package_defines_its_service() -> None:
    services = domain_services()
    assert [service.name for service in services] == list(SERVICE_PACKAGES)
    assert all(isinstance(service, DomainService) for service in services)


@pytest.mark.parametrize("name", SERVICE_PACKAGES)
def test_each_service_imports_alone(name: str) -> None:
    """No import circle: a fresh interpreter imports the service first, before anything else."""
    result = subprocess.run(
        [sys.executable, "-c", f"import gateway.services.{name} as s; print(s.SERVICE.name)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == name


def test_core_modules_know_no_service_by_name() -> None:
    """The pipeline, stages, faces, runtime and app reach services only through the registry."""
    core = [ROOT / "gateway" / name for name in ("pipeline.py", "runtime.py", "app.py", "exchange.py", "registry.py")]
    core += sorted((ROOT / "gateway" / "faces").glob("*.py")) + sorted((ROOT / "gateway" / "stages").glob("*.py"))
    for path in core:
        reaching = {module for module in _imports_of(path) if module.startswith("gateway.services.")}
        assert not reaching, f"{path.relative_to(ROOT)} imports {reaching}"


def test_no_service_imports_another_services_private_modules() -> None:
    for name in SERVICE_PACKAGES:
        for path in (ROOT / "gateway" / "services" / name).rglob("*.py"):
            for module in _imports_of(path):
                parts = module.split(".")
                if module.startswith("gateway.services.") and len(parts) > 3 and parts[2] != name:
                    assert not parts[3].startswith("_"), f"{path.relative_to(ROOT)} reaches into {module}"


def test_rights_are_the_gateways_and_every_services() -> None:
    rights = gateway_rights()
    assert set(GATEWAY_OPERATIONS) <= set(rights)
    for service in domain_services():
        assert set(service.rights) <= set(rights)
    assert "licences.verify" in rights  # recognition's


def test_the_wsdl_declares_every_operation_with_its_elements() -> None:
    document = etree.fromstring(wsdl_document().replace("{address}", "http://localhost/soap").encode("utf-8"))
    declared = {element.get("name") for element in document.iter(f"{{{XS}}}element") if element.get("name")}
    port_operations = {
        operation.get("name") for operation in document.find(f"{{{WSDL}}}portType").iter(f"{{{WSDL}}}operation")
    }
    bindings = document.findall(f"{{{WSDL}}}binding")
    assert len(bindings) == 2
    for name in soap_operations():
        assert name in port_operations
        assert {name, f"{name}Response"} <= declared, f"the schema lacks {name} or {name}Response"
        for binding in bindings:
            assert name in {op.get("name") for op in binding.findall(f"{{{WSDL}}}operation")}
    assert {"VerifySeal", "GetLicence", "ListMembers"} <= port_operations


def test_the_wsdl_is_one_zeep_reads(tmp_path: Path) -> None:
    import zeep

    path = tmp_path / "tongban.wsdl"
    path.write_text(wsdl_document().replace("{address}", "http://localhost/soap"), "utf-8")
    client = zeep.Client(str(path))
    service_operations = set(client.service._binding._operations)
    assert set(soap_operations()) == service_operations
