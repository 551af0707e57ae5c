"""The validation engine: an examiner's SignatureEvidence, judged against the trust lists, as a ValidationReport.

Steps (ETSI EN 319 102-1 basic signature validation, with the signing time the signer claims):

1. the signing time: the claimed one, else the validation time (a claimed time is no proof of existence);
2. a path from the signer to its trust anchor, the first certificate on it that a city's trust list holds
   (trust._chain), the service's type acceptable for the purpose and its status granted at the signing
   time; at most MAX_CARRIED_CERTIFICATES carried certificates are looked at (more: FORMAT_FAILURE);
3. every certificate of the path valid at the signing time, no unprocessed critical extension, every
   pathLenConstraint kept; the signer's keyUsage allows signing;
4. revocation by CRL (trust._revocation) of every certificate below the anchor, and of the anchor itself
   when a trust list also holds its issuer (never an issuer the document carries: what it carries above
   the anchor must not change the outcome; otherwise the listing alone vouches for the anchor, with a
   warning). The signer revoked at or before the signing time is TOTAL_FAILED/REVOKED, after it
   INDETERMINATE/REVOKED_NO_POE (without a time-stamp nothing proves the signature came first). A revoked
   CA certificate is INDETERMINATE/REVOKED_CA_NO_POE whenever it was revoked: EN 319 102-1 keeps
   TOTAL_FAILED/REVOKED for the signing certificate (5.2.6, 5.3.4), and a CA's revocation may yet be
   outweighed by a proof of existence that a later, time-stamped validation can bring;
5. for an SES e-seal, the same for the seal maker's (制章者) certificate against a "seal-platform" service,
   as of the seal's valid_from (when the maker signed the seal, as the seal says), and the signing time
   within the seal's validity.

All failures are collected; the decisive one is the first TOTAL_FAILED, else the first INDETERMINATE.
Nothing about the signature raises: only a trust list that is unavailable or expired does (fail closed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509

from trust._certificates import load_der_certificate
from trust._chain import (
    CertificatePath,
    ListedCertificate,
    build_paths,
    certificate_der,
    check_path_constraints,
    check_service,
    check_signer_key_usage,
    check_validity,
    listed_certificates,
    listed_entry,
    listed_issuer,
    select_path,
    summarise_certificate,
)
from trust._errors import InvalidCertificate, TrustError
from trust._report import (
    MAX_CARRIED_CERTIFICATES,
    ChainElement,
    Indication,
    SignatureEvidence,
    SignatureFailure,
    SubIndication,
    TrustAnchorSummary,
    ValidationReport,
)
from trust._revocation import RevocationChecker, RevocationStatus, RevocationUnavailable
from trust._trustlist import TrustList, TrustLists

__all__ = ["validate_failure", "validate_signature"]

SEAL_PLATFORM = frozenset({"seal-platform"})
# A claimed signing time this far past the validation time is refused: clocks drift, documents don't travel back.
FUTURE_TOLERANCE = timedelta(minutes=5)


def validate_failure(
    failure: SignatureFailure,
    validation_time: datetime,
    *,
    format: str | None = None,
    signature_algorithm: str | None = None,
) -> ValidationReport:
    """The report for an examiner's failure (bad format, digest, signature value): nothing else was checked."""
    report = ValidationReport(
        Indication.TOTAL_PASSED, None, validation_time, format=format, signature_algorithm=signature_algorithm
    )
    return report.fail(failure)


