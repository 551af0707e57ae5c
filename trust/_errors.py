"""Errors of the trust layer; the gateway maps each to its own coded error at one boundary."""

from __future__ import annotations

__all__ = [
    "DigestMismatch",
    "InvalidCertificate",
    "InvalidSignature",
    "KeyringError",
    "SignatureMissing",
    "SignatureOutOfTime",
    "Sm2BackendUnavailable",
    "TrustError",
    "UnsupportedKey",
]


class TrustError(Exception):
    """Root of the trust layer's errors."""


class UnsupportedKey(TrustError):
    """A key of a type or size we do not accept."""


class InvalidCertificate(TrustError):
    """A certificate that cannot be parsed or used."""


class SignatureMissing(TrustError):
    """No signature where one is required."""


class InvalidSignature(TrustError):
    """A signature that does not verify, or covers too little. Deliberately unspecific."""


class SignatureOutOfTime(TrustError):
    """A signature created too long ago or in the future."""


class DigestMismatch(TrustError):
    """A body that does not match its Content-Digest."""


class KeyringError(TrustError):
    """The gateway's key store is missing, unreadable or inconsistent."""


class Sm2BackendUnavailable(RuntimeError):
    """The SM2 backend asked for cannot be used here (no OpenSSL 3 with SM2, a failed self-check).

    Not a TrustError: it says nothing about a document, only about this machine's set-up."""
