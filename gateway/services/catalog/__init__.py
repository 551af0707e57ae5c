"""The service-item catalogue (通办事项目录): the items either city's windows accept, searchable by
anyone (GET /v1/catalog/items), readable over SOAP (GetCatalogItem, SearchCatalogItems), loaded
and checked by operators (`tongban catalog validate|import|export|list|show`).

Other services look items up with

    item_by_code(connection, code) -> ServiceItem | None

inside any transaction of theirs (`with runtime.database.read() as connection: ...`): the item of
the loaded catalogue, or None for an unknown code. Before any catalogue is loaded (a database that
has not yet seen the gateway start or a catalogue command) it answers from the shipped catalogue.

The shipped catalogue (catalogs/data/service_items.json) is loaded into the table on the first
start against an empty catalogue; `tongban catalog import FILE` replaces it, all or nothing, and
records the version.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gateway.services import DomainService
from gateway.services.catalog._wsdl import SOAP_OPERATION_NAMES, WSDL_SCHEMA

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy import Connection

    from catalogs.service_items import ServiceItem
    from gateway.runtime import Runtime
    from gateway.services import ServiceFace
    from gateway.services.catalog._files import (
        COLUMNS,
        CatalogueFile,
        CatalogueFileError,
        RowProblem,
        export_catalogue,
        read_catalogue,
    )
    from gateway.services.catalog._store import (
        CatalogueQuery,
        CatalogueVersion,
        catalogue_version,
        ensure_catalogue,
        replace_catalogue,
        search_items,
        stored_items,
    )
    from gateway.soap_codec import SoapOperationSpec

__all__ = [
    "COLUMNS",
    "CatalogueFile",
    "CatalogueFileError",
    "CatalogueQuery",
    "CatalogueVersion",
    "RowProblem",
    "SERVICE",
    "catalogue_version",
    "ensure_catalogue",
    "export_catalogue",
    "item_by_code",
    "read_catalogue",
    "replace_catalogue",
    "search_items",
    "stored_items",
]

# The command line imports this package (for `tongban catalog`) and must start quickly, so the
# database, web and SOAP code is imported on first use, not here.
_LAZY = {
    "COLUMNS": "_files",
    "CatalogueFile": "_files",
    "CatalogueFileError": "_files",
    "RowProblem": "_files",
    "export_catalogue": "_files",
    "read_catalogue": "_files",
    "CatalogueQuery": "_store",
    "CatalogueVersion": "_store",
    "catalogue_version": "_store",
    "ensure_catalogue": "_store",
    "replace_catalogue": "_store",
    "search_items": "_store",
    "stored_items": "_store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def item_by_code(connection: Connection, code: str) -> ServiceItem | None:
    """The item with this code in the loaded catalogue (the shipped one before any is loaded), or None."""
    from gateway.services.catalog._store import item_by_code as lookup

    return lookup(connection, code)


def _setup(runtime: Runtime) -> CatalogueVersion:
    """Load the shipped catalogue when none is loaded (each worker calls this; one loads)."""
    from gateway.services.catalog._store import ensure_catalogue

    with runtime.database.write() as connection:
        return ensure_catalogue(connection, runtime.clock.now())


def _routes(face: ServiceFace) -> APIRouter:
    from gateway.services.catalog._routes import catalog_routes

    return catalog_routes(face)


class _SoapOperations(Mapping[str, "SoapOperationSpec"]):
    """The SOAP operations by name; their code is imported when the SOAP face first asks."""

    def __getitem__(self, name: str) -> SoapOperationSpec:
        from gateway.services.catalog._soap import SOAP_OPERATIONS

        return SOAP_OPERATIONS[name]

    def __iter__(self) -> Iterator[str]:
        return iter(SOAP_OPERATION_NAMES)

    def __len__(self) -> int:
        return len(SOAP_OPERATION_NAMES)


SERVICE = DomainService(
    name="catalog",
    routes=_routes,
    soap_operations=_SoapOperations(),
    wsdl_schema=WSDL_SCHEMA,
    endpoints={
        "catalog": "/v1/catalog",
        "catalog_items": "/v1/catalog/items?q=&city=&mode=&subject=&sector=&department=",
        "catalog_item": "/v1/catalog/items/{code}",
    },
    setup=_setup,
)
