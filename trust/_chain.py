"""Certificate paths from a signer to a service on a city's trust list, checked as of the signing time.

Path building (RFC 4158 in miniature): from the signer certificate, issuers are sought by name (and by
key identifier where both certificates carry one) among the certificates the document carried and all
certificates on the trust lists in scope; each link must verify (SM2-with-SM3 through trust._sm2_x509,
everything else through cryptography) and the issuer must be a CA (basicConstraints cA, keyCertSign
where keyUsage is present) holding an acceptable key (RSA: exponent 65537, 2048 to 4096 bits), which
is checked before any signature is. A path ends at the first certificate a trust service lists (the
very DER the list holds): that is its trust anchor, and nothing the document carries above it is even
looked at, so it can never change the outcome. The best candidate is taken: an acceptable service type
granted at the signing time, then a list current at the validation time, then the anchor nearest the
signer, then (the same certificate on several cities' lists) the preferred city's list.

Path building is bounded: MAX_PATH_LENGTH, MAX_PATHS, and MAX_SIGNATURE_CHECKS signature checks, after
which it gives up (CERTIFICATE_CHAIN_GENERAL_FAILURE) rather than let crafted certificates hold the
event loop.

Sub-indications follow ETSI EN 319 102-1:

- no listed certificate on any path: INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND; when the only paths
  broke on a link that did not verify or on an issuer that is no CA: CERTIFICATE_CHAIN_GENERAL_FAILURE;
- the service was withdrawn (or not yet listed) at the signing time: NO_CERTIFICATE_CHAIN_FOUND, saying
  since when; withdrawn only after the signing time: passes, with a warning;
- a service of a type not acceptable for the purpose: CHAIN_CONSTRAINTS_FAILURE, as is a signer whose
  keyUsage allows neither digitalSignature nor nonRepudiation, a CA whose pathLenConstraint the path
  exceeds, and a certificate with a critical extension this engine does not process;
- any certificate of the path outside its validity at the signing time: TOTAL_FAILED/EXPIRED or
  TOTAL_FAILED/NOT_YET_VALID.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
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
from cryptography.x509.oid import ExtensionOID

from trust._certificates import load_der_certificate
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
# A real path needs a handful of checks; crafted certificates sharing one name could ask for thousands.
MAX_SIGNATURE_CHECKS = 64
RSA_PUBLIC_EXPONENT = 65537
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 4096
# Critical extensions the engine acts on (or that only name the subject); any other critical one is refused
# (RFC 5280 4.2): name constraints, policies, a critical extendedKeyUsage would all go unenforced here.
PROCESSED_CRITICAL_EXTENSIONS = frozenset(
    {
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    }
)


@lru_cache(maxsize=4096)
def _der(certificate: x509.Certificate) -> bytes:
    # By the certificate object, which hashes and compares by its DER: the same CA certificates are
    # asked for their DER hundreds of times per validation.
    return certificate.public_bytes(Encoding.DER)


@lru_cache(maxsize=4096)
def _raw_spki_of(der: bytes) -> bytes:
    # asn1crypto, not cryptography: cryptography cannot load SM2 keys, but the DER names them all the same
    parsed = asn1_x509.Certificate.load(der)
    return bytes(parsed["tbs_certificate"]["subject_public_key_info"].dump())


def certificate_der(certificate: x509.Certificate) -> bytes:
    """The certificate's DER (remembered per certificate)."""
    return _der(certificate)


def _raw_spki(certificate: x509.Certificate) -> bytes:
    return _raw_spki_of(_der(certificate))


@lru_cache(maxsize=4096)
def _load_cached(der: bytes) -> x509.Certificate:
    return load_der_certificate(der)


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