async def validate_signature(
    evidence: SignatureEvidence,
    *,
    trust_lists: TrustLists,
    accepted_service_types: frozenset[str],
    revocation: RevocationChecker,
    validation_time: datetime,
    cities: Collection[str] | None = None,
    preferred_city: str | None = None,
) -> ValidationReport:
    """Judge the evidence at the signing time; raises only TrustListUnavailable / TrustListExpired.

    `accepted_service_types` are the trust-service types that may vouch for this purpose (for a licence
    {"licence-issuer"}; for an enterprise's seal signature {"ca"}); `cities` narrows the trust lists
    searched (default: every configured city); `preferred_city` (for a licence, the issuing city it claims)
    only breaks a tie when the trust anchor is on several cities' lists alike.
    """
    report = ValidationReport(
        Indication.TOTAL_PASSED,
        None,
        validation_time,
        format=evidence.format,
        signature_algorithm=evidence.signature_algorithm,
        seal=evidence.seal,
    )
    failures: list[SignatureFailure] = []
    signing_time = evidence.claimed_signing_time or validation_time
    if signing_time.tzinfo is None:  # an examiner's slip; GB/T and ETSI times are UTC unless they say otherwise
        signing_time = signing_time.replace(tzinfo=UTC)
        report.warnings.append("the claimed signing time had no time zone; it was read as UTC")
    report.signing_time = signing_time
    if evidence.claimed_signing_time is None:
        report.warnings.append("the signature claims no signing time; it was validated as of the validation time")
    else:
        report.warnings.append(
            f"the signing time {signing_time.isoformat()} is claimed by the signer, not proven by a time-stamp "
            "(no proof of existence)"
        )
        if signing_time > validation_time + FUTURE_TOLERANCE:
            failures.append(
                SignatureFailure(
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    f"the claimed signing time {signing_time.isoformat()} lies in the future",
                )
            )
    try:
        signer = load_der_certificate(evidence.signer_certificate)
    except InvalidCertificate:
        failures.append(
            SignatureFailure(SubIndication.NO_SIGNING_CERTIFICATE_FOUND, "the signer certificate does not parse")
        )
        return _conclude(report, failures)
    report.signer = summarise_certificate(signer)
    try:
        carried = _carried_certificates(evidence.certificates, report.warnings)
    except SignatureFailure as failure:
        failures.append(failure)
        return _conclude(report, failures)
    held = _held_lists(trust_lists, cities)
    listed = listed_certificates(held.values())

    chain = await _assess_chain(
        signer,
        carried,
        listed,
        trust_lists=trust_lists,
        cities=_cities_in_scope(trust_lists, cities),
        accepted_service_types=accepted_service_types,
        signing_time=signing_time,
        validation_time=validation_time,
        revocation=revocation,
        preferred_city=preferred_city,
    )
    report.chain, report.trust_anchor = chain.elements, chain.anchor
    failures.extend(chain.failures)
    report.warnings.extend(chain.warnings)

    if evidence.seal is not None:
        seal = evidence.seal
        if not seal.valid_from <= signing_time <= seal.valid_until:
            failures.append(
                SignatureFailure(
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    f"the signing time {signing_time.isoformat()} lies outside the seal's validity "
                    f"{seal.valid_from.isoformat()} to {seal.valid_until.isoformat()}",
                )
            )
        try:
            maker = load_der_certificate(seal.maker_certificate)
        except InvalidCertificate:
            failures.append(
                SignatureFailure(
                    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, "the seal maker certificate does not parse"
                )
            )
        else:
            maker_chain = await _assess_chain(
                maker,
                carried,
                listed,
                trust_lists=trust_lists,
                cities=_cities_in_scope(trust_lists, cities),
                accepted_service_types=SEAL_PLATFORM,
                signing_time=seal.valid_from,
                validation_time=validation_time,
                revocation=revocation,
                preferred_city=preferred_city,
                role="the seal maker certificate",
            )
            report.seal_maker_chain, report.seal_maker_anchor = maker_chain.elements, maker_chain.anchor
            failures.extend(
                SignatureFailure(failure.sub_indication, f"seal maker (制章者): {failure}")
                for failure in maker_chain.failures
            )
            report.warnings.extend(f"seal maker (制章者): {warning}" for warning in maker_chain.warnings)
    return _conclude(report, failures)


