"""Mutual recognition: verify a licence or a sealed document issued in another city, ask the issuing
city's registry (or seal platform) whether it is still current, and map the licence into the relying
city's schema. The trust decisions are trust/'s; this module puts them together with the partners.

    examine (format)  ->  validate (trust list of the issuing city, chain, revocation)
                      ->  registry / status list / seal platform  ->  map for the relying city

A signing time the signer claims is used only when the issuing registry holds exactly the signed
record (its proof that the licence existed then); otherwise documents are judged at the validation
time, so a withdrawn issuer's or an expired key cannot sign today and date it back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import httpx
from sqlalchemy import delete, insert, select

import catalogs
import trust
from gateway import errors
from gateway.canonical import Licence
from gateway.exchange import Exchange
from gateway.logs import log
from gateway.operations import AnsweredByTheGateway, page_of
from gateway.storage import Database
from gateway.storage import trust_lists as stored_trust_lists

if TYPE_CHECKING:
    from gateway.partners import PartnerDirectory
    from gateway.runtime import Runtime

__all__ = [
    "CONSENT_HEADER",
    "ConsentGrant",
    "DOCUMENT_FORMATS",
    "DocumentRequest",
    "FETCH_LICENCES_RIGHT",
    "FetchLicences",
    "LICENCE_SERVICE_TYPES",
    "LicenceFormat",
    "Recognition",
    "SEAL_SERVICE_TYPES",
    "VERIFY_LICENCES_RIGHT",
    "VERIFY_SEALS_RIGHT",
    "VerifyLicence",
    "VerifySeal",
    "examine_document",
    "recognition_of",
    "http_fetch",
    "verify_consent",
    "verify_seal",
]

VERIFY_LICENCES_RIGHT = "licences.verify"
FETCH_LICENCES_RIGHT = "licences.fetch"
VERIFY_SEALS_RIGHT = "seals.verify"

DocumentFormat = Literal["jws", "xml", "pdf", "ofd", "ses"]
DOCUMENT_FORMATS: tuple[str, ...] = get_args(DocumentFormat)
LICENCE_SERVICE_TYPES = frozenset({"licence-issuer"})
SEAL_SERVICE_TYPES = frozenset({"ca"})  # enterprise signers hold certificates of a listed CA
CONSENT_SERVICE_TYPES = frozenset({"consent-service"})
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024

Fetch = Callable[[str], Awaitable[bytes]]


class LicenceFormat(Protocol):
    """One city's licence record format, from its adapter (wired by the app factory)."""

    @property
    def city(self) -> str: ...

    def read_licence(self, content: bytes, content_type: str) -> Licence:
        """The canonical licence from the record a document of this city carries; ValueError if not one."""

    def write_licence(self, licence: Licence) -> dict[str, Any]:
        """The licence in this city's field names and code tables, JSON-ready."""


def _sniff(document: bytes) -> DocumentFormat:
    head = document[:8].lstrip()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "ofd"
    if head.startswith(b"<"):
        return "xml"
    if head.startswith(b"eyJ"):
        return "jws"
    if head.startswith(b"\x30"):
        return "ses"
    raise errors.InvalidContent("cannot tell the document's format; say it with `format` (jws, xml, pdf, ofd, ses)")


def examine_document(
    unverified_document: bytes, document_format: str | None, data: bytes | None = None
) -> trust.SignatureEvidence:
    """The format examiner's evidence, or trust.SignatureFailure (which becomes the report)."""
    kind = document_format or _sniff(unverified_document)
    if kind == "jws":
        return trust.examine_jws(unverified_document)
    if kind == "xml":
        return trust.examine_xml(unverified_document)
    if kind == "pdf":  # the JSON cities attach their record as licence.json, the XML ones as licence.xml
        return trust.examine_pdf(unverified_document, ("licence.json", "licence.xml"))
    if kind == "ofd":
        return trust.examine_ofd(unverified_document)
    if kind == "ses":
        if data is None:
            raise errors.InvalidContent("a bare SES signature needs the signed `data` (base64) beside it")
        return trust.examine_ses_signature(unverified_document, data)
    raise errors.InvalidContent(f"format must be one of {', '.join(DOCUMENT_FORMATS)}")


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise errors.InvalidContent(f"`{name}` must be a base64 string")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidContent(f"`{name}` is not valid base64") from exc
    if len(decoded) > MAX_DOCUMENT_BYTES:
        raise errors.PayloadTooLarge(f"`{name}` is over {MAX_DOCUMENT_BYTES} bytes")
    return decoded


