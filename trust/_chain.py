"""Certificate paths from a signer to a service on a city's trust list, checked as of the signing time.

Path building (RFC 4158 in miniature): from the signer certificate, issuers are sought by name (and by
key identifier where both certificates carry one) among the certificates the document carried and all
certificates on the trust lists in scope; each link must verify (SM2-with-SM3 through trust._sm2_x509,
everything else through cryptography) and the issuer must be a CA (basicConstraints cA, keyCertSign
where keyUsage is present). Paths go up as far as they can; a path counts once some certificate on it
is listed by a trust service (the very DER the list holds). The best candidate is taken: an
acceptable service type granted at the signing time, then the listed certificate nearest the signer.

Sub-indications follow ETSI EN 319 102-1:

- no listed certificate on any path: INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND; when the only paths
  broke on a link that did not verify or on an issuer that is no CA: CERTIFICATE_CHAIN_GENERAL_FAILURE;
- the service was withdrawn (or not yet listed) at the signing time: NO_CERTIFICATE_CHAIN_FOUND, saying
  since when; withdrawn only after the signing time: passes, with a warning;
- a service of a type not acceptable for the purpose: CHAIN_CONSTRAINTS_FAILURE, as is a signer whose
  keyUsage allows neither digitalSignature nor nonRepudiation;
- any certificate of the path outside its validity at the signing time: TOTAL_FAILED/EXPIRED or
  TOTAL_FAILED/NOT_YET_VALID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from trust._errors import InvalidCertificate, InvalidSignature, UnsupportedKey
from trust._report import CertificateSummary, SignatureFailure, SubIndication
from trust._sm2 import SM2_CURVE_OID, SM2_WITH_SM3_OID
from trust._sm2_x509 import verify_issued_by as sm2_verify_issued_by
from trust._trustlist import ServiceStatus, TrustList, TrustService

# Used by trust._validation; nothing here is trust's public API (verify_issued_by would clash with
# trust._sm2_x509's, which takes DER).
__all__: list[str] = []

MAX_PATH_LENGTH = 8
MAX_PATHS = 32


def load_certificate(der: bytes) -> x509.Certificate:
    """Parse a DER certificate (any key type, SM2 included); raises InvalidCertificate."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise InvalidCertificate("not a DER X.509 certificate") from exc


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@lru_cache(maxsize=4096)
def _raw_spki_of(der: bytes) -> bytes:
    # asn1crypto, not cryptography: cryptography cannot load SM2 keys, but the DER names them all the same
    parsed = asn1_x509.Certificate.load(der)
    return bytes(parsed["tbs_certificate"]["subject_public_key_info"].dump())


def _raw_spki(certificate: x509.Certificate) -> bytes:
    return _raw_spki_of(_der(certificate))


@lru_cache(maxsize=4096)
def _load_cached(der: bytes) -> x509.Certificate:
    return load_certificate(der)


def verify_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    """Check that `issuer`'s key signed `certificate` and the names chain; raises InvalidSignature."""
    if certificate.issuer != issuer.subject:
        raise InvalidSignature("the issuer name does not match")
    if certificate.signature_algorithm_oid.dotted_string == SM2_WITH_SM3_OID:
        try:
            sm2_verify_issued_by(_der(certificate), _der(issuer))
        except (InvalidCertificate, UnsupportedKey) as exc:
            raise InvalidSignature("the issuer holds no SM2 key to check an SM2 signature with") from exc
        return
    try:
        certificate.verify_directly_issued_by(issuer)
    except (CryptographyInvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise InvalidSignature("the certificate signature does not verify with the issuer's key") from exc


def public_key_algorithm(certificate: x509.Certificate) -> str:
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        info = asn1_keys.PublicKeyInfo.load(_raw_spki(certificate))
        if info["algorithm"]["algorithm"].native == "ec":
            curve = info["algorithm"]["parameters"].chosen
            if isinstance(curve, asn1_core.ObjectIdentifier) and curve.dotted == SM2_CURVE_OID:
                return "SM2"
        return str(info["algorithm"]["algorithm"].native)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC P-256", "secp384r1": "EC P-384", "secp521r1": "EC P-521"}.get(
            key.curve.name, f"EC {key.curve.name}"
        )
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA-{key.key_size}"
    return type(key).__name__