def _conclude(report: ValidationReport, failures: Sequence[SignatureFailure]) -> ValidationReport:
    decisive_first = sorted(failures, key=lambda failure: failure.indication is not Indication.TOTAL_FAILED)
    for failure in decisive_first:
        report.fail(failure)
    return report


def _carried_certificates(ders: Sequence[bytes], warnings: list[str]) -> list[x509.Certificate]:
    """The certificates the signature carried, parsed; raises FORMAT_FAILURE for more than the cap."""
    if len(ders) > MAX_CARRIED_CERTIFICATES:
        raise SignatureFailure(
            SubIndication.FORMAT_FAILURE,
            f"the signature carries {len(ders)} certificates; at most {MAX_CARRIED_CERTIFICATES} are accepted",
        )
    carried = []
    for position, der in enumerate(ders):
        try:
            carried.append(load_der_certificate(der))
        except InvalidCertificate:
            warnings.append(f"certificate {position + 1} carried by the signature does not parse and was ignored")
    return carried


def _cities_in_scope(trust_lists: TrustLists, cities: Collection[str] | None) -> tuple[str, ...]:
    return trust_lists.cities if cities is None else tuple(sorted(cities))


def _held_lists(trust_lists: TrustLists, cities: Collection[str] | None) -> dict[str, TrustList]:
    held = {}
    for city in _cities_in_scope(trust_lists, cities):
        try:
            held[city] = trust_lists.held(city)
        except TrustError:  # TrustListUnavailable: raised later, if no other list vouches
            continue
    return held


