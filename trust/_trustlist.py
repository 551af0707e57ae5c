"""Signed trust lists, one per city, in the spirit of ETSI TS 119 612, and the store that keeps them fresh.

A city's list operator vouches for the services of its city: certificate authorities, licence issuers,
seal platforms, credit platforms, trading centres, member systems, consent services. Each service has
its certificates (a CA certificate, or the end-entity certificate itself) and a status history, so a
signature is judged by the status in force when it was made.

Wire format (the choice, and why): a compact JWS (RFC 7515), `alg` ES256 with the operator's P-256 key,
header `{"alg": "ES256", "typ": "tongban-trust-list+jws", "x5c": [operator certificate]}`, payload the
list as RFC 8785 canonical JSON. A compact JWS is one self-describing ASCII file that any JOSE library
verifies; the payload is canonical so the bytes that were signed are the bytes anyone re-derives.
The `x5c` certificate is informative only: the verifier pins the operator certificate from its own
configuration and refuses a list whose `x5c` names another.

Payload:

    {"version": 1,
     "scheme_operator": {"name": "深圳市政务服务数据管理局", "city": "440300"},
     "sequence": 7, "issued_at": "2026-12-01T00:00:00Z", "next_update": "2026-12-31T00:00:00Z",
     "services": [{"name": "...", "type": "licence-issuer", "party_id": "440300.szamr.licence",
                   "certificates": ["<base64 DER>", ...],
                   "history": [{"status": "granted", "since": "..."}, {"status": "withdrawn", ...}]}]}

Fail closed: after a list's `next_update`, lookups raise TrustListExpired; a city whose list never
arrived raises TrustListUnavailable. The gateway answers 503 for both. A refresh gives each city's fetch
its own timeout, and says why one failed in fixed phrases only (a status page shows them); the cause is
logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from trust._certificates import load_der_certificate
from trust._errors import InvalidCertificate, TrustError
from trust._json import JsonRejected, parse_json
from trust._jwk import NotCanonicalBase64url, b64url_decode_strict, ecdsa_der
from trust._jws import sign_compact, split_compact
from trust._time import utc_text

__all__ = [
    "RefreshResult",
    "SERVICE_TYPES",
    "ServiceStatus",
    "TrustList",
    "TrustListExpired",
    "TrustListInvalid",
    "TrustListSource",
    "TrustListUnavailable",
    "TrustLists",
    "TrustService",
    "parse_trust_list",
    "sign_trust_list",
]

log = logging.getLogger("tongban.trust.trustlist")

SERVICE_TYPES = frozenset(
    {
        "ca",
        "consent-service",
        "credit-platform",
        "licence-issuer",
        "member-system",
        "seal-platform",
        "trading-centre",
    }
)
SERVICE_STATUSES = frozenset({"granted", "withdrawn"})
TRUST_LIST_JWS_TYPE = "tongban-trust-list+jws"
FORMAT_VERSION = 1
# A list stamped later than this past our clock is refused: the operator's clock or the list is wrong.
ISSUED_AT_TOLERANCE = timedelta(minutes=5)
DEFAULT_FETCH_TIMEOUT_SECONDS = 10.0
# What a refresh result's detail may say: fixed phrases, never an exception's text (the status endpoint is public).
FETCH_FAILED = "fetch failed"
FETCH_TIMED_OUT = "fetch timed out"
REJECTION_REASONS = frozenset(
    {
        "bad signature",
        "issued in the future",
        "malformed",
        "operator certificate not valid at issue",
        "sequence re-used",
        "sequence went backwards",
        "signed by another operator",
        "wrong city",
    }
)

Fetch = Callable[[str], Awaitable[bytes]]


class TrustListInvalid(TrustError):
    """A trust list that is malformed, not signed by the configured operator, or older than the one held.

    `reason` is a fixed phrase (one of REJECTION_REASONS), safe to show on a public status page; the
    message may quote the list and is for the log.
    """

    def __init__(self, message: str, *, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


class TrustListUnavailable(TrustError):
    """No trust list has been accepted for a city (fail closed: the gateway answers 503)."""

    def __init__(self, city: str) -> None:
        super().__init__(f"no trust list has been accepted for city {city}")
        self.city = city


class TrustListExpired(TrustError):
    """The city's last good trust list is past its next_update (fail closed: the gateway answers 503)."""

    def __init__(self, city: str, next_update: datetime) -> None:
        super().__init__(f"the trust list of city {city} expired at {next_update.isoformat()} (its next_update)")
        self.city = city
        self.next_update = next_update


