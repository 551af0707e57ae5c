"""The registry of domain services: the one place where the faces, the app factory, the CLI and the
access-right checks learn which services exist.

Each service is a package `gateway/services/<name>/` holding its operations, rules and tables, and
defining `SERVICE = DomainService(...)`; an optional `cli.py` there holds a typer app that becomes
`tongban <name> ...`. Adding a service is a new package and its name in SERVICE_PACKAGES; nothing
else in the gateway changes, and no service imports the faces' routers or another service's
routes (one service may call another's published functions, e.g. the catalogue's item lookup).

    routes       -> the REST face includes them (in SERVICE_PACKAGES order, after the relay)
    soap_*       -> the SOAP face dispatches them and writes them into the WSDL
    rights       -> grantable with `tongban access grant`, listed in /v1/services
    endpoints    -> listed in /.well-known/tongban
    setup        -> builds the service's state once per process, kept in runtime.services[name]
    background   -> runs while the server runs (cancelled at stop); shutdown releases the state
    demo_flows   -> `tongban demo` runs them (after the gateway's own flows), each a row of its table
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter, Request, Response

    from gateway.demo import DemoContext
    from gateway.exchange import Operation
    from gateway.runtime import Runtime
    from gateway.settings import Settings
    from gateway.soap_codec import SoapOperationSpec

__all__ = [
    "DomainService",
    "SERVICE_PACKAGES",
    "ServiceFace",
    "cli_modules",
    "domain_services",
    "service_right_aliases",
    "service_rights",
]

# Order matters only for REST routes that could overlap; each service owns its own paths.
SERVICE_PACKAGES: tuple[str, ...] = ("recognition", "catalog", "applications", "evaluation", "credit")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ServiceFace:
    """What a service's REST routes get: the runtime, and `run`, which takes an operation through
    the pipeline (authentication, authorisation, audit, signing) and answers its reply."""

    runtime: Runtime
    run: Callable[[Request, Operation, int | None], Awaitable[Response]]

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


@dataclass(frozen=True)
class DomainService:
    name: str
    rights: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # right -> what it allows
    # Other names a right is granted by (the contract's names), stored as the right itself.
    right_aliases: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    routes: Callable[[ServiceFace], APIRouter] | None = None
    soap_operations: Mapping[str, SoapOperationSpec] = field(default_factory=lambda: _EMPTY)
    wsdl_schema: str = ""  # xs declarations (prefix tb) of its SOAP operations' elements and types
    endpoints: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    setup: Callable[[Runtime], Any] | None = None
    background: Callable[[Runtime], Coroutine[Any, Any, None]] | None = None
    shutdown: Callable[[Runtime], Awaitable[None]] | None = None
    # `tongban demo`'s flows: (name, step) pairs; a step returns what it showed, or raises.
    demo_flows: Callable[[DemoContext], Sequence[tuple[str, Callable[[], str]]]] | None = None


@cache
def domain_services() -> tuple[DomainService, ...]:
    found = []
    for name in SERVICE_PACKAGES:
        service = importlib.import_module(f"gateway.services.{name}").SERVICE
        if not isinstance(service, DomainService) or service.name != name:
            raise TypeError(f"gateway.services.{name}.SERVICE must be a DomainService named {name!r}")
        found.append(service)
    soap_names = [op for service in found for op in service.soap_operations]
    rights = [right for service in found for right in service.rights]
    for kind, names in (("SOAP operation", soap_names), ("right", rights)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise TypeError(f"two services define the {kind}(s) {', '.join(repeated)}")
    return tuple(found)


def service_rights() -> dict[str, str]:
    """Every right the domain services define (imports the services: not for the CLI's hot paths)."""
    return {right: text for service in domain_services() for right, text in service.rights.items()}


def service_right_aliases() -> dict[str, str]:
    """alias -> right, over every service (imports the services)."""
    aliases = {alias: right for service in domain_services() for alias, right in service.right_aliases.items()}
    rights = service_rights()
    for alias, right in aliases.items():
        if right not in rights or alias in rights:
            raise TypeError(f"the right alias {alias!r} must name a right ({right!r}) and not be one itself")
    return aliases


def cli_modules() -> list[tuple[str, str]]:
    """(command name, module) of each service with a `cli.py`, found without importing the service
    (importing a submodule imports its package, and the command line must start quickly)."""
    here = Path(__file__).parent
    return [(name, f"gateway.services.{name}.cli") for name in SERVICE_PACKAGES if (here / name / "cli.py").is_file()]