@dataclass
class _ChainAssessment:
    elements: list[ChainElement] = field(default_factory=list)
    anchor: TrustAnchorSummary | None = None
    failures: list[SignatureFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def _assess_chain(
    certificate: x509.Certificate,
    carried: Sequence[x509.Certificate],
    listed: Sequence[ListedCertificate],
    *,
    trust_lists: TrustLists,
    cities: Sequence[str],
    accepted_service_types: frozenset[str],
    signing_time: datetime,
    validation_time: datetime,
    revocation: RevocationChecker,
    preferred_city: str | None = None,
    role: str = "the signer certificate",
) -> _ChainAssessment:
    assessment = _ChainAssessment()
    search = build_paths(certificate, carried, listed)
    carried_ders = search.carried
    try:
        path = select_path(
            search,
            listed,
            accepted_service_types=accepted_service_types,
            signing_time=signing_time,
            validation_time=validation_time,
            preferred_city=preferred_city,
        )
    except SignatureFailure as failure:
        # Fail closed: a list we cannot consult now might have vouched for this chain.
        for city in cities:
            trust_lists.list_for(city, validation_time)
        longest = max(search.paths, key=len, default=(certificate,))
        assessment.elements = [_element(item, carried_ders, listed, "not_checked") for item in longest]
        assessment.failures.append(failure)
        return assessment
    path.trust_list.require_current_at(validation_time)
    assessment.anchor = _anchor_summary(path, signing_time)

    # Each check is independent; all failures are kept and _conclude picks the decisive one.
    try:
        assessment.warnings.extend(
            check_service(path, accepted_service_types=accepted_service_types, signing_time=signing_time)
        )
    except SignatureFailure as failure:
        assessment.failures.append(failure)
    try:
        check_validity(path, signing_time)
    except SignatureFailure as failure:
        assessment.failures.append(failure)
    try:
        check_path_constraints(path)
    except SignatureFailure as failure:
        assessment.failures.append(failure)
    try:
        check_signer_key_usage(path.signer)
    except SignatureFailure as failure:
        assessment.failures.append(failure)
    if validation_time > certificate.not_valid_after_utc >= signing_time:
        assessment.warnings.append(
            f"{role} expired at {certificate.not_valid_after_utc.isoformat()}, after the signing time; "
            "it was valid when the signature was made"
        )

    # The anchor's own CRL is taken only from an issuer a trust list holds, never from one the document carries.
    anchor_issuer = listed_issuer(path.anchor, listed)
    links = list(zip(path.certificates, path.certificates[1:], strict=False))
    if anchor_issuer is not None:
        links.append((path.anchor, anchor_issuer))
    # From the CRLs held when they answer for every link (no task to start); else fetched concurrently.
    held = [revocation.held_status(subject, issuer, at=validation_time) for subject, issuer in links]
    statuses: Sequence[RevocationStatus | RevocationUnavailable] = [status for status in held if status is not None]
    if len(statuses) < len(links):
        statuses = await asyncio.gather(
            *(_revocation_status(revocation, subject, issuer, validation_time) for subject, issuer in links)
        )
    for position, ((subject, _), status) in enumerate(zip(links, statuses, strict=True)):
        if isinstance(status, RevocationUnavailable):
            assessment.elements.append(_element(subject, carried_ders, listed, "unknown"))
            assessment.failures.append(
                SignatureFailure(SubIndication.TRY_LATER, f"revocation of {_name(subject)} unknown: {status}")
            )
            continue
        assessment.elements.append(
            _element(subject, carried_ders, listed, status.status, status.revoked_at, status.source)
        )
        if status.status == "revoked" and status.revoked_at is not None:
            assessment.failures.append(_revocation_failure(position, subject, status.revoked_at, signing_time, role))
    if anchor_issuer is None:
        anchor = path.anchor
        assessment.elements.append(_element(anchor, carried_ders, listed, "not_checked", None, "trust list"))
        if anchor.issuer != anchor.subject:
            assessment.warnings.append(
                f"the revocation of {_name(anchor)} was not checked: city {path.trust_list.city}'s trust list "
                "vouches for it, and no trust list in scope holds its issuer to take a CRL from"
            )
    return assessment


async def _revocation_status(
    revocation: RevocationChecker, subject: x509.Certificate, issuer: x509.Certificate, at: datetime
) -> RevocationStatus | RevocationUnavailable:
    try:
        return await revocation.status(subject, issuer, at=at)
    except RevocationUnavailable as exc:
        return exc


def _revocation_failure(
    position: int, subject: x509.Certificate, revoked_at: datetime, signing_time: datetime, role: str
) -> SignatureFailure:
    when = f"revoked at {revoked_at.isoformat()}"
    if position > 0:
        return SignatureFailure(
            SubIndication.REVOKED_CA_NO_POE, f"CA certificate {_name(subject)} in the chain was {when}"
        )
    if revoked_at <= signing_time:
        return SignatureFailure(
            SubIndication.REVOKED, f"{role} was {when}, at or before the signing time {signing_time.isoformat()}"
        )
    return SignatureFailure(
        SubIndication.REVOKED_NO_POE,
        f"{role} was {when}, after the claimed signing time {signing_time.isoformat()}, and nothing proves the "
        "signature existed before",
    )


def _name(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def _element(
    certificate: x509.Certificate,
    carried: frozenset[bytes],
    listed: Sequence[ListedCertificate],
    revocation: str,
    revoked_at: datetime | None = None,
    source: str | None = None,
) -> ChainElement:
    origin: str | None = None
    if certificate_der(certificate) in carried:
        origin = "signature"
    else:
        entry = listed_entry(certificate, listed)
        if entry is not None:
            origin = f"trust list {entry.trust_list.city} #{entry.trust_list.sequence}"
    return ChainElement(summarise_certificate(certificate), revocation, revoked_at, source, origin)


def _anchor_summary(path: CertificatePath, signing_time: datetime) -> TrustAnchorSummary:
    status = path.status_at(signing_time)
    return TrustAnchorSummary(
        trust_list_city=path.trust_list.city,
        trust_list_sequence=path.trust_list.sequence,
        service_name=path.service.name,
        service_type=path.service.service_type,
        status_at_signing_time=status.status if status else "not_listed",
        status_since=status.since if status else path.service.history[0].since,
        party_id=path.service.party_id,
    )