@dataclass(frozen=True)
class DocumentRequest:
    document: bytes
    document_format: str | None
    data: bytes | None
    relying_city: str | None

    @classmethod
    def from_json(cls, body: bytes) -> DocumentRequest:
        try:
            payload = trust.parse_json(body or b"null")
        except trust.JsonRejected as exc:
            raise errors.InvalidContent(
                f"the body must be a JSON object with `document` (base64), at most {trust.JSON_MAX_DEPTH} "
                f"levels deep: {exc.reason}"
            ) from exc
        if not isinstance(payload, dict):
            raise errors.InvalidContent("the body must be a JSON object with `document` (base64)")
        unknown = set(payload) - {"document", "format", "data", "relying_city"}
        if unknown:
            raise errors.InvalidContent(f"unknown fields: {', '.join(sorted(unknown))}")
        document_format = payload.get("format")
        if document_format is not None and document_format not in DOCUMENT_FORMATS:
            raise errors.InvalidContent(f"`format` must be one of {', '.join(DOCUMENT_FORMATS)}")
        relying_city = payload.get("relying_city")
        if relying_city is not None and (not isinstance(relying_city, str) or len(relying_city) != 6):
            raise errors.InvalidContent("`relying_city` must be a six-digit GB/T 2260 code")
        data = _b64(payload["data"], "data") if payload.get("data") is not None else None
        return cls(_b64(payload.get("document"), "document"), document_format, data, relying_city)


def _status_sub_indication(status: str) -> trust.SubIndication | None:
    return {
        "valid": None,
        "cancelled": trust.SubIndication.LICENCE_CANCELLED,
        "revoked": trust.SubIndication.LICENCE_REVOKED,
        "suspended": trust.SubIndication.LICENCE_SUSPENDED,
        "expired": trust.SubIndication.LICENCE_EXPIRED,
    }.get(status, trust.SubIndication.LICENCE_REVOKED)


REGISTRY_SUB_INDICATIONS = frozenset(
    {
        trust.SubIndication.LICENCE_CANCELLED,
        trust.SubIndication.LICENCE_REVOKED,
        trust.SubIndication.LICENCE_SUSPENDED,
        trust.SubIndication.LICENCE_EXPIRED,
        trust.SubIndication.LICENCE_NOT_AS_REGISTERED,
    }
)


def _licence_identifier(licence: Licence, report: trust.ValidationReport) -> dict[str, Any] | None:
    """A licence number in the GB/T 36904 form, parsed (its issuer's credit code checked). The
    final check character is reported, not checked: its algorithm is not confirmed from the
    standard's text (see catalogs._licence_ids)."""
    if not licence.licence_number.startswith(catalogs.LICENCE_ID_ROOT + "."):
        return None
    try:
        identifier = catalogs.parse_licence_identifier(licence.licence_number)
    except catalogs.CatalogError as exc:
        report.fail(
            trust.SignatureFailure(trust.SubIndication.FORMAT_FAILURE, f"the licence identifier is malformed: {exc}")
        )
        return None
    if identifier.issuer_code != licence.issuer_code:
        report.fail(
            trust.SignatureFailure(
                trust.SubIndication.FORMAT_FAILURE, "the licence identifier names another issuer than the licence"
            )
        )
    return asdict(identifier)