@lru_cache(maxsize=4096)
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
    """Every certificate the lists hold. The same tuple comes back while the very same list objects are
    given (TrustLists replaces a city's list object whenever it accepts a list), so that what is worked out
    per set of lists (the issuer index, path searches: _Listed) is kept exactly as long as those lists."""
    held = tuple(trust_lists)
    key = tuple(id(trust_list) for trust_list in held)
    with _LISTED_LOCK:
        cached = _LISTED.get(key)
        # The cache holds the list objects themselves, so their ids cannot be reused while it does.
        if cached is not None and all(a is b for a, b in zip(cached[0], held, strict=True)):
            return cached[1]
    found = []
    for trust_list in held:
        for service in trust_list.services:
            for der in service.certificates:
                found.append(ListedCertificate(_load_cached(der), service, trust_list))
    result = tuple(found)
    with _LISTED_LOCK:
        _LISTED[key] = (held, result)
        while len(_LISTED) > _LISTED_SETS:
            del _LISTED[next(iter(_LISTED))]
    return result


_LISTED_SETS = 8  # sets of lists remembered: each city's scope and the whole, across a refresh or two
_LISTED: dict[tuple[int, ...], tuple[tuple[TrustList, ...], tuple[ListedCertificate, ...]]] = {}
_LISTED_LOCK = threading.Lock()


@dataclass(frozen=True)
class PathSearch:
    """Every path found from the signer up to its first listed certificate or a dead end, and why links were
    refused on the way."""

    paths: tuple[tuple[x509.Certificate, ...], ...]  # signer first
    link_failures: tuple[str, ...]
    carried: frozenset[bytes]  # DER of the certificates the document carried (the signer's included)
    signature_checks: int = 0  # link signatures verified (each pair once)
    gave_up: bool = False  # the signature-check budget ran out before the search was done


def _key_identifiers_differ(certificate: x509.Certificate, candidate: x509.Certificate) -> bool:
    try:
        authority = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        subject = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except (x509.ExtensionNotFound, ValueError):  # a malformed extension is _issuer_refusal's to report
        return False
    return authority.key_identifier is not None and authority.key_identifier != subject.digest


def _key_refusal(issuer: x509.Certificate) -> str | None:
    """Why `issuer`'s key may not be used to check signatures, or None. Read from the DER with asn1crypto so
    that nothing is computed with the key first: a huge RSA exponent makes every check slow."""
    try:
        info = asn1_keys.PublicKeyInfo.load(_raw_spki(issuer))
        if info["algorithm"]["algorithm"].native not in ("rsa", "rsassa_pss"):
            return None
        numbers = info["public_key"].parsed
        modulus, exponent = int(numbers["modulus"].native), int(numbers["public_exponent"].native)
    except (ValueError, TypeError, KeyError):
        return f"{_describe(issuer)} holds a public key that does not parse"
    if exponent != RSA_PUBLIC_EXPONENT:
        return f"{_describe(issuer)} holds an RSA key whose public exponent is not {RSA_PUBLIC_EXPONENT}"
    if not RSA_MIN_BITS <= modulus.bit_length() <= RSA_MAX_BITS:
        return (
            f"{_describe(issuer)} holds an RSA key of {modulus.bit_length()} bits; "
            f"{RSA_MIN_BITS} to {RSA_MAX_BITS} are accepted"
        )
    return None


def _issuer_refusal(issuer: x509.Certificate) -> str | None:
    """Why `issuer` may not issue certificates, or None (RFC 5280 6.1.4 k and n, and our key policy)."""
    refusal = _key_refusal(issuer)
    if refusal is not None:
        return refusal
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return f"{_describe(issuer)} is not a CA (no basicConstraints)"
    except ValueError:
        return f"{_describe(issuer)} has extensions that do not parse"
    if not constraints.ca:
        return f"{_describe(issuer)} is not a CA (basicConstraints cA is false)"
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not usage.key_cert_sign:
        return f"{_describe(issuer)} may not sign certificates (keyUsage lacks keyCertSign)"
    return None


