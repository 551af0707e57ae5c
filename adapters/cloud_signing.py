"""Cloud signature services (云签名 / 协同签名): what a city's service answers, as the adapters hand it over,
and the desk that plays that service in the city's sandbox.

A resident's signing key never leaves the city's service: the client fetches the resident's certificate,
hashes the data itself (e = SM3(Z || data), Z from the certificate's key and the signer id
1234567812345678) and sends only the hash; the resident authorises the signature (in the real systems
through the service's app), the service signs the hash with that person's SM2 key and answers the
signature with the person's certificate, issued by the city's SM2 CA (subject CN=name,
SERIALNUMBER=GB 11643 id number). The sandbox's desk makes a resident's key and certificate on first use
and keeps them (under the sandbox's pki directory when it has one, in memory otherwise).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

import trust

__all__ = ["CLOUD_SIGNATURE_ALGORITHM", "CloudSignature", "CloudSigningDesk", "NotAResident", "digest_to_sign"]

CLOUD_SIGNATURE_ALGORITHM: Final = "SM2-with-SM3"
"""GM/T 0003 over SM3(Z || data), Z with the default signer id 1234567812345678."""
CERTIFICATE_LIFETIME: Final = timedelta(days=730)
ISSUING_ROLE: Final = "issuing-sm2"  # the demo PKI's CA that certifies the residents' signing keys


@dataclass(frozen=True)
class CloudSignature:
    """A signature a city's cloud signature service made for one of its residents."""

    signature: bytes  # DER SM2Signature
    certificate: bytes  # DER, the resident's
    chain: tuple[bytes, ...]  # DER, the issuing CA upwards
    algorithm: str = CLOUD_SIGNATURE_ALGORITHM


def digest_to_sign(certificate: bytes, data: bytes) -> bytes:
    """What a client sends the service to sign: e = SM3(Z || data), Z of the certificate's SM2 key with
    the default signer id (GM/T 0009). The signature then verifies over `data` itself."""
    return trust.sm3(trust.sm2_public_key_of_certificate(certificate).z(trust.SM2_SIGNER_ID) + data)


class NotAResident(LookupError):
    """The service signs only for the residents its city knows."""


class CloudSigningDesk:
    """The cloud signature service of one sandbox city: its residents' keys, certified by its SM2 CA."""

    def __init__(
        self,
        pki: trust.DemoPki,
        city: str,
        residents: Mapping[str, str],
        *,
        keys_dir: Path | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._pki = pki
        self._city = city
        self._residents = dict(residents)  # id number -> name
        self._keys_dir = keys_dir
        self._now = now or (lambda: datetime.now(UTC))
        self._held: dict[str, tuple[trust.Sm2PrivateKey, bytes]] = {}
        self._lock = threading.Lock()

    @property
    def city(self) -> str:
        return self._city

    def certificate(self, id_number: str) -> tuple[bytes, tuple[bytes, ...]]:
        """The resident's certificate (DER) and its chain, the issuing CA upwards; NotAResident."""
        _key, certificate = self._key_of(id_number)
        return certificate, self._chain()

    def sign_digest(self, id_number: str, digest: bytes) -> CloudSignature:
        """The resident's SM2 signature over e = SM3(Z || data), which the client computed with Z of the
        resident's key (from the certificate) and the default signer id: the data never reaches the
        service. NotAResident for anyone the city does not know; ValueError for a digest not of 32 bytes."""
        key, certificate = self._key_of(id_number)
        return CloudSignature(trust.sm2_sign_digest(key, digest), certificate, self._chain())

    def _chain(self) -> tuple[bytes, ...]:
        issuer = self._pki.identity(self._city, ISSUING_ROLE)
        return (issuer.der, *self._pki.chain(self._city, ISSUING_ROLE))

    def _key_of(self, id_number: str) -> tuple[trust.Sm2PrivateKey, bytes]:
        name = self._residents.get(id_number)
        if name is None:
            raise NotAResident(f"{id_number} is not a resident of {self._city}")
        with self._lock:
            held = self._held.get(id_number)
            if held is None:
                held = self._load(id_number) or self._issue(id_number, name)
                self._held[id_number] = held
            return held

    def _paths(self, id_number: str) -> tuple[Path, Path] | None:
        if self._keys_dir is None:
            return None
        return self._keys_dir / f"{id_number}.key", self._keys_dir / f"{id_number}.crt"

    def _load(self, id_number: str) -> tuple[trust.Sm2PrivateKey, bytes] | None:
        paths = self._paths(id_number)
        if paths is None or not (paths[0].is_file() and paths[1].is_file()):
            return None
        certificate = x509.load_pem_x509_certificate(paths[1].read_bytes())
        if certificate.not_valid_after_utc <= self._now():
            return None  # expired: a new key and certificate
        der = certificate.public_bytes(serialization.Encoding.DER)
        return trust.Sm2PrivateKey.from_pem(paths[0].read_bytes()), der

    def _issue(self, id_number: str, name: str) -> tuple[trust.Sm2PrivateKey, bytes]:
        key = trust.Sm2PrivateKey.generate()
        issuer = self._pki.identity(self._city, ISSUING_ROLE)
        now = self._now().astimezone(UTC).replace(microsecond=0)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, id_number),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        certificate = trust.issue_certificate(
            subject,
            key,
            (issuer.certificate, issuer.key),
            not_before=now - timedelta(days=1),
            not_after=now + CERTIFICATE_LIFETIME,
            crl_url=self._pki.crl_urls.get((self._city, ISSUING_ROLE)),
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        paths = self._paths(id_number)
        if paths is not None:
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            _write_private(paths[0], key.to_pem())
            paths[1].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key, der


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