def _store_trust_lists(database: Database, accepted: list[tuple[str, int, bytes]], now: datetime) -> None:
    with database.write() as connection:
        for city, sequence, data in accepted:
            connection.execute(delete(stored_trust_lists).where(stored_trust_lists.c.city == city))
            connection.execute(
                insert(stored_trust_lists).values(city=city, sequence=sequence, data=data, accepted_at=now)
            )


def _differing_fields(registered: Licence, signed: Licence) -> list[str]:
    """The fields in which the signed licence does not say what the registry holds (its status
    aside, which may change); empty when it says exactly that."""
    held, said = registered.model_dump(exclude={"status"}), signed.model_dump(exclude={"status"})
    return sorted(name for name, value in held.items() if said.get(name) != value)


async def _ask(source: str, lookup: Callable[[], Awaitable[Any]]) -> Any:
    """The issuing city's record, None if it has none, or (a str) why it could not be asked."""
    try:
        return await lookup()
    except (errors.UpstreamError, errors.NotFound) as exc:
        log.warning("%s not reachable: %s", source, exc.internal or exc.detail)
        return f"{source} could not be asked"


def _issuing_city_verdict(
    report: trust.ValidationReport,
    now: datetime,
    held: Any,
    *,
    source: str,
    subject: str,
    sub_indication_for: Callable[[str], trust.SubIndication | None],
    status_subject: str,
    differing: Callable[[Any], list[str]] | None = None,
) -> None:
    """The issuing city's own word (registry or seal platform) on a record whose signature holds:
    unreachable is TRY_LATER, unknown is SIGNED_DATA_NOT_FOUND, other fields than those signed are
    LICENCE_NOT_AS_REGISTERED, a status other than valid fails."""
    if isinstance(held, str):
        report.fail(trust.SignatureFailure(trust.SubIndication.TRY_LATER, held))
        return
    report.registry_checked_at = now
    if held is None:
        report.registry_status = "unknown"
        report.fail(trust.SignatureFailure(trust.SubIndication.SIGNED_DATA_NOT_FOUND, f"{source} has no {subject}"))
        return
    report.registry_status = held.status
    fields = differing(held) if differing is not None else []
    if fields:
        report.fail(
            trust.SignatureFailure(
                trust.SubIndication.LICENCE_NOT_AS_REGISTERED,
                f"{source} holds {subject} with other {', '.join(fields)}",
            )
        )
    sub_indication = sub_indication_for(held.status)
    if sub_indication is not None:
        report.fail(trust.SignatureFailure(sub_indication, f"{source} says the {status_subject} is {held.status}"))


