"""The catalogue's REST routes: public metadata, answered without the pipeline (no caller to
authenticate, nothing to audit) and signed like every answer by the signing middleware."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from catalogs.service_items import ITEM_CODE_PATTERN, MODES, SECTORS
from gateway.operations import MAX_PAGE, MAX_PAGE_SIZE
from gateway.services import ServiceFace
from gateway.services.catalog._queries import MAX_QUERY_LENGTH, SUBJECTS, catalogue_query, item_or_404, search_page
from gateway.services.catalog._store import catalogue_version, sector_counts

__all__ = ["catalog_routes"]

_ITEM_EXAMPLE = {
    "code": "SCJG-0002",
    "name": "食品经营许可证核发",
    "sector": "市场监管",
    "subject": "enterprise",
    "mode": "异地代收代办",
    "departments": {"440300": "深圳市市场监督管理局", "442000": "中山市市场监督管理局"},
    "materials": [
        {"code": "application_form", "name": "食品经营许可申请书", "required": True, "licence_types": []},
        {"code": "business_licence", "name": "营业执照", "required": True, "licence_types": ["business_licence"]},
    ],
    "legal_limit_days": 20,
    "promised_limit_days": 5,
    "fee": "0",
    "legal_basis": "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》",
    "result_type": "licence",
    "result_licence_type": "food_operation_permit",
}


def _json_example(example: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": example}}}}


def catalog_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter(tags=["catalog"])
    runtime = face.runtime

    @router.get(
        "/v1/catalog/items",
        summary="Search the cross-city service items (public)",
        description=(
            "q matches item names (Chinese substring search through a trigram index; one- and two-character "
            "queries such as 社保 compare names directly). The filters narrow it: city (GB/T 2260 code of a city "
            "with a responsible department), mode, subject, sector, department (substring of a department's name)."
        ),
        responses=_json_example({"items": [_ITEM_EXAMPLE], "total": 5, "page": 1, "page_size": 50}),
    )
    async def search(
        q: str | None = Query(None, min_length=1, max_length=MAX_QUERY_LENGTH, examples=["食品"]),
        city: str | None = Query(None, pattern=r"^[1-8][0-9]{5}$", examples=["442000"]),
        mode: str | None = Query(None, json_schema_extra={"enum": list(MODES)}, examples=["全程网办"]),
        subject: str | None = Query(None, json_schema_extra={"enum": list(SUBJECTS)}, examples=["enterprise"]),
        sector: str | None = Query(None, json_schema_extra={"enum": list(SECTORS)}, examples=["市场监管"]),
        department: str | None = Query(None, min_length=1, max_length=MAX_QUERY_LENGTH, examples=["市场监督管理局"]),
        page: int = Query(1, ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE}"),
        page_size: int = Query(50, ge=1, le=MAX_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}"),
    ) -> JSONResponse:
        given = {"q": q, "city": city, "mode": mode, "subject": subject, "sector": sector, "department": department}
        params = {name: value for name, value in given.items() if value is not None}
        query = catalogue_query({**params, "page": str(page), "page_size": str(page_size)})
        return JSONResponse(await runtime.in_thread(search_page, runtime, query))

    @router.get(
        "/v1/catalog/items/{code}",
        summary="One service item (public); 404 for an unknown code",
        responses=_json_example(_ITEM_EXAMPLE),
    )
    async def item(
        code: str = Path(max_length=40, description=f"the item code, {ITEM_CODE_PATTERN}", examples=["SCJG-0002"]),
    ) -> JSONResponse:
        return JSONResponse(await runtime.in_thread(item_or_404, runtime, code))

    def summary() -> dict[str, Any]:
        with runtime.database.read() as connection:
            version = catalogue_version(connection)
            sectors = sector_counts(connection)
        return {
            "version": version.version,
            "source": version.source,
            "digest": version.digest,
            "total": version.item_count,
            "loaded_at": version.loaded_at.isoformat() if version.loaded_at else None,
            "sectors": [{"sector": name, "count": count} for name, count in sectors.items()],
            "modes": list(MODES),
            "subjects": list(SUBJECTS),
        }

    @router.get(
        "/v1/catalog",
        summary="The catalogue loaded: version, digest, count, sectors (public)",
        responses=_json_example(
            {
                "version": "2026.12-representative",
                "total": 633,
                "sectors": [{"sector": "市场监管", "count": 78}],
                "modes": list(MODES),
            }
        ),
    )
    async def catalogue() -> JSONResponse:
        return JSONResponse(await runtime.in_thread(summary))

    return router