def summarise_certificate(certificate: x509.Certificate) -> CertificateSummary:
    return CertificateSummary(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial_number=format(certificate.serial_number, "x"),
        sha256=hashlib.sha256(_der(certificate)).hexdigest(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        public_key_algorithm=public_key_algorithm(certificate),
    )


def _describe(certificate: x509.Certificate) -> str:
    return f"{certificate.subject.rfc4514_string()} (serial {certificate.serial_number:x})"


@dataclass(frozen=True)
class ListedCertificate:
    """A certificate as a trust service on some city's list names it."""

    certificate: x509.Certificate
    service: TrustService
    trust_list: TrustList


def listed_certificates(trust_lists: Iterable[TrustList]) -> tuple[ListedCertificate, ...]:
    found = []
    for trust_list in trust_lists:
        for service in trust_list.services:
            for der in service.certificates:
                found.append(ListedCertificate(_load_cached(der), service, trust_list))
    return tuple(found)


@dataclass(frozen=True)
class PathSearch:
    """Every maximal path found from the signer up, and why links were refused on the way."""

    paths: tuple[tuple[x509.Certificate, ...], ...]  # signer first
    link_failures: tuple[str, ...]
    carried: frozenset[bytes]  # DER of the certificates the document carried (the signer's included)


def _key_identifiers_differ(certificate: x509.Certificate, candidate: x509.Certificate) -> bool:
    try:
        authority = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        subject = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return False
    return authority.key_identifier is not None and authority.key_identifier != subject.digest


def _issuer_refusal(issuer: x509.Certificate) -> str | None:
    """Why `issuer` may not issue certificates, or None (RFC 5280 6.1.4 k and n)."""
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return f"{_describe(issuer)} is not a CA (no basicConstraints)"
    if not constraints.ca:
        return f"{_describe(issuer)} is not a CA (basicConstraints cA is false)"
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not usage.key_cert_sign:
        return f"{_describe(issuer)} may not sign certificates (keyUsage lacks keyCertSign)"
    return None


def build_paths(
    signer: x509.Certificate, carried: Sequence[x509.Certificate], listed: Sequence[ListedCertificate]
) -> PathSearch:
    """All maximal paths from the signer through the carried and listed certificates."""
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    seen: set[bytes] = set()
    for certificate in [*carried, *(entry.certificate for entry in listed)]:
        der = _der(certificate)
        if der not in seen:
            seen.add(der)
            by_subject.setdefault(certificate.subject.public_bytes(), []).append(certificate)
    paths: list[tuple[x509.Certificate, ...]] = []
    failures: list[str] = []

    def extend(path: tuple[x509.Certificate, ...]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        current = path[-1]
        extended = False
        if current.issuer != current.subject and len(path) < MAX_PATH_LENGTH:
            on_path = {_der(certificate) for certificate in path}
            for candidate in by_subject.get(current.issuer.public_bytes(), []):
                if _der(candidate) in on_path or _key_identifiers_differ(current, candidate):
                    continue
                refusal = _issuer_refusal(candidate)
                if refusal is None:
                    try:
                        verify_issued_by(current, candidate)
                    except InvalidSignature:
                        refusal = (
                            f"the signature on {_describe(current)} does not verify with {_describe(candidate)}'s key"
                        )
                if refusal is not None:
                    failures.append(refusal)
                    continue
                extended = True
                extend((*path, candidate))
        if not extended:
            paths.append(path)

    extend((signer,))
    return PathSearch(tuple(paths), tuple(dict.fromkeys(failures)), frozenset({_der(signer), *map(_der, carried)}))


@dataclass(frozen=True)
class CertificatePath:
    """The chosen path: signer first; `anchor_index` is where the chosen trust service lists it."""

    certificates: tuple[x509.Certificate, ...]
    anchor_index: int
    listed: ListedCertificate

    @property
    def signer(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def service(self) -> TrustService:
        return self.listed.service

    @property
    def trust_list(self) -> TrustList:
        return self.listed.trust_list

    def status_at(self, when: datetime) -> ServiceStatus | None:
        return self.service.status_at(when)


def _listed_index(listed: Sequence[ListedCertificate]) -> dict[bytes, list[ListedCertificate]]:
    # By the exact DER: a certificate with the listed subject and key but other contents (a validity
    # stretched, a keyUsage widened) is not the one the operator vouched for.
    index: dict[bytes, list[ListedCertificate]] = {}
    for entry in listed:
        index.setdefault(_der(entry.certificate), []).append(entry)
    return index


def select_path(
    search: PathSearch,
    listed: Sequence[ListedCertificate],
    *,
    accepted_service_types: frozenset[str],
    signing_time: datetime,
    validation_time: datetime,
) -> CertificatePath:
    """The best path to a listed service; raises SignatureFailure when no path reaches one.

    Best: an accepted service type granted at the signing time, then a list current at the validation
    time, then the listed certificate nearest the signer, then the shortest path. Whether the chosen
    service is acceptable is check_service's question.
    """
    index = _listed_index(listed)
    candidates: list[tuple[tuple[int, int, int, int], CertificatePath]] = []
    for certificates in search.paths:
        for position, certificate in enumerate(certificates):
            for entry in index.get(_der(certificate), []):
                status = entry.service.status_at(signing_time)
                granted = status is not None and status.status == "granted"
                acceptable = entry.service.service_type in accepted_service_types
                rank = 0 if acceptable and granted else 1 if acceptable else 2
                stale = 0 if entry.trust_list.is_current_at(validation_time) else 1
                path = CertificatePath(certificates, position, entry)
                candidates.append(((rank, stale, position, len(certificates)), path))
    if candidates:
        return min(candidates, key=lambda item: item[0])[1]
    if search.link_failures:
        raise SignatureFailure(
            SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
            "no valid path to a trust-listed service: " + "; ".join(search.link_failures),
        )
    raise SignatureFailure(
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        f"no path from {_describe(search.paths[0][0])} to a service on a trust list in scope",
    )


def check_service(
    path: CertificatePath, *, accepted_service_types: frozenset[str], signing_time: datetime
) -> list[str]:
    """The chosen service must be of an accepted type and granted at the signing time; returns warnings."""
    service, city = path.service, path.trust_list.city
    status = service.status_at(signing_time)
    if status is None:
        raise SignatureFailure(
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
            f"{service.name} ({service.party_id}) was not yet on city {city}'s trust list at the signing time "
            f"{signing_time.isoformat()}; listed since {service.history[0].since.isoformat()}",
        )
    if status.status != "granted":
        raise SignatureFailure(
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
            f"{service.name} ({service.party_id}) was withdrawn from city {city}'s trust list since "
            f"{status.since.isoformat()}, before the signing time {signing_time.isoformat()}",
        )
    if service.service_type not in accepted_service_types:
        raise SignatureFailure(
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            f"the chain leads to {service.name} ({service.party_id}), a {service.service_type} service; "
            f"acceptable here: {', '.join(sorted(accepted_service_types))}",
        )
    warnings = []
    current = service.current_status
    if current.status != "granted":
        warnings.append(
            f"{service.name} ({service.party_id}) has been withdrawn from city {city}'s trust list since "
            f"{current.since.isoformat()}, after the signing time {signing_time.isoformat()}; the signature stands "
            "only as far as that signing time can be believed"
        )
    return warnings


def check_validity(path: CertificatePath, at: datetime) -> None:
    """Every certificate of the path must be within its validity at `at` (the signing time)."""
    for position, certificate in enumerate(path.certificates):
        role = "the signer certificate" if position == 0 else f"CA certificate {_describe(certificate)}"
        if at > certificate.not_valid_after_utc:
            raise SignatureFailure(
                SubIndication.EXPIRED,
                f"{role} expired at {certificate.not_valid_after_utc.isoformat()}, before the signing time "
                f"{at.isoformat()}",
            )
        if at < certificate.not_valid_before_utc:
            raise SignatureFailure(
                SubIndication.NOT_YET_VALID,
                f"{role} is valid only from {certificate.not_valid_before_utc.isoformat()}, after the signing time "
                f"{at.isoformat()}",
            )


def check_signer_key_usage(signer: x509.Certificate) -> None:
    """Where keyUsage is present, it must allow digitalSignature or nonRepudiation."""
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SignatureFailure(
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            f"the signer certificate {_describe(signer)} may not sign (keyUsage has neither digitalSignature "
            "nor nonRepudiation)",
        )