@dataclass
class Recognition:
    """The trust lists and revocation data the gateway recognises documents with, and the cities'
    licence formats. Made by the app factory; one per process."""

    trust_lists: trust.TrustLists
    revocation: trust.RevocationChecker
    fetch: Fetch
    formats: Mapping[str, LicenceFormat] = field(default_factory=dict)
    clock_now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    untrusted_cities: tuple[str, ...] = ()  # configured lists whose operator certificate is unknown
    fetch_timeout_seconds: float = 10.0
    http: httpx.AsyncClient | None = None

    database: Database | None = None  # keeps each city's last good list across restarts

    async def refresh(self) -> tuple[trust.RefreshResult, ...]:
        """Fetch every city's list; keeps the last good one on failure (never raises); stores
        each newly accepted list, as signed, so that a restart starts from it."""
        results = await self.trust_lists.refresh(
            self.fetch, now=self.clock_now(), fetch_timeout_seconds=self.fetch_timeout_seconds
        )
        accepted = [
            (result.city, result.sequence, result.signed)
            for result in results
            if result.signed is not None and result.sequence is not None
        ]
        if accepted and self.database is not None:
            await asyncio.to_thread(_store_trust_lists, self.database, accepted, self.clock_now())
        return results

    def restore(self) -> list[str]:
        """Take up the lists stored by an earlier run (each verified again against its pinned
        operator); the cities restored. A stored list that no longer verifies is ignored."""
        if self.database is None:
            return []
        with self.database.read() as connection:
            rows = connection.execute(select(stored_trust_lists.c.city, stored_trust_lists.c.data)).all()
        restored = []
        for city, data in rows:
            if city not in self.trust_lists.cities:
                continue
            try:
                self.trust_lists.accept(city, bytes(data), now=self.clock_now())
            except trust.TrustError as exc:
                log.warning("the stored trust list of %s was not taken up: %s", city, exc)
                continue
            restored.append(city)
        return restored

    def snapshot(self) -> dict[str, Any]:
        snapshot = self.trust_lists.snapshot(self.clock_now())
        if self.untrusted_cities:
            snapshot["not_configured"] = {
                city: "no operator certificate: set trust_list_operators or run `tongban sandbox`"
                for city in self.untrusted_cities
            }
        return snapshot

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()

    async def validate(
        self,
        evidence: trust.SignatureEvidence,
        service_types: frozenset[str],
        now: datetime,
        *,
        claimed_time_proven: bool = False,
        preferred_city: str | None = None,
    ) -> trust.ValidationReport:
        """The engine's verdict. A signing time the signer merely claims is no proof of existence
        (EN 319 102-1): unless something else vouches for it, judge at the validation time, so that
        a withdrawn issuer or an expired key cannot sign today and date the signature back."""
        judged = evidence
        if evidence.claimed_signing_time is not None and not claimed_time_proven:
            judged = replace(evidence, claimed_signing_time=None)
        try:
            report = await trust.validate_signature(
                judged,
                trust_lists=self.trust_lists,
                accepted_service_types=service_types,
                revocation=self.revocation,
                validation_time=now,
                preferred_city=preferred_city,
            )
        except (trust.TrustListExpired, trust.TrustListUnavailable) as exc:
            raise errors.TrustListUnavailable(str(exc)) from exc
        if judged is not evidence:
            assert evidence.claimed_signing_time is not None
            report.warnings.append(
                f"the document claims it was signed at {evidence.claimed_signing_time.isoformat()}; nothing proves "
                "that, so it was judged at the validation time"
            )
        return report

    async def verify_licence(
        self, request: DocumentRequest, relying_city: str, partners: PartnerDirectory | None, now: datetime
    ) -> dict[str, Any]:
        """Examine, then validate at the claimed signing time only if the issuing registry holds
        exactly the signed record (its proof that the licence existed); otherwise at the validation
        time. Then the registry's status and the issuer's status list."""
        try:
            evidence = await asyncio.to_thread(
                examine_document, request.document, request.document_format, request.data
            )
        except trust.SignatureFailure as failure:
            return {"recognised": False, "report": trust.validate_failure(failure, now).to_json()}
        answer: dict[str, Any] = {"recognised": False, "relying_city": relying_city}
        claimed_city = self._claimed_issuing_city(evidence)
        provisional = await self.validate(
            evidence, LICENCE_SERVICE_TYPES, now, claimed_time_proven=True, preferred_city=claimed_city
        )
        if not provisional.passed or provisional.trust_anchor is None:
            report = provisional
            if evidence.claimed_signing_time is not None:
                report = await self.validate(evidence, LICENCE_SERVICE_TYPES, now, preferred_city=claimed_city)
            answer["report"] = report.to_json()
            return answer
        issuing_city = provisional.trust_anchor.trust_list_city
        licence = self._read_licence(evidence, issuing_city, provisional)
        if licence is None:
            answer["report"] = provisional.to_json()
            return answer
        source = f"the {issuing_city} registry"
        registered = (
            await _ask(source, lambda: partners.client_for(issuing_city).get_licence(licence.licence_number))
            if partners is not None
            else "no partner registries are configured"
        )
        if isinstance(registered, Licence) and not _differing_fields(registered, licence):
            report = provisional
            if evidence.claimed_signing_time is not None:
                report.warnings.append(
                    f"the claimed signing time was accepted: the {issuing_city} registry holds exactly this record"
                )
        else:
            report = await self.validate(evidence, LICENCE_SERVICE_TYPES, now, preferred_city=claimed_city)
        identifier = _licence_identifier(licence, report)
        if identifier is not None:
            answer["licence_identifier"] = identifier
        _issuing_city_verdict(
            report,
            now,
            registered,
            source=source,
            subject=f"licence {licence.licence_number}",
            sub_indication_for=_status_sub_indication,
            status_subject="licence",
            differing=lambda held: _differing_fields(held, licence),
        )
        if licence.valid_until is not None and licence.valid_until < now.date():
            report.fail(
                trust.SignatureFailure(
                    trust.SubIndication.LICENCE_EXPIRED, f"the licence expired on {licence.valid_until}"
                )
            )
        signature_held = report.passed or report.sub_indication in REGISTRY_SUB_INDICATIONS
        if signature_held:
            await self._check_status_list(evidence, report, now)
            answer["issuing_city"] = issuing_city
            answer["licence"] = licence.model_dump(mode="json")
        if report.passed:
            answer["mapped"] = self._map_for(licence, relying_city, report)
        answer["recognised"] = report.passed
        answer["report"] = report.to_json()
        return answer

    def _claimed_issuing_city(self, evidence: trust.SignatureEvidence) -> str | None:
        """The issuing city the signed record names, read by whichever city's format can read it:
        only a tie-break when one certificate is on several cities' lists, never a trust decision."""
        for city_format in self.formats.values():
            try:
                return city_format.read_licence(evidence.signed_content, evidence.content_type).issuing_city
            except ValueError:
                continue
        return None

    def _read_licence(
        self, evidence: trust.SignatureEvidence, issuing_city: str, report: trust.ValidationReport
    ) -> Licence | None:
        reader = self.formats.get(issuing_city)
        if reader is None:
            report.fail(
                trust.SignatureFailure(
                    trust.SubIndication.SIGNED_DATA_NOT_FOUND, f"no licence format is known for city {issuing_city}"
                )
            )
            return None
        try:
            licence = reader.read_licence(evidence.signed_content, evidence.content_type)
        except ValueError as exc:
            log.info("signed content is not a %s licence record: %s", issuing_city, exc)
            report.fail(
                trust.SignatureFailure(
                    trust.SubIndication.FORMAT_FAILURE,
                    f"the signed content is not a {issuing_city} licence record",
                )
            )
            return None
        if licence.issuing_city != issuing_city:
            report.fail(
                trust.SignatureFailure(
                    trust.SubIndication.CHAIN_CONSTRAINTS_FAILURE,
                    f"the licence says it was issued in {licence.issuing_city}, "
                    f"but its signer is vouched for by {issuing_city}",
                )
            )
            return None
        return licence

    async def _check_status_list(
        self, evidence: trust.SignatureEvidence, report: trust.ValidationReport, now: datetime
    ) -> None:
        """A JSON credential's W3C Bitstring Status List entry, when it has one."""
        if "credential_status" not in evidence.details:
            return
        anchor_city = report.trust_anchor.trust_list_city if report.trust_anchor else None

        async def accept_list_signer(list_evidence: trust.SignatureEvidence) -> None:
            # The issuer may sign its lists with another of its certificates (a rotated key): any
            # signer the same city vouches for as a licence issuer, valid now.
            verdict = await self.validate(list_evidence, LICENCE_SERVICE_TYPES, now)
            if (
                not verdict.passed
                or verdict.trust_anchor is None
                or verdict.trust_anchor.trust_list_city != anchor_city
            ):
                raise trust.SignatureFailure(
                    trust.SubIndication.TRY_LATER, "the status list is not signed by a licence issuer of the same city"
                )

        try:
            listed = await trust.check_credential_status(
                evidence, self.fetch, now=now, accept_list_signer=accept_list_signer
            )
        except trust.SignatureFailure as failure:
            report.fail(failure)
            return
        report.status_list_status = listed
        if listed != "valid":
            report.fail(
                trust.SignatureFailure(
                    _status_sub_indication(listed) or trust.SubIndication.LICENCE_REVOKED,
                    f"the issuer's status list marks the licence {listed}",
                )
            )

    def _map_for(self, licence: Licence, relying_city: str, report: trust.ValidationReport) -> dict[str, Any] | None:
        writer = self.formats.get(relying_city)
        if writer is None:
            report.warnings.append(f"no schema is known for relying city {relying_city}; only the canonical record")
            return None
        return writer.write_licence(licence)


