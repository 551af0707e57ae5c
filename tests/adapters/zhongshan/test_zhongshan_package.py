"""The adapters.zhongshan package: its public API and its WSDLs shipped as package data."""

from __future__ import annotations

import asyncio
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import setuptools
from lxml import etree

import adapters.zhongshan
from adapters._base import PartnerClient, PartnerMapping
from adapters.zhongshan import ZhongshanClient, ZhongshanMapping

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("BjztTbService", "DzyzCxService", "DzzzCxService", "JyxmCxService", "XyxxCxService", "YqmService")


def test_all_is_sorted_and_complete() -> None:
    assert adapters.zhongshan.__all__ == sorted(adapters.zhongshan.__all__)
    for name in adapters.zhongshan.__all__:
        assert hasattr(adapters.zhongshan, name)


def test_wsdls_are_package_data() -> None:
    folder = resources.files("adapters.zhongshan") / "wsdl"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".wsdl"))
    assert names == [f"{service}.wsdl" for service in SERVICES]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert any(fnmatch("DzzzCxService.wsdl", pattern) for pattern in patterns)
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    found = setuptools.find_namespace_packages(where=str(ROOT), include=include)
    assert "adapters.zhongshan.wsdl" in found  # a folder without __init__.py, found as a namespace package


def test_wsdls_are_soap11_document_literal() -> None:
    wsdl = "http://schemas.xmlsoap.org/wsdl/"
    soap = "http://schemas.xmlsoap.org/wsdl/soap/"
    for service in SERVICES:
        root = etree.fromstring((resources.files("adapters.zhongshan") / "wsdl" / f"{service}.wsdl").read_bytes())
        assert root.get("targetNamespace", "").startswith("urn:zhongshan:gov:")
        binding = root.find(f"{{{wsdl}}}binding/{{{soap}}}binding")
        assert binding is not None and binding.get("style") == "document"
        assert {b.get("use") for b in root.iter(f"{{{soap}}}body")} == {"literal"}


def test_implements_the_partner_interfaces() -> None:
    mapping: PartnerMapping = ZhongshanMapping()
    client: PartnerClient = ZhongshanClient("http://127.0.0.1:1")
    assert mapping.city == client.city == "442000"
    asyncio.run(client.aclose())


def test_every_service_has_its_wsdl_and_every_operation_is_in_it() -> None:
    from adapters.zhongshan._services import NAMESPACES, OPERATIONS

    wsdl = "http://schemas.xmlsoap.org/wsdl/"
    assert sorted(NAMESPACES) == list(SERVICES)
    for op in OPERATIONS:
        root = etree.fromstring((resources.files("adapters.zhongshan") / "wsdl" / f"{op.service}.wsdl").read_bytes())
        assert root.get("targetNamespace") == op.namespace
        assert op.name in {o.get("name") for o in root.iter(f"{{{wsdl}}}operation")}
