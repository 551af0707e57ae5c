"""Member certificates: parse a PEM certificate and describe the key it carries."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trust._errors import InvalidCertificate, UnsupportedKey
from trust._jwk import KeyKind, PublicKey, key_kind, thumbprint

__all__ = ["MemberCertificate", "load_member_certificate"]


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


def load_member_certificate(pem: bytes | str) -> MemberCertificate:
    """Parse one PEM X.509 certificate; raises InvalidCertificate or UnsupportedKey."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise InvalidCertificate("not a PEM X.509 certificate") from exc
    public_key = certificate.public_key()
    kind = key_kind(public_key)  # raises UnsupportedKey
    if not isinstance(public_key, PublicKey):  # pragma: no cover - key_kind already refused others
        raise UnsupportedKey(type(public_key).__name__)
    return MemberCertificate(certificate, public_key, kind, thumbprint(public_key))