MAX_FETCH_BYTES = 10 * 1024 * 1024


async def http_fetch(client: httpx.AsyncClient, url: str, *, timeout: float, max_bytes: int = MAX_FETCH_BYTES) -> bytes:
    """Trust lists, CRLs and status lists over HTTP(S), within `timeout` in all (not per read: a
    server dripping bytes cannot hold a request) and at most `max_bytes`. Failures mean TRY_LATER."""
    async with asyncio.timeout(timeout):
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise OSError(f"{url} answered more than {max_bytes} bytes")
                chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class _RecognitionOperation(AnsweredByTheGateway):
    """Common parts of the recognition operations: audited domain reads answered by the gateway."""

    name: str
    required_right: str | None
    audited: bool = True
    purpose_required: bool = False
    max_body_bytes: int | None = 12 * 1024 * 1024
    not_found: str | None = None


def recognition_of(runtime: Runtime) -> Recognition:
    """The runtime's recognition, or 503 gateway.unavailable when it is not configured."""
    recognition = runtime.services.get("recognition")
    if recognition is None:
        raise errors.ServiceUnavailable("licence and seal recognition is not configured")
    return recognition


@dataclass
class _DocumentOperation(_RecognitionOperation):
    """An operation on a posted document: JSON over REST; SOAP builds the request from its payload."""

    request: DocumentRequest | None = None

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        recognition_of(runtime)
        if self.request is None:
            self.request = DocumentRequest.from_json(exchange.request.body)


