"""A member's SOAP client for the gateway, with zeep: WS-Security on requests, the gateway's
signature checked on answers. Used by `tongban demo`; partners can copy it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import xmlsec
from zeep import Client, Settings
from zeep.wsse.compose import Compose
from zeep.wsse.signature import BinarySignature, verify_envelope
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

__all__ = ["GatewaySigned", "SignRequests", "Timestamp", "gateway_soap_client"]


class Timestamp:
    """wsu:Timestamp in the Security header (zeep adds none), so that the signature covers it."""

    def __init__(self, lifetime: int = 300, created: datetime | None = None) -> None:
        self.lifetime, self.created = lifetime, created  # `created`: fixed, for tests of stale stamps

    def apply(self, envelope: Any, headers: Any) -> Any:
        created = self.created or datetime.now(UTC)
        get_security_header(envelope).append(
            WSU.Timestamp(
                WSU.Created(get_timestamp(created, zulu_timestamp=True)),
                WSU.Expires(get_timestamp(created + timedelta(seconds=self.lifetime), zulu_timestamp=True)),
            )
        )
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        return envelope


class SignRequests(BinarySignature):
    """zeep's BinarySignature, signing only: its verify() would check answers with our own certificate."""

    def verify(self, envelope: Any) -> Any:
        return envelope


class GatewaySigned:
    """Check every answer's WS-Security signature with the gateway's certificate (JWKS x5c)."""

    def __init__(self, certificate_file: Path) -> None:
        self.certificate_file = certificate_file

    def apply(self, envelope: Any, headers: Any) -> Any:
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        verify_envelope(envelope, str(self.certificate_file))
        return envelope


def gateway_soap_client(
    gateway_url: str, *, key_file: Path, certificate_file: Path, gateway_certificate_file: Path, ecdsa: bool = False
) -> Any:
    """A zeep client for the gateway's WSDL; `.service.<Operation>(...)` calls it."""
    transform: Any = xmlsec.Transform  # type: ignore[attr-defined]  # xmlsec's stubs omit its constants
    method = transform.ECDSA_SHA256 if ecdsa else transform.RSA_SHA256
    signer = SignRequests(str(key_file), str(certificate_file), signature_method=method, digest_method=transform.SHA256)
    wsse = Compose([Timestamp(), signer, GatewaySigned(gateway_certificate_file)])
    settings = Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return Client(f"{gateway_url.rstrip('/')}/soap?wsdl", wsse=wsse, settings=settings)
