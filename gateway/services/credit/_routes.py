"""The credit service's REST routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from catalogs.credit_purposes import credit_purposes
from gateway.services import ServiceFace
from gateway.services.credit._operations import (
    IssueReport,
    IssueReports,
    ReadReport,
    RevokeReport,
    SubjectQueries,
    VerifyReport,
)
from gateway.services.credit._profile import CreditProfile

__all__ = ["credit_routes"]

_EXAMPLE_CODE = "91440300TBNHJ0QF0K"  # a seeded Shenzhen sandbox enterprise


def _json_body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", **schema}, "example": example}},
        }
    }


def credit_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter()
    purposes = [p.code for p in credit_purposes().purposes]

    @router.get(
        "/v1/credit/purposes",
        tags=["credit"],
        summary="The purposes a credit report may be asked for and the sections each releases (public)",
    )
    async def list_purposes() -> dict[str, Any]:
        return credit_purposes().to_json()

    @router.post(
        "/v1/credit/reports",
        tags=["credit"],
        status_code=201,
        summary="A signed public-credit report on one subject, only the sections the purpose releases "
        "(right: credit.query; RateLimit-* headers)",
        openapi_extra=_json_body(
            {
                "required": ["subject_code", "purpose"],
                "properties": {
                    "subject_code": {"type": "string", "description": "GB 32100 unified social credit code"},
                    "purpose": {"type": "string", "enum": purposes},
                },
            },
            {"subject_code": _EXAMPLE_CODE, "purpose": "government_procurement"},
        ),
    )
    async def issue(request: Request) -> Response:
        return await face.run(request, IssueReport(), IssueReport().max_body_bytes)

    @router.post(
        "/v1/credit/reports/batch",
        tags=["credit"],
        summary="Reports on up to 100 subjects for one purpose; each code answered on its own",
        openapi_extra=_json_body(
            {
                "required": ["subject_codes", "purpose"],
                "properties": {
                    "subject_codes": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
                    "purpose": {"type": "string", "enum": purposes},
                },
            },
            {"subject_codes": [_EXAMPLE_CODE], "purpose": "public_resource_trading"},
        ),
    )
    async def issue_batch(request: Request) -> Response:
        return await face.run(request, IssueReports(), IssueReports().max_body_bytes)

    @router.post(
        "/v1/credit/profiles",
        tags=["credit"],
        summary="An individual business's credit profile: score, band, every point explained by a rule "
        "(right: credit.query)",
        openapi_extra=_json_body(
            {
                "required": ["subject_code", "purpose"],
                "properties": {
                    "subject_code": {"type": "string", "description": "an individual business's code (92...)"},
                    "purpose": {"type": "string", "enum": purposes},
                },
            },
            {"subject_code": "92440300TBKW6F1R8A", "purpose": "supervision"},
        ),
    )
    async def profile(request: Request) -> Response:
        return await face.run(request, CreditProfile(), CreditProfile().max_body_bytes)

    @router.post(
        "/v1/credit/reports/verify",
        tags=["credit"],
        summary="Verify a signed credit report: valid, superseded, revoked or tampered, with the reason",
        openapi_extra=_json_body(
            {
                "description": "either signed_report or signed_pdf",
                "properties": {
                    "signed_report": {"type": "string", "description": "the compact JWS a report was issued as"},
                    "signed_pdf": {
                        "type": "string",
                        "contentEncoding": "base64",
                        "description": "the PAdES-signed PDF of GET /v1/credit/reports/{report_id}?format=pdf",
                    },
                },
            },
            {"signed_report": "<the compact JWS a report was issued as>"},
        ),
    )
    async def verify(request: Request) -> Response:
        return await face.run(request, VerifyReport(), VerifyReport().max_body_bytes)

    @router.get(
        "/v1/credit/reports/{report_id}",
        tags=["credit"],
        summary="A report this member was issued (any report for credit.supervise); ?format=pdf or "
        "Accept: application/pdf for the Chinese PDF rendering with a QR code (report id and digest), "
        "signed PAdES B-B",
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                }
            }
        },
    )
    async def read(request: Request, report_id: str, format: str = "json") -> Response:
        return await face.run(request, ReadReport(report_id=report_id), None)

    @router.post(
        "/v1/credit/reports/{report_id}/revoke",
        tags=["credit"],
        summary="Withdraw a report (right: credit.supervise); verification then answers revoked",
        openapi_extra=_json_body(
            {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
            {"reason": "签发依据的处罚决定已被撤销"},
        ),
    )
    async def revoke(request: Request, report_id: str) -> Response:
        return await face.run(request, RevokeReport(report_id=report_id), RevokeReport().max_body_bytes)

    @router.get(
        "/v1/credit/subjects/{subject_code}/queries",
        tags=["credit"],
        summary="Who asked about a subject, when, why and what was released (right: credit.supervise)",
    )
    async def queries(request: Request, subject_code: str, page: str = "1", page_size: str = "50") -> Response:
        return await face.run(request, SubjectQueries(subject_code=subject_code), None)

    return router
