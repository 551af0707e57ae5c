"""The applications service's REST routes (/v1/applications...)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from gateway.canonical import ApplicationState
from gateway.services import ServiceFace
from gateway.services.applications._operations import (
    ApplicationStats,
    GetApplication,
    ListApplications,
    RateApplication,
    ReportEvent,
    SubmitApplication,
)
from gateway.services.applications._rules import RATING_LEVELS
from gateway.services.applications._states import STATES

__all__ = ["application_routes"]

_SUBMIT_EXAMPLE: dict[str, Any] = {
    "item_code": "SCJG-0002",
    "receiving_city": "442000",
    "applicant": {"name": "中山市岐江食品有限公司", "id_number": "91442000MA4W1234XK"},
    "materials": [
        {"code": "application_form", "content_b64": "5paw5bu65paH5qGj"},
        {"code": "business_licence", "licence": {"issuing_city": "442000", "licence_type": "business_licence"}},
        {
            "code": "layout",
            "digest": "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "reference": "zs-window://2025/0001/layout.pdf",
        },
        {"code": "safety_rules", "content_b64": "6aOf5ZOB5a6J5YWo6KeE56ug"},
    ],
}
_EVENT_EXAMPLE: dict[str, Any] = {"state": "accepted", "note": "材料齐全，予以受理"}
_RATING_EXAMPLE: dict[str, Any] = {"level": "非常满意", "reason": None}


def application_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter(tags=["applications"])

    @router.post("/v1/applications", status_code=201)
    async def submit(
        request: Request,
        _body: dict[str, Any] = Body(
            ...,
            openapi_examples={"food licence": {"value": _SUBMIT_EXAMPLE}},
            description="item_code, receiving_city (the caller's), applicant {name, id_number}, optional agent "
            "(代办员) {name, id_number}, optional handling_city, materials: each {code} with content_b64, or digest "
            "and reference, or licence {issuing_city, licence_type} fetched with the X-Tongban-Consent token",
        ),
    ) -> Response:
        operation = SubmitApplication()
        return await face.run(request, operation, operation.max_body_bytes)

    @router.get("/v1/applications/stats")
    async def stats(request: Request, city: str | None = Query(None, pattern=r"^\d{6}$")) -> Response:
        return await face.run(request, ApplicationStats(), None)

    @router.get("/v1/applications")
    async def listing(
        request: Request,
        status: ApplicationState | None = Query(None),
        overdue: bool = Query(False),
        city: str | None = Query(None, pattern=r"^\d{6}$"),
        page: int = Query(1, ge=1),
        page_size: int = Query(50, ge=1, le=500),
    ) -> Response:
        return await face.run(request, ListApplications(), None)

    @router.get("/v1/applications/{application_id}")
    async def read(request: Request, application_id: str) -> Response:
        return await face.run(request, GetApplication(application_id=application_id), None)

    @router.post("/v1/applications/{application_id}/events")
    async def report(
        request: Request,
        application_id: str,
        _body: dict[str, Any] = Body(
            ...,
            openapi_examples={"accepted": {"value": _EVENT_EXAMPLE}},
            description=f"state (one of {', '.join(STATES)}), note, and with concluded the result",
        ),
    ) -> Response:
        operation = ReportEvent(application_id=application_id)
        return await face.run(request, operation, 64 * 1024)

    @router.post("/v1/applications/{application_id}/rating")
    async def rate(
        request: Request,
        application_id: str,
        _body: dict[str, Any] = Body(
            ...,
            openapi_examples={"very satisfied": {"value": _RATING_EXAMPLE}},
            description=f"level (one of {', '.join(RATING_LEVELS)}); reason, required for the two lowest",
        ),
    ) -> Response:
        return await face.run(request, RateApplication(application_id=application_id), 64 * 1024)

    return router