@dataclass(frozen=True)
class ServiceStatus:
    status: str  # "granted" or "withdrawn"
    since: datetime


@dataclass(frozen=True)
class TrustService:
    """One service the operator vouches for (TS 119 612 TSPService), with its status history."""

    name: str
    service_type: str
    party_id: str  # <city>.<org>.<system>
    certificates: tuple[bytes, ...]  # DER; a CA's certificate or the end-entity certificate itself
    history: tuple[ServiceStatus, ...]  # oldest first

    def status_at(self, when: datetime) -> ServiceStatus | None:
        """The status in force at `when`, or None when the service was not yet on the list then."""
        current = None
        for entry in self.history:
            if entry.since <= when:
                current = entry
        return current

    @property
    def current_status(self) -> ServiceStatus:
        return self.history[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.service_type,
            "party_id": self.party_id,
            "certificates": [base64.b64encode(der).decode("ascii") for der in self.certificates],
            "history": [{"status": entry.status, "since": utc_text(entry.since)} for entry in self.history],
        }


@dataclass(frozen=True)
class TrustList:
    """A city's trust list as its operator signed it."""

    operator_name: str
    city: str  # GB/T 2260
    sequence: int
    issued_at: datetime
    next_update: datetime
    services: tuple[TrustService, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "scheme_operator": {"name": self.operator_name, "city": self.city},
            "sequence": self.sequence,
            "issued_at": utc_text(self.issued_at),
            "next_update": utc_text(self.next_update),
            "services": [service.to_json() for service in self.services],
        }

    def canonical_bytes(self) -> bytes:
        return rfc8785.dumps(self.to_json())

    def is_current_at(self, when: datetime) -> bool:
        return when < self.next_update

    def require_current_at(self, when: datetime) -> None:
        """Raises TrustListExpired unless the list is in force at `when` (fail closed)."""
        if not self.is_current_at(when):
            raise TrustListExpired(self.city, self.next_update)


def sign_trust_list(
    trust_list: TrustList, operator_key: ec.EllipticCurvePrivateKey, operator_certificate: bytes
) -> bytes:
    """The list as a compact JWS (ES256, x5c = the operator certificate), ASCII bytes."""
    if not isinstance(operator_key.curve, ec.SECP256R1):
        raise TrustListInvalid(
            "trust lists are signed with ES256: the operator key must be P-256", reason="signed by another operator"
        )
    header = {
        "alg": "ES256",
        "typ": TRUST_LIST_JWS_TYPE,
        "x5c": [base64.b64encode(operator_certificate).decode("ascii")],
    }
    return sign_compact(header, trust_list.canonical_bytes(), operator_key).encode("ascii")


