"""Trust: keys, certificates, signatures and (later) trust lists, seals and validation reports."""

from __future__ import annotations

from trust._certificates import MemberCertificate, load_member_certificate, self_signed_certificate
from trust._errors import (
    DigestMismatch,
    InvalidCertificate,
    InvalidSignature,
    KeyringError,
    SignatureMissing,
    SignatureOutOfTime,
    TrustError,
    UnsupportedKey,
)
from trust._httpsig import (
    RequestView,
    ResponseView,
    VerifiedSignature,
    content_digest,
    sign_message,
    signature_parameters,
    verify_content_digest,
    verify_message,
)
from trust._jwk import KeyKind, b64url, b64url_decode, key_kind, public_jwk, thumbprint
from trust._keyring import GatewayKey, Keyring, SigningAlgorithm
from trust._wssecurity import (
    InvalidSoapSignature,
    MissingSecurityHeader,
    StaleTimestamp,
    UnsupportedAlgorithm,
    VerifiedSoapSignature,
    WsSecurityError,
    sign_envelope,
    verify_envelope,
)
from trust._xml import XmlRejected, parse_xml

__all__ = [
    "DigestMismatch",
    "GatewayKey",
    "InvalidCertificate",
    "InvalidSignature",
    "InvalidSoapSignature",
    "KeyKind",
    "Keyring",
    "KeyringError",
    "MemberCertificate",
    "MissingSecurityHeader",
    "RequestView",
    "ResponseView",
    "SignatureMissing",
    "SignatureOutOfTime",
    "SigningAlgorithm",
    "StaleTimestamp",
    "TrustError",
    "UnsupportedAlgorithm",
    "UnsupportedKey",
    "VerifiedSignature",
    "VerifiedSoapSignature",
    "WsSecurityError",
    "XmlRejected",
    "b64url",
    "b64url_decode",
    "content_digest",
    "key_kind",
    "load_member_certificate",
    "parse_xml",
    "public_jwk",
    "self_signed_certificate",
    "sign_envelope",
    "sign_message",
    "signature_parameters",
    "thumbprint",
    "verify_content_digest",
    "verify_envelope",
    "verify_message",
]