@dataclass
class VerifyLicence(_DocumentOperation):
    name: str = "licences.verify"
    required_right: str | None = VERIFY_LICENCES_RIGHT

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.request is not None and exchange.caller is not None
        relying_city = self.request.relying_city or exchange.caller.city
        exchange.result = await recognition_of(runtime).verify_licence(
            self.request, relying_city, runtime.partners, runtime.clock.now()
        )


# ---- licences fetched from the issuing registry, with the holder's consent ------------------------

CONSENT_HEADER = "x-tongban-consent"
MAX_CONSENT_LIFETIME_SECONDS = 7 * 24 * 3600
_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class ConsentGrant:
    """What a verified consent token allows: this requester, this holder, these purposes and types."""

    consent_id: str
    holder_id: str
    requester: str
    purposes: tuple[str, ...]
    licence_types: tuple[str, ...] | None  # None: every type
    expires_at: datetime
    issued_by: str  # the consent service, from the trust list


async def verify_consent(
    recognition: Recognition,
    unverified_token: str | None,
    *,
    holder_id: str,
    requester: str,
    audience: str,
    purpose: str,
    licence_type: str | None,
    now: datetime,
) -> ConsentGrant:
    """The holder's authorisation, signed by a consent service on a trust list, covering this request."""
    if not unverified_token:
        raise errors.ConsentRequired(
            f"fetching a holder's licences needs the holder's consent token in {CONSENT_HEADER}"
        )
    try:
        evidence = trust.examine_jws(unverified_token.encode("ascii"))
    except (trust.SignatureFailure, UnicodeEncodeError) as exc:
        raise errors.ConsentInvalid("the consent token is not a well-formed signed token", internal=str(exc)) from exc
    report = await recognition.validate(evidence, CONSENT_SERVICE_TYPES, now)
    if not report.passed or report.trust_anchor is None:
        raise errors.ConsentInvalid(
            "the consent token is not signed by a consent service on a current trust list",
            internal="; ".join(report.messages),
        )
    holder_city = _holder_city(holder_id)
    if report.trust_anchor.trust_list_city != holder_city:
        raise errors.ConsentInvalid(
            f"the consent token is signed by a consent service of {report.trust_anchor.trust_list_city}; "
            f"only {holder_city}'s may speak for this holder"
        )
    try:
        claims = trust.parse_json(evidence.signed_content)
    except trust.JsonRejected as exc:
        raise errors.ConsentInvalid("the consent token's claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise errors.ConsentInvalid("the consent token's claims must be a JSON object")

    def claim(name: str, kind: type) -> Any:
        value = claims.get(name)
        if not isinstance(value, kind):
            raise errors.ConsentInvalid(f"the consent token lacks a valid `{name}` claim")
        return value

    try:
        expires_at = datetime.fromtimestamp(claim("exp", int), UTC)
        issued_at = datetime.fromtimestamp(claim("iat", int), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise errors.ConsentInvalid("the consent token's exp or iat is not a time") from exc
    if expires_at <= now:
        raise errors.ConsentInvalid(f"the consent token expired at {expires_at.isoformat()}")
    if issued_at > now + _SKEW or (expires_at - issued_at).total_seconds() > MAX_CONSENT_LIFETIME_SECONDS:
        raise errors.ConsentInvalid(
            "the consent token's lifetime is not acceptable (issued in the future or over 7 days)"
        )
    if claim("aud", str) != audience:
        raise errors.ConsentInvalid(f"the consent token is for another gateway, not {audience}")
    if claim("sub", str) != holder_id:
        raise errors.ConsentInvalid("the consent token was given by another holder")
    if claim("requester", str) != requester:
        raise errors.ConsentInvalid(f"the consent token authorises another requester, not {requester}")
    purposes = tuple(claim("purposes", list))
    if purpose not in purposes:
        raise errors.ConsentInvalid(f"the holder did not consent to purpose {purpose}")
    types = claims.get("licence_types")
    if types is not None and (not isinstance(types, list) or (licence_type is not None and licence_type not in types)):
        raise errors.ConsentInvalid(f"the holder did not consent to licence type {licence_type}")
    if types is not None and licence_type is None:
        raise errors.ConsentInvalid("the consent token covers some licence types only: name one with licence_type")
    return ConsentGrant(
        consent_id=claim("jti", str),
        holder_id=holder_id,
        requester=requester,
        purposes=purposes,
        licence_types=tuple(types) if types is not None else None,
        expires_at=expires_at,
        issued_by=report.trust_anchor.service_name,
    )


def _holder_city(holder_id: str) -> str:
    """The city (prefecture-level GB/T 2260 code) a holder is registered in, from its code: a USCC's
    registration authority region, or an ID number's address code. Only that city's consent
    service may speak for the holder."""
    try:
        region = catalogs.holder_region(holder_id)
    except catalogs.CatalogError as exc:
        raise errors.InvalidContent(
            "holder_id must be a unified social credit code (GB 32100) or a resident ID number (GB 11643), "
            "with its check character"
        ) from exc
    return region[:4] + "00"


@dataclass
class FetchLicences(_RecognitionOperation):
    """GET /v1/licences: a holder's licences from the issuing city's registry, with purpose and consent."""

    name: str = "licences.fetch"
    required_right: str | None = FETCH_LICENCES_RIGHT
    purpose_required: bool = True
    holder_id: str = ""
    licence_type: str | None = None
    issuing_city: str = ""

    async def prepare(self, exchange: Exchange, runtime: Runtime) -> None:
        recognition_of(runtime)
        if not self.holder_id or not self.issuing_city:
            raise errors.InvalidContent("holder_id and issuing_city are required; licence_type is optional")
        page_of([], exchange.request.query)  # bad paging is refused before the consent is looked at
        _holder_city(self.holder_id)  # InvalidContent unless a valid USCC or ID number
        if runtime.partners is None:
            raise errors.ServiceUnavailable("no partner systems are configured")
        runtime.partners.client_for(self.issuing_city)

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert runtime.partners is not None and exchange.caller is not None and exchange.purpose is not None
        recognition = recognition_of(runtime)
        grant = await verify_consent(
            recognition,
            exchange.request.headers.get(CONSENT_HEADER),
            holder_id=self.holder_id,
            requester=exchange.caller.id,
            audience=runtime.settings.gateway_id,
            purpose=exchange.purpose,
            licence_type=self.licence_type,
            now=runtime.clock.now(),
        )
        licences = await runtime.partners.client_for(self.issuing_city).find_licences(self.holder_id, self.licence_type)
        writer = recognition.formats.get(exchange.caller.city)
        items = [
            {
                "licence": licence.model_dump(mode="json"),
                "mapped": writer.write_licence(licence) if writer is not None else None,
            }
            for licence in licences
            if grant.licence_types is None or licence.licence_type in grant.licence_types
        ]
        exchange.result = {
            **page_of(items, exchange.request.query),
            "consent": {
                "id": grant.consent_id,
                "issued_by": grant.issued_by,
                "expires_at": grant.expires_at.isoformat(),
            },
        }


# ---- enterprise e-seals ------------------------------------------------------------------------------


async def verify_seal(
    recognition: Recognition, request: DocumentRequest, partners: PartnerDirectory | None, now: datetime
) -> dict[str, Any]:
    """An e-seal on a sealed document (OFD) or a bare SES signature over `data`: the seal maker's
    and the signer's chains, the seal's validity, and its status at the issuing city's seal platform."""
    try:
        evidence = await asyncio.to_thread(examine_document, request.document, request.document_format, request.data)
    except trust.SignatureFailure as failure:
        return {"recognised": False, "report": trust.validate_failure(failure, now).to_json()}
    if evidence.seal is None:
        no_seal = trust.SignatureFailure(trust.SubIndication.FORMAT_FAILURE, "the document carries no e-seal (SES)")
        return {"recognised": False, "report": trust.validate_failure(no_seal, now).to_json()}
    report = await recognition.validate(evidence, SEAL_SERVICE_TYPES, now)
    answer: dict[str, Any] = {"recognised": False}
    maker_anchor = report.seal_maker_anchor or report.trust_anchor
    if report.passed and maker_anchor is not None:
        issuing_city = maker_anchor.trust_list_city  # the seal platform that made the seal
        answer["issuing_city"] = issuing_city
        if partners is None:
            report.fail(trust.SignatureFailure(trust.SubIndication.TRY_LATER, "no seal platforms are configured"))
        else:
            platform, seal_id = partners.client_for(issuing_city), evidence.seal.seal_id
            source = f"the {issuing_city} seal platform"
            _issuing_city_verdict(
                report,
                now,
                await _ask(source, lambda: platform.get_seal(seal_id)),
                source=source,
                subject=f"seal {seal_id}",
                sub_indication_for=_seal_sub_indication,
                status_subject=f"seal {seal_id}",
            )
    answer["recognised"] = report.passed
    answer["report"] = report.to_json()
    return answer


def _seal_sub_indication(status: str) -> trust.SubIndication | None:
    return None if status == "valid" else trust.SubIndication.SEAL_NOT_VALID


@dataclass
class VerifySeal(_DocumentOperation):
    name: str = "seals.verify"
    required_right: str | None = VERIFY_SEALS_RIGHT

    async def forward(self, exchange: Exchange, runtime: Runtime) -> None:
        assert self.request is not None
        exchange.result = await verify_seal(
            recognition_of(runtime), self.request, runtime.partners, runtime.clock.now()
        )