def parse_trust_list(
    data: bytes, operator_certificate: bytes, *, previous: TrustList | None = None, city: str | None = None
) -> TrustList:
    """Verify a list against the pinned operator certificate (DER) and parse it.

    Raises TrustListInvalid when the signature is not the operator's, the list is malformed, names
    another city than `city`, or goes backwards from `previous` (a lower sequence, or the same
    sequence with other content).
    """
    unverified_payload = _verify_jws(data, operator_certificate)
    try:
        unverified = parse_json(unverified_payload)
    except JsonRejected as exc:
        raise TrustListInvalid("the trust list payload is not JSON") from exc
    trust_list = _trust_list_from_json(unverified)
    if trust_list.canonical_bytes() != unverified_payload:
        raise TrustListInvalid("the trust list payload is not in RFC 8785 canonical form")
    operator = load_der_certificate(operator_certificate)
    if not operator.not_valid_before_utc <= trust_list.issued_at <= operator.not_valid_after_utc:
        raise TrustListInvalid(
            "the operator certificate was not valid when the list was issued",
            reason="operator certificate not valid at issue",
        )
    if city is not None and trust_list.city != city:
        raise TrustListInvalid(f"the list is city {trust_list.city}'s, expected {city}'s", reason="wrong city")
    if previous is not None:
        if trust_list.city != previous.city:
            raise TrustListInvalid(
                f"the list is city {trust_list.city}'s, the one held is {previous.city}'s", reason="wrong city"
            )
        if trust_list.sequence < previous.sequence:
            raise TrustListInvalid(
                f"sequence goes backwards: {trust_list.sequence} after {previous.sequence} (a replayed old list?)",
                reason="sequence went backwards",
            )
        if trust_list.sequence == previous.sequence and trust_list != previous:
            raise TrustListInvalid(
                f"sequence {trust_list.sequence} re-used with different content", reason="sequence re-used"
            )
    return trust_list


def _verify_jws(data: bytes, operator_certificate: bytes) -> bytes:
    try:
        header_part, payload_part, signature_part = split_compact(data.decode("ascii"))
        header_bytes, payload, signature = (
            b64url_decode_strict(part) for part in (header_part, payload_part, signature_part)
        )
        header = parse_json(header_bytes)
    except NotCanonicalBase64url as exc:
        raise TrustListInvalid("not canonical base64url (RFC 7515 forbids padding and stray bits)") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrustListInvalid("not a compact JWS") from exc
    if not isinstance(header, dict) or header.get("alg") != "ES256" or header.get("typ") != TRUST_LIST_JWS_TYPE:
        raise TrustListInvalid(f"expected a JWS with alg ES256 and typ {TRUST_LIST_JWS_TYPE}")
    x5c = header.get("x5c")
    pinned = base64.b64encode(operator_certificate).decode("ascii")
    if not isinstance(x5c, list) or not x5c or x5c[0] != pinned:
        raise TrustListInvalid(
            "the list names another operator certificate than the one configured", reason="signed by another operator"
        )
    public_key = load_der_certificate(operator_certificate).public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise TrustListInvalid(
            "the configured operator certificate does not hold a P-256 key", reason="signed by another operator"
        )
    if len(signature) != 64:
        raise TrustListInvalid("an ES256 signature is 64 bytes", reason="bad signature")
    try:
        public_key.verify(
            ecdsa_der(signature), f"{header_part}.{payload_part}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
    except CryptographyInvalidSignature as exc:
        raise TrustListInvalid(
            "the trust list signature does not verify with the operator's key", reason="bad signature"
        ) from exc
    return payload


def _trust_list_from_json(unverified: Any) -> TrustList:
    try:
        if unverified["version"] != FORMAT_VERSION:
            raise TrustListInvalid(f"unknown trust list version {unverified['version']!r}")
        operator = unverified["scheme_operator"]
        sequence = unverified["sequence"]
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            raise TrustListInvalid("sequence must be a non-negative integer")
        trust_list = TrustList(
            operator_name=_text(operator["name"]),
            city=_city(operator["city"]),
            sequence=sequence,
            issued_at=_time(unverified["issued_at"]),
            next_update=_time(unverified["next_update"]),
            services=tuple(_service_from_json(item) for item in unverified["services"]),
        )
    except (KeyError, TypeError) as exc:
        raise TrustListInvalid(f"malformed trust list: {exc!r}") from exc
    if trust_list.next_update <= trust_list.issued_at:
        raise TrustListInvalid("next_update must come after issued_at")
    return trust_list


def _service_from_json(item: Mapping[str, Any]) -> TrustService:
    service_type = _text(item["type"])
    if service_type not in SERVICE_TYPES:
        raise TrustListInvalid(f"unknown service type {service_type!r}")
    party_id = _text(item["party_id"])
    if len(party_id.split(".")) != 3:
        raise TrustListInvalid(f"party id {party_id!r} is not <city>.<org>.<system>")
    certificates = []
    for text in item["certificates"]:
        try:
            der = base64.b64decode(_text(text), validate=True)
            load_der_certificate(der)
        except (binascii.Error, ValueError, InvalidCertificate) as exc:
            raise TrustListInvalid(f"service {party_id}: a certificate is not base64 DER X.509") from exc
        certificates.append(der)
    if not certificates:
        raise TrustListInvalid(f"service {party_id} lists no certificate")
    history = tuple(ServiceStatus(_text(entry["status"]), _time(entry["since"])) for entry in item["history"])
    if not history:
        raise TrustListInvalid(f"service {party_id} has no status history")
    if any(entry.status not in SERVICE_STATUSES for entry in history):
        raise TrustListInvalid(f"service {party_id}: status must be one of {sorted(SERVICE_STATUSES)}")
    if any(later.since <= earlier.since for earlier, later in itertools.pairwise(history)):
        raise TrustListInvalid(f"service {party_id}: status history must be in time order")
    return TrustService(_text(item["name"]), service_type, party_id, tuple(certificates), history)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TrustListInvalid(f"expected a non-empty string, got {value!r}")
    return value


def _city(value: Any) -> str:
    text = _text(value)
    if len(text) != 6 or not text.isdigit():
        raise TrustListInvalid(f"city {text!r} is not a six-digit GB/T 2260 code")
    return text


def _time(value: Any) -> datetime:
    try:
        when = datetime.fromisoformat(_text(value))
    except ValueError as exc:
        raise TrustListInvalid(f"not an RFC 3339 time: {value!r}") from exc
    if when.tzinfo is None:
        raise TrustListInvalid(f"time without offset: {value!r}")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class TrustListSource:
    """Where a city's list is fetched, and the operator certificate (DER) it must be signed with."""

    city: str
    url: str
    operator_certificate: bytes


@dataclass(frozen=True)
class RefreshResult:
    city: str
    at: datetime
    outcome: str  # "accepted", "unchanged", "fetch_failed", "rejected"
    detail: str
    sequence: int | None  # of the list held after this refresh
    signed: bytes | None = field(default=None, repr=False)  # the list as signed, when newly accepted (to keep)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": utc_text(self.at),
            "outcome": self.outcome,
            "detail": self.detail,
            "sequence": self.sequence,
        }


