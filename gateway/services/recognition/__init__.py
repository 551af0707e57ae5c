"""Mutual recognition of licences and e-seals (电子证照、电子印章互认): verify a document issued in
another city against that city's signed trust list, ask the issuing registry whether it is still
current, map it into the relying city's schema; look a licence up, or fetch a holder's licences
with the holder's consent.

Other services use `Recognition` (runtime.services["recognition"]), `FetchLicences` and
`verify_consent` from here.
"""

from __future__ import annotations

from gateway.services import DomainService
from gateway.services.recognition._lookup import LICENCE_LOOKUP_RIGHT, LicenceLookup
from gateway.services.recognition._recognition import (
    CONSENT_HEADER,
    DOCUMENT_FORMATS,
    FETCH_LICENCES_RIGHT,
    LICENCE_SERVICE_TYPES,
    SEAL_SERVICE_TYPES,
    VERIFY_LICENCES_RIGHT,
    VERIFY_SEALS_RIGHT,
    ConsentGrant,
    DocumentRequest,
    FetchLicences,
    LicenceFormat,
    Recognition,
    VerifyLicence,
    VerifySeal,
    examine_document,
    http_fetch,
    recognition_of,
    verify_consent,
    verify_seal,
)
from gateway.services.recognition._routes import recognition_routes
from gateway.services.recognition._setup import recognition_for, refresh_trust_lists, setup, shutdown
from gateway.services.recognition._soap import SOAP_OPERATIONS, WSDL_SCHEMA

__all__ = [
    "CONSENT_HEADER",
    "ConsentGrant",
    "DOCUMENT_FORMATS",
    "DocumentRequest",
    "FETCH_LICENCES_RIGHT",
    "FetchLicences",
    "LICENCE_LOOKUP_RIGHT",
    "LICENCE_SERVICE_TYPES",
    "LicenceFormat",
    "LicenceLookup",
    "Recognition",
    "SEAL_SERVICE_TYPES",
    "SERVICE",
    "VERIFY_LICENCES_RIGHT",
    "VERIFY_SEALS_RIGHT",
    "VerifyLicence",
    "VerifySeal",
    "examine_document",
    "http_fetch",
    "recognition_for",
    "recognition_of",
    "verify_consent",
    "verify_seal",
]

SERVICE = DomainService(
    name="recognition",
    rights={
        LICENCE_LOOKUP_RIGHT: "look a licence up at its issuing city's registry, through that city's adapter",
        VERIFY_LICENCES_RIGHT: "verify a licence document issued in another city (mutual recognition)",
        FETCH_LICENCES_RIGHT: (
            "fetch a holder's licences from the issuing registry, with purpose and the holder's consent"
        ),
        VERIFY_SEALS_RIGHT: "verify an enterprise e-seal on a sealed document",
    },
    routes=recognition_routes,
    soap_operations=SOAP_OPERATIONS,
    wsdl_schema=WSDL_SCHEMA,
    endpoints={
        "licence_lookup": "/v1/registries/{issuing_city}/licences/{licence_number}",
        "licence_verify": "/v1/licences/verify",
        "licences": "/v1/licences?holder_id=&issuing_city=&licence_type=",
        "seal_verify": "/v1/seals/verify",
        "trust_lists": "/.well-known/trust-lists",
    },
    setup=setup,
    background=refresh_trust_lists,
    shutdown=shutdown,
)