def _self_issued(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


class _Listed:
    """What is worked out once per tuple of listed certificates: the index by subject and by DER, and the
    path searches and anchor issuers found against them, which depend on nothing else (link signatures,
    names, key identifiers and issuer refusals are all read from the certificates' bytes). Times, service
    statuses and revocation are never kept here: select_path and the engine judge those per validation."""

    def __init__(self, listed: Sequence[ListedCertificate]) -> None:
        self.by_der: dict[bytes, list[ListedCertificate]] = {}
        self.by_subject: dict[bytes, list[x509.Certificate]] = {}
        for entry in listed:
            der = _der(entry.certificate)
            if der not in self.by_der:
                self.by_subject.setdefault(entry.certificate.subject.public_bytes(), []).append(entry.certificate)
            self.by_der.setdefault(der, []).append(entry)
        self.searches: OrderedDict[tuple[bytes, tuple[bytes, ...], int], PathSearch] = OrderedDict()
        self.issuers: dict[bytes, x509.Certificate | None] = {}
        self.lock = threading.Lock()

    def search(self, key: tuple[bytes, tuple[bytes, ...], int]) -> PathSearch | None:
        with self.lock:
            found = self.searches.get(key)
            if found is not None:
                self.searches.move_to_end(key)
            return found

    def remember(self, key: tuple[bytes, tuple[bytes, ...], int], search: PathSearch) -> None:
        with self.lock:
            self.searches[key] = search
            while len(self.searches) > _SEARCHES_KEPT:
                self.searches.popitem(last=False)


_SEARCHES_KEPT = 1024  # path searches per set of lists (a search is a few certificate references)
_STATES_KEPT = 8
_STATES: dict[int, tuple[Sequence[ListedCertificate], _Listed]] = {}
_STATES_LOCK = threading.Lock()


def _listed_state(listed: Sequence[ListedCertificate]) -> _Listed:
    """The _Listed of `listed`: kept per tuple object (a tuple cannot change; a list is indexed afresh)."""
    if not isinstance(listed, tuple):
        return _Listed(listed)
    with _STATES_LOCK:
        cached = _STATES.get(id(listed))
        # The cache holds the tuple itself, so its id cannot be reused while it does.
        if cached is not None and cached[0] is listed:
            return cached[1]
    state = _Listed(listed)
    with _STATES_LOCK:
        _STATES[id(listed)] = (listed, state)
        while len(_STATES) > _STATES_KEPT:
            del _STATES[next(iter(_STATES))]
    return state


def listed_entry(certificate: x509.Certificate, listed: Sequence[ListedCertificate]) -> ListedCertificate | None:
    """The first entry of `listed` that holds this very certificate, or None."""
    entries = _listed_state(listed).by_der.get(_der(certificate))
    return entries[0] if entries else None


def build_paths(
    signer: x509.Certificate,
    carried: Sequence[x509.Certificate],
    listed: Sequence[ListedCertificate],
    *,
    max_signature_checks: int = MAX_SIGNATURE_CHECKS,
) -> PathSearch:
    """Every path from the signer through the carried and listed certificates, each ending at the first
    listed certificate (its trust anchor) or where no issuer is found; at most `max_signature_checks`
    link signatures are verified, then the search gives up (PathSearch.gave_up).

    The search is a function of the certificates alone, so it is remembered per set of listed
    certificates (see listed_certificates) by the DER of the signer and of what the document carried."""
    state = _listed_state(listed)
    key = (_der(signer), tuple(_der(certificate) for certificate in carried), max_signature_checks)
    found = state.search(key)
    if found is None:
        found = _build_paths(signer, carried, state, max_signature_checks)
        state.remember(key, found)
    return found


def _build_paths(
    signer: x509.Certificate, carried: Sequence[x509.Certificate], state: _Listed, max_signature_checks: int
) -> PathSearch:
    carried_by_subject: dict[bytes, list[x509.Certificate]] = {}
    seen: set[bytes] = set()
    for certificate in carried:
        der = _der(certificate)
        if der not in seen:
            seen.add(der)
            carried_by_subject.setdefault(certificate.subject.public_bytes(), []).append(certificate)

    def issuers_named(name: bytes) -> list[x509.Certificate]:
        # The carried certificates first, then the listed ones the document did not carry too.
        listed = [candidate for candidate in state.by_subject.get(name, ()) if _der(candidate) not in seen]
        return [*carried_by_subject.get(name, ()), *listed]

    anchors = state.by_der
    paths: list[tuple[x509.Certificate, ...]] = []
    failures: list[str] = []
    verified: dict[tuple[bytes, bytes], bool] = {}  # cross-certificates reach one link by several paths
    checks = 0
    gave_up = False

    def link_verifies(certificate: x509.Certificate, issuer: x509.Certificate) -> bool | None:
        """Whether the link holds; None once the budget is spent."""
        nonlocal checks, gave_up
        key = (_der(certificate), _der(issuer))
        if key not in verified:
            if checks >= max_signature_checks:
                gave_up = True
                return None
            checks += 1
            try:
                verify_issued_by(certificate, issuer)
            except InvalidSignature:
                verified[key] = False
            else:
                verified[key] = True
        return verified[key]

    def extend(path: tuple[x509.Certificate, ...]) -> None:
        if len(paths) >= MAX_PATHS or gave_up:
            return
        current = path[-1]
        extended = False
        if _der(current) not in anchors and not _self_issued(current) and len(path) < MAX_PATH_LENGTH:
            on_path = {_der(certificate) for certificate in path}
            for candidate in issuers_named(current.issuer.public_bytes()):
                if _der(candidate) in on_path or _key_identifiers_differ(current, candidate):
                    continue
                refusal = _issuer_refusal(candidate)
                if refusal is None:
                    holds = link_verifies(current, candidate)
                    if holds is None:
                        return
                    if not holds:
                        refusal = (
                            f"the signature on {_describe(current)} does not verify with {_describe(candidate)}'s key"
                        )
                if refusal is not None:
                    failures.append(refusal)
                    continue
                extended = True
                extend((*path, candidate))
                if gave_up:
                    return
        if not extended:
            paths.append(path)

    extend((signer,))
    return PathSearch(
        tuple(paths),
        tuple(dict.fromkeys(failures)),
        frozenset({_der(signer), *map(_der, carried)}),
        checks,
        gave_up,
    )


def listed_issuer(certificate: x509.Certificate, listed: Sequence[ListedCertificate]) -> x509.Certificate | None:
    """The issuer of a trust anchor as some trust list holds it (never as the document carries it), to take the
    anchor's CRL from; None for a self-issued anchor or when no listed CA issued it. Remembered per set of
    listed certificates, like path searches."""
    state = _listed_state(listed)
    der = _der(certificate)
    with state.lock:
        if der in state.issuers:
            return state.issuers[der]
    found = _listed_issuer(certificate, listed)
    with state.lock:
        state.issuers[der] = found
    return found


def _listed_issuer(certificate: x509.Certificate, listed: Sequence[ListedCertificate]) -> x509.Certificate | None:
    if _self_issued(certificate):
        return None
    for entry in listed:
        candidate = entry.certificate
        if candidate.subject != certificate.issuer or candidate == certificate:
            continue
        if _key_identifiers_differ(certificate, candidate) or _issuer_refusal(candidate) is not None:
            continue
        try:
            verify_issued_by(certificate, candidate)
        except InvalidSignature:
            continue
        return candidate
    return None


@dataclass(frozen=True)
class CertificatePath:
    """The chosen path: signer first, its trust anchor (the certificate the chosen service lists) last."""

    certificates: tuple[x509.Certificate, ...]
    listed: ListedCertificate

    @property
    def signer(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.certificates[-1]

    @property
    def anchor_index(self) -> int:
        return len(self.certificates) - 1

    @property
    def service(self) -> TrustService:
        return self.listed.service

    @property
    def trust_list(self) -> TrustList:
        return self.listed.trust_list

    def status_at(self, when: datetime) -> ServiceStatus | None:
        return self.service.status_at(when)


def select_path(
    search: PathSearch,
    listed: Sequence[ListedCertificate],
    *,
    accepted_service_types: frozenset[str],
    signing_time: datetime,
    validation_time: datetime,
    preferred_city: str | None = None,
) -> CertificatePath:
    """The best path to a listed service; raises SignatureFailure when no path reaches one.

    Each path is cut at its first listed certificate, its trust anchor. Best: an accepted service type
    granted at the signing time, then a list current at the validation time, then the anchor nearest the
    signer, then a list of `preferred_city` (where the same certificate is on several cities' lists).
    Whether the chosen service is acceptable is check_service's question.
    """
    if search.gave_up:
        raise SignatureFailure(
            SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
            f"path building gave up after {search.signature_checks} signature checks: the document carries too "
            "many candidate issuers",
        )
    # By the exact DER: a certificate with the listed subject and key but other contents (a validity
    # stretched, a keyUsage widened) is not the one the operator vouched for.
    index = _listed_state(listed).by_der
    candidates: list[tuple[tuple[int, int, int, int], CertificatePath]] = []
    for certificates in search.paths:
        position = next((at for at, certificate in enumerate(certificates) if _der(certificate) in index), None)
        if position is None:
            continue
        cut = certificates[: position + 1]
        for entry in index[_der(cut[-1])]:
            status = entry.service.status_at(signing_time)
            granted = status is not None and status.status == "granted"
            acceptable = entry.service.service_type in accepted_service_types
            rank = 0 if acceptable and granted else 1 if acceptable else 2
            stale = 0 if entry.trust_list.is_current_at(validation_time) else 1
            elsewhere = 0 if preferred_city is None or entry.trust_list.city == preferred_city else 1
            candidates.append(((rank, stale, position, elsewhere), CertificatePath(cut, entry)))
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


def check_path_constraints(path: CertificatePath) -> None:
    """No critical extension the engine does not process, and every CA's pathLenConstraint kept (RFC 5280
    6.1.4 l and m); raises CHAIN_CONSTRAINTS_FAILURE. The trust anchor's constraints count too: its operator
    listed it as it is."""
    for certificate in path.certificates:
        try:
            extensions = certificate.extensions
        except ValueError:
            raise SignatureFailure(
                SubIndication.CHAIN_CONSTRAINTS_FAILURE, f"the extensions of {_describe(certificate)} do not parse"
            ) from None
        unknown = sorted(
            extension.oid.dotted_string
            for extension in extensions
            if extension.critical and extension.oid not in PROCESSED_CRITICAL_EXTENSIONS
        )
        if unknown:
            raise SignatureFailure(
                SubIndication.CHAIN_CONSTRAINTS_FAILURE,
                f"{_describe(certificate)} has critical extensions this engine does not process: {', '.join(unknown)}",
            )
    intermediates_below = 0  # non-self-issued CA certificates between this one and the signer
    for certificate in path.certificates[1:]:
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:  # an issuer without it was refused while building; a lone anchor has none
            constraints = None
        limit = None if constraints is None else constraints.path_length
        if limit is not None and intermediates_below > limit:
            raise SignatureFailure(
                SubIndication.CHAIN_CONSTRAINTS_FAILURE,
                f"{_describe(certificate)} allows {limit} intermediate CA certificates below it "
                f"(pathLenConstraint); the path has {intermediates_below}",
            )
        if not _self_issued(certificate):
            intermediates_below += 1


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
    except ValueError:
        raise SignatureFailure(
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            f"the extensions of the signer certificate {_describe(signer)} do not parse",
        ) from None
    if not (usage.digital_signature or usage.content_commitment):
        raise SignatureFailure(
            SubIndication.CHAIN_CONSTRAINTS_FAILURE,
            f"the signer certificate {_describe(signer)} may not sign (keyUsage has neither digitalSignature "
            "nor nonRepudiation)",
        )
