"""Member certificates: parse a PEM or DER certificate, describe the key it carries, match it to a private key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from trust._errors import InvalidCertificate, UnsupportedKey
from trust._jwk import KeyKind, PublicKey, key_kind, thumbprint
from trust._report import SignatureFailure, SubIndication

__all__ = ["MemberCertificate", "load_member_certificate", "self_signed_certificate"]


@dataclass(frozen=True)
class MemberCertificate:
    """A parsed certificate with the algorithms its key may be used with."""

    certificate: x509.Certificate
    public_key: PublicKey
    kind: KeyKind
    key_thumbprint: str

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(Encoding.PEM).decode("ascii")

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


# What cryptography raises for a certificate it cannot parse: InvalidVersion is not a ValueError.
_PARSE_ERRORS = (ValueError, x509.InvalidVersion)


def load_der_certificate(der: bytes) -> x509.Certificate:
    """Parse a DER certificate (any key type, SM2 included); raises InvalidCertificate."""
    try:
        return x509.load_der_x509_certificate(der)
    except _PARSE_ERRORS as exc:
        raise InvalidCertificate("not a DER X.509 certificate") from exc


def load_member_certificate(pem: bytes | str) -> MemberCertificate:
    """Parse one PEM X.509 certificate; raises InvalidCertificate or UnsupportedKey."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except _PARSE_ERRORS as exc:
        raise InvalidCertificate("not a PEM X.509 certificate") from exc
    public_key = certificate.public_key()
    kind = key_kind(public_key)  # raises UnsupportedKey
    if not isinstance(public_key, PublicKey):  # pragma: no cover - key_kind already refused others
        raise UnsupportedKey(type(public_key).__name__)
    return MemberCertificate(certificate, public_key, kind, thumbprint(public_key))


def _spki(key: Any) -> bytes:
    return bytes(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def require_certificate_of(
    certificate: bytes | x509.Certificate, private_key: Any, *, what: str = "the first certificate of the chain"
) -> x509.Certificate:
    """The certificate (DER or parsed), once it is `private_key`'s; ValueError otherwise (a signer's own mistake)."""
    if isinstance(certificate, bytes):
        try:
            certificate = load_der_certificate(certificate)
        except InvalidCertificate as exc:
            raise ValueError(f"{what} is not a DER X.509 certificate") from exc
    if _spki(certificate.public_key()) != _spki(private_key.public_key()):
        raise ValueError(f"{what} is not the private key's")
    return certificate


def signer_public_key(certificate: x509.Certificate) -> Any:
    """The key of a signer's certificate; SignatureFailure when cryptography cannot load it."""
    try:
        return certificate.public_key()
    except UnsupportedAlgorithm as exc:
        raise SignatureFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "the signer's key is of a kind not accepted"
        ) from exc
    except ValueError as exc:
        raise SignatureFailure(SubIndication.FORMAT_FAILURE, "the signer's certificate holds a malformed key") from exc


def self_signed_certificate(private_key: Any, common_name: str, *, now: datetime, days: int = 825) -> x509.Certificate:
    """A self-signed certificate for one of the gateway's own keys (its WS-Security identity).

    Partners pin it, or the key, through the JWKS (x5c); no CA is involved.
    """
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    )
    digest = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, digest)
    )
