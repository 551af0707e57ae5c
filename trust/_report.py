"""Validation reports in EU DSS's vocabulary (ETSI EN 319 102-1 indications and sub-indications),
and what a document format's examiner hands to the validation engine.

The flow, for every document kind (JWS, XML-DSig, PAdES, OFD/SES):

    examiner (trust._jws, _xmldsig, _pades, _ses)  -> SignatureEvidence, or raises SignatureFailure
    engine   (trust._validation.validate)          -> chain against the issuing city's trust list at
                                                      the signing time, revocation, ValidationReport
    gateway  (licence/seal operations)             -> registry status, field mapping, the answer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from trust._errors import TrustError

__all__ = [
    "CertificateSummary",
    "ChainElement",
    "Indication",
    "SealSummary",
    "SignatureEvidence",
    "SignatureFailure",
    "SubIndication",
    "TrustAnchorSummary",
    "ValidationReport",
]


MAX_CARRIED_CERTIFICATES = 10
"""The most certificates a signature may carry (JWS x5c, XML X509Data, CMS, the engine): a signer's
certificate and its chain, not a haystack of candidate issuers (each costs the path builder a signature check)."""


class Indication(StrEnum):
    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(StrEnum):
    # TOTAL_FAILED (EN 319 102-1 table 5)
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    # Tongban's extensions: the signature holds but the issuing registry says the licence or seal
    # is no longer current (mutual recognition needs both; DSS has no words for the second).
    LICENCE_CANCELLED = "LICENCE_CANCELLED"
    LICENCE_REVOKED = "LICENCE_REVOKED"
    LICENCE_SUSPENDED = "LICENCE_SUSPENDED"
    LICENCE_EXPIRED = "LICENCE_EXPIRED"
    LICENCE_NOT_AS_REGISTERED = "LICENCE_NOT_AS_REGISTERED"  # signed fields differ from the registry's record
    SEAL_NOT_VALID = "SEAL_NOT_VALID"


TOTAL_FAILED_SUB_INDICATIONS = frozenset(
    {
        SubIndication.FORMAT_FAILURE,
        SubIndication.HASH_FAILURE,
        SubIndication.SIG_CRYPTO_FAILURE,
        SubIndication.REVOKED,
        SubIndication.EXPIRED,
        SubIndication.NOT_YET_VALID,
        # Tongban's: the issuing registry or seal platform said no; a later check will not change that.
        SubIndication.LICENCE_CANCELLED,
        SubIndication.LICENCE_REVOKED,
        SubIndication.LICENCE_SUSPENDED,
        SubIndication.LICENCE_EXPIRED,
        SubIndication.LICENCE_NOT_AS_REGISTERED,
        SubIndication.SEAL_NOT_VALID,
    }
)


class SignatureFailure(TrustError):
    """An examiner's or the engine's verdict that ends validation: the indication follows from the
    sub-indication (TOTAL_FAILED for the six of EN 319 102-1 table 5, INDETERMINATE otherwise)."""

    def __init__(self, sub_indication: SubIndication, message: str) -> None:
        super().__init__(message)
        self.sub_indication = sub_indication

    @property
    def indication(self) -> Indication:
        if self.sub_indication in TOTAL_FAILED_SUB_INDICATIONS:
            return Indication.TOTAL_FAILED
        return Indication.INDETERMINATE


@dataclass(frozen=True)
class SignatureEvidence:
    """What an examiner proved about one signature: the cryptography holds over `signed_content`.
    Everything about trust (chain, time, revocation) is left to the engine."""

    format: str  # "JAdES/JWS", "XML-DSig", "PAdES", "SES v4 (GB/T 38540)", "SES v1 (GM/T 0031)"
    signature_algorithm: str  # "ES256", "Ed25519", "SM2-with-SM3", "RSA-SHA256", ...
    signer_certificate: bytes  # DER
    certificates: tuple[bytes, ...] = ()  # DER, others the document carried (intermediates)
    claimed_signing_time: datetime | None = None  # what the document says (not proof of existence)
    signed_content: bytes = b""  # the signed payload: licence JSON/XML, or the sealed data
    content_type: str = "application/octet-stream"
    seal: SealSummary | None = None  # set by the SES examiner
    details: dict[str, Any] = field(default_factory=dict)  # format-specific facts worth reporting


@dataclass(frozen=True)
class SealSummary:
    """An e-seal (SES_Seal / SESeal) as the SES examiner found it; its maker's signature held."""

    seal_id: str  # esID
    name: str
    seal_type: int
    valid_from: datetime
    valid_until: datetime
    maker_certificate: bytes  # DER of the seal maker (制章者) certificate
    signer_certificates: tuple[bytes, ...]  # the certs the seal is bound to (cert list)
    version: int  # 4 for GB/T 38540, 1 for GM/T 0031


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    serial_number: str  # hex
    sha256: str  # hex of the DER
    not_before: datetime
    not_after: datetime
    public_key_algorithm: str  # "EC P-256", "Ed25519", "SM2", "RSA-2048"


@dataclass(frozen=True)
class ChainElement:
    certificate: CertificateSummary
    revocation: str  # "good", "revoked", "unknown", "not_checked" (trust anchor)
    revoked_at: datetime | None = None
    revocation_source: str | None = None  # CRL URL, or "trust list"
    origin: str | None = None  # where the certificate came from: "signature", or "trust list 440300 #7"


@dataclass(frozen=True)
class TrustAnchorSummary:
    trust_list_city: str  # GB/T 2260 of the list's operator
    trust_list_sequence: int
    service_name: str
    service_type: str  # e.g. "licence-issuer", "seal-platform"
    status_at_signing_time: str  # "granted" / "withdrawn" / "not_listed" (not yet on the list then)
    status_since: datetime
    party_id: str | None = None  # <city>.<org>.<system> of the service


@dataclass
class ValidationReport:
    """One signature's validation, as DSS would report it, plus the registry's word."""

    indication: Indication
    sub_indication: SubIndication | None
    validation_time: datetime
    format: str | None = None
    signature_algorithm: str | None = None
    signing_time: datetime | None = None
    signer: CertificateSummary | None = None
    chain: list[ChainElement] = field(default_factory=list)
    trust_anchor: TrustAnchorSummary | None = None
    registry_status: str | None = None  # "valid", "cancelled", ... as the issuing registry says
    registry_checked_at: datetime | None = None
    status_list_status: str | None = None  # "valid", "revoked", "suspended": the issuer's W3C status list
    seal: SealSummary | None = None
    seal_maker_chain: list[ChainElement] = field(default_factory=list)  # SES: the seal maker's (制章者) chain
    seal_maker_anchor: TrustAnchorSummary | None = None
    messages: list[str] = field(default_factory=list)  # why, in order; the first failure first
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    def fail(self, failure: SignatureFailure) -> ValidationReport:
        """Record a failure that ends validation (the first one wins)."""
        if self.indication is Indication.TOTAL_PASSED:
            self.indication = failure.indication
            self.sub_indication = failure.sub_indication
        self.messages.append(str(failure))
        return self

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, with DSS's names; datetimes as RFC 3339, certificates summarised."""
        from dataclasses import asdict

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, bytes):
                import base64

                return base64.b64encode(value).decode("ascii")
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(item) for item in value]
            return value

        return plain(asdict(self))