class TrustLists:
    """The accepted list per configured city; keeps the last good list when a refresh fails."""

    def __init__(self, sources: Iterable[TrustListSource]) -> None:
        self._sources = {source.city: source for source in sources}
        for source in self._sources.values():  # a configuration error shows at start-up, not at the first fetch
            try:
                load_der_certificate(source.operator_certificate)
            except InvalidCertificate as exc:
                raise InvalidCertificate(f"the operator certificate of city {source.city} is not DER X.509") from exc
        self._lists: dict[str, TrustList] = {}
        self._last_refresh: dict[str, RefreshResult] = {}

    @property
    def cities(self) -> tuple[str, ...]:
        return tuple(sorted(self._sources))

    def accept(self, city: str, data: bytes, *, now: datetime) -> TrustList:
        """Verify `data` as `city`'s next list and hold it; raises TrustListInvalid and keeps the old one."""
        source = self._source(city)
        trust_list = parse_trust_list(data, source.operator_certificate, previous=self._lists.get(city), city=city)
        if trust_list.issued_at > now + ISSUED_AT_TOLERANCE:
            raise TrustListInvalid(
                f"the list claims to be issued in the future ({utc_text(trust_list.issued_at)})",
                reason="issued in the future",
            )
        self._lists[city] = trust_list
        return trust_list

    async def refresh(
        self, fetch: Fetch, *, now: datetime, fetch_timeout_seconds: float = DEFAULT_FETCH_TIMEOUT_SECONDS
    ) -> tuple[RefreshResult, ...]:
        """Fetch every city's list (concurrently) and accept the good ones; never raises for one city.

        Each city's fetch gets `fetch_timeout_seconds`, so one that hangs cannot hold up the others.
        """
        results = await asyncio.gather(
            *(self._refresh_one(city, fetch, now, fetch_timeout_seconds) for city in self.cities)
        )
        return tuple(results)

    async def _refresh_one(self, city: str, fetch: Fetch, now: datetime, timeout: float) -> RefreshResult:
        source = self._sources[city]
        held = self._lists.get(city)
        # `detail` is shown on a public endpoint: fixed phrases only; the cause goes to the log.
        try:
            data = await asyncio.wait_for(fetch(source.url), timeout)
        except TimeoutError:
            log.warning(
                "trust list of %s from %s: no answer in %s s; keeping the last good list", city, source.url, timeout
            )
            result = RefreshResult(city, now, "fetch_failed", FETCH_TIMED_OUT, _sequence(held))
        except Exception as exc:  # the injected fetcher's errors are its own; all mean "not now"
            log.warning(
                "trust list of %s from %s could not be fetched: %s: %s; keeping the last good list",
                city,
                source.url,
                type(exc).__name__,
                exc,
            )
            result = RefreshResult(city, now, "fetch_failed", FETCH_FAILED, _sequence(held))
        else:
            try:
                accepted = self.accept(city, data, now=now)
            except TrustListInvalid as exc:
                log.warning("trust list of %s from %s rejected: %s; keeping the last good list", city, source.url, exc)
                result = RefreshResult(city, now, "rejected", exc.reason, _sequence(held))
            else:
                outcome = "unchanged" if held is not None and accepted.sequence == held.sequence else "accepted"
                detail = f"sequence {accepted.sequence}"
                if not accepted.is_current_at(now):
                    detail += ", expired"  # accepted (the newest there is), yet lookups will fail closed
                signed = data if outcome == "accepted" else None
                result = RefreshResult(city, now, outcome, detail, accepted.sequence, signed)
        self._last_refresh[city] = result
        return result

    def list_for(self, city: str, at: datetime) -> TrustList:
        """The city's list in force at `at`; raises TrustListUnavailable or TrustListExpired (fail closed)."""
        trust_list = self.held(city)
        trust_list.require_current_at(at)
        return trust_list

    def held(self, city: str) -> TrustList:
        """The last good list of a city even when expired (to explain a failure); raises TrustListUnavailable."""
        self._source(city)
        trust_list = self._lists.get(city)
        if trust_list is None:
            raise TrustListUnavailable(city)
        return trust_list

    def _source(self, city: str) -> TrustListSource:
        try:
            return self._sources[city]
        except KeyError:
            raise TrustListUnavailable(city) from None

    def snapshot(self, at: datetime) -> dict[str, Any]:
        """For a status endpoint: each city's held list and the last refresh's result."""
        cities: dict[str, Any] = {}
        for city in self.cities:
            trust_list = self._lists.get(city)
            last = self._last_refresh.get(city)
            entry: dict[str, Any] = {
                "url": self._sources[city].url,
                "state": "unavailable"
                if trust_list is None
                else ("current" if trust_list.is_current_at(at) else "expired"),
                "last_refresh": last.to_json() if last else None,
            }
            if trust_list is not None:
                entry.update(
                    {
                        "operator": trust_list.operator_name,
                        "sequence": trust_list.sequence,
                        "issued_at": utc_text(trust_list.issued_at),
                        "next_update": utc_text(trust_list.next_update),
                        "services": len(trust_list.services),
                    }
                )
            cities[city] = entry
        return {"at": utc_text(at), "cities": cities}


def _sequence(trust_list: TrustList | None) -> int | None:
    return None if trust_list is None else trust_list.sequence
