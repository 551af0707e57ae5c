"""Recognition's REST routes: licence lookup, licence and seal verification, a holder's licences,
and the trust lists this gateway accepts."""

from __future__ import annotations

import base64
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.services import ServiceFace
from gateway.services.recognition._lookup import LicenceLookup
from gateway.services.recognition._recognition import (
    DOCUMENT_FORMATS,
    FetchLicences,
    VerifyLicence,
    VerifySeal,
    recognition_of,
)

__all__ = ["recognition_routes"]


def _sample_examples(samples: FilePath) -> tuple[dict[str, Any], dict[str, Any]]:
    """Working examples for the verify endpoints: the sandbox's own samples when they exist (their
    keys are made on first run, so no fixed example could verify), otherwise placeholders."""

    def encoded(name: str) -> str | None:
        path = samples / name
        return base64.b64encode(path.read_bytes()).decode("ascii") if path.is_file() else None

    licence = encoded("440300/licence-valid.jws")
    seal, data = encoded("440300/seal-valid.ses"), encoded("440300/seal-valid.data")
    licence_example = {
        "document": licence or "<base64 of var/sandbox/samples/440300/licence-valid.jws>",
        "format": "jws",
    }
    seal_example = {
        "document": seal or "<base64 of var/sandbox/samples/440300/seal-valid.ses>",
        "data": data or "<base64 of var/sandbox/samples/440300/seal-valid.data>",
        "format": "ses",
    }
    return licence_example, seal_example


def _document_body(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["document"],
                        "properties": {
                            "document": {"type": "string", "format": "byte", "description": "the document, base64"},
                            "format": {"type": "string", "enum": list(DOCUMENT_FORMATS)},
                            "data": {"type": "string", "format": "byte", "description": "signed data (bare SES)"},
                            "relying_city": {"type": "string", "pattern": "^[1-8][0-9]{5}$"},
                        },
                    },
                    "example": example,
                }
            },
        }
    }


def recognition_routes(face: ServiceFace) -> APIRouter:
    router = APIRouter()
    runtime = face.runtime

    @router.get(
        "/v1/registries/{issuing_city}/licences/{licence_number:path}",
        tags=["licences"],
        summary="A licence from its issuing city's registry, in the canonical model (right: licences.lookup)",
    )
    async def licence_lookup(request: Request, issuing_city: str, licence_number: str) -> Response:
        return await face.run(request, LicenceLookup(issuing_city, licence_number), None)

    licence_example, seal_example = _sample_examples(face.settings.sandbox_dir / "samples")

    @router.post(
        "/v1/licences/verify",
        tags=["licences"],
        summary="Verify a licence document (JWS, XML-DSig, PAdES, OFD/SES): DSS-style report, mapped fields",
        openapi_extra=_document_body(licence_example),
    )
    async def licence_verify(request: Request) -> Response:
        return await face.run(request, VerifyLicence(), VerifyLicence().max_body_bytes)

    @router.get(
        "/v1/licences",
        tags=["licences"],
        summary="A holder's licences from the issuing registry (X-Tongban-Purpose and X-Tongban-Consent needed)",
    )
    async def licences_fetch(
        request: Request,
        holder_id: str | None = None,
        issuing_city: str | None = None,
        licence_type: str | None = None,
        page: str = "1",  # read (as for every collection) from the query by page_of
        page_size: str = "50",
    ) -> Response:
        # Checked by the operation, after authentication: an anonymous caller learns nothing here.
        operation = FetchLicences(holder_id=holder_id or "", issuing_city=issuing_city or "", licence_type=licence_type)
        return await face.run(request, operation, None)

    @router.post(
        "/v1/seals/verify",
        tags=["seals"],
        summary="Verify an enterprise e-seal on a sealed document or a bare SES signature",
        openapi_extra=_document_body(seal_example),
    )
    async def seal_verify(request: Request) -> Response:
        return await face.run(request, VerifySeal(), VerifySeal().max_body_bytes)

    @router.get(
        "/.well-known/trust-lists",
        tags=["metadata"],
        summary="The cities' trust lists this gateway accepts: sequence, issue and next-update times, last refresh",
    )
    async def trust_lists() -> dict[str, Any]:
        return recognition_of(runtime).snapshot()

    return router
