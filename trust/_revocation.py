"""Revocation by CRL: fetch from the certificate's cRLDistributionPoints, check the issuer's signature, cache.

A CRL is used only when its issuer's key signed it (SM2-with-SM3 through trust._sm2_x509, others
through cryptography) and it is fresh at the validation time (before its nextUpdate); it is cached
per URL and issuer until that nextUpdate. The network comes in as an injected async `fetch(url)`;
concurrent validations share one fetch per URL, and a failed fetch is remembered for a while (callers
are told only that the CRL could not be fetched; the cause goes to the "tongban.trust" log). A
certificate without a distribution point, or whose CRL cannot be had fresh, raises RevocationUnavailable,
which the engine reports as INDETERMINATE/TRY_LATER (EN 319 102-1 5.2.5).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from trust._errors import InvalidCertificate, InvalidSignature, TrustError, UnsupportedKey
from trust._sm2 import SM2_WITH_SM3_OID
from trust._sm2_x509 import verify_crl_signature as sm2_verify_crl_signature

__all__ = ["RevocationChecker", "RevocationStatus", "RevocationUnavailable"]

Fetch = Callable[[str], Awaitable[bytes]]

log = logging.getLogger("tongban.trust")


class RevocationUnavailable(TrustError):
    """No fresh, authentic revocation information for a certificate (INDETERMINATE/TRY_LATER)."""


@dataclass(frozen=True)
class RevocationStatus:
    status: str  # "good" or "revoked"
    source: str  # the CRL's URL
    revoked_at: datetime | None = None
    crl_this_update: datetime | None = None
    crl_next_update: datetime | None = None


@functools.lru_cache(maxsize=4096)
def crl_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    """The http(s) URLs of the certificate's cRLDistributionPoints, in order (remembered per certificate)."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return ()
    urls = []
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith(("http://", "https://")):
                urls.append(name.value)
    return tuple(urls)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@functools.lru_cache(maxsize=1024)
def _issuer_digest(issuer: x509.Certificate) -> bytes:
    return hashlib.sha256(_der(issuer)).digest()


def verify_crl_issued_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> None:
    """Raises InvalidSignature unless `issuer` issued and signed the CRL."""
    if crl.issuer != issuer.subject:
        raise InvalidSignature("the CRL names another issuer")
    if crl.signature_algorithm_oid.dotted_string == SM2_WITH_SM3_OID:
        try:
            sm2_verify_crl_signature(crl.public_bytes(Encoding.DER), _der(issuer))
        except (InvalidCertificate, UnsupportedKey) as exc:
            raise InvalidSignature("the CRL issuer holds no SM2 key") from exc
        return
    try:
        valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise InvalidSignature("the CRL signature cannot be checked with the issuer's key") from exc
    if not valid:
        raise InvalidSignature("the CRL signature does not verify with the issuer's key")


class RevocationChecker:
    """Answers "was this certificate revoked, and when" from its issuer's CRL, cached until nextUpdate.

    Concurrent requests for one URL share one fetch, and its failure: a CRL that could not be fetched is
    not asked for again for `retry_after_seconds` (by `clock`, monotonic seconds); meanwhile the answer is
    RevocationUnavailable at once, so a dead distribution point costs one timeout, not one per validation.
    """

    def __init__(
        self, fetch: Fetch, *, clock: Callable[[], float] = time.monotonic, retry_after_seconds: float = 30.0
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._retry_after = retry_after_seconds
        self._cache: dict[tuple[str, bytes], x509.CertificateRevocationList] = {}
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}
        self._failed_at: dict[str, float] = {}

    async def status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationStatus:
        """The certificate's status per its issuer's CRL fresh at `at`; raises RevocationUnavailable."""
        try:
            urls = crl_urls(certificate)
        except ValueError:  # extensions that do not parse: nothing to fetch from
            urls = ()
        if not urls:
            raise RevocationUnavailable(
                f"{certificate.subject.rfc4514_string()} names no CRL distribution point to check revocation with"
            )
        reasons = []
        for url in urls:
            try:
                crl = await self._crl(url, issuer, at)
            except RevocationUnavailable as exc:
                reasons.append(str(exc))
                continue
            return _status_in(crl, certificate, url)
        raise RevocationUnavailable("; ".join(reasons))

    def held_status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationStatus | None:
        """What `status` answers when the CRL it would consult first is held and fresh at `at`; None when
        answering needs more (a fetch, another URL, or an error to report): then ask `status`."""
        try:
            urls = crl_urls(certificate)
        except ValueError:
            return None
        if not urls:
            return None
        crl = self._held(urls[0], issuer, at)
        return None if crl is None else _status_in(crl, certificate, urls[0])

    def _held(self, url: str, issuer: x509.Certificate, at: datetime) -> x509.CertificateRevocationList | None:
        cached = self._cache.get((url, _issuer_digest(issuer)))
        return cached if cached is not None and _fresh(cached, at) else None

    async def _crl(self, url: str, issuer: x509.Certificate, at: datetime) -> x509.CertificateRevocationList:
        cached = self._held(url, issuer, at)
        if cached is not None:
            return cached
        key = (url, _issuer_digest(issuer))
        data = await self._fetched(url)
        try:
            crl = x509.load_der_x509_crl(data)
        except ValueError as exc:
            raise RevocationUnavailable(f"CRL {url} is not a DER X.509 CRL") from exc
        # Checked per issuer, and never remembered per URL: a forged certificate naming a real CA's URL
        # must not spoil that CRL for everyone else.
        try:
            verify_crl_issued_by(crl, issuer)
        except InvalidSignature as exc:
            raise RevocationUnavailable(f"CRL {url} is not signed by the certificate's issuer: {exc}") from exc
        if not _fresh(crl, at):
            stale_since = crl.next_update_utc.isoformat() if crl.next_update_utc else "always (no nextUpdate)"
            raise RevocationUnavailable(f"CRL {url} is stale: its nextUpdate was {stale_since}")
        self._cache[key] = crl
        return crl

    async def _fetched(self, url: str) -> bytes:
        """The URL's bytes from the one fetch in flight (started if none is); raises RevocationUnavailable."""
        failed_at = self._failed_at.get(url)
        if failed_at is not None and self._clock() - failed_at < self._retry_after:
            raise RevocationUnavailable(_unfetchable(url))
        in_flight = self._in_flight.get(url)
        if in_flight is None:
            in_flight = asyncio.ensure_future(self._fetch_once(url))
            self._in_flight[url] = in_flight
            in_flight.add_done_callback(lambda done: self._settled(url, done))
        # Shielded: a waiter that gives up must not cancel the fetch the others wait for.
        return await asyncio.shield(in_flight)

    async def _fetch_once(self, url: str) -> bytes:
        try:
            data = await self._fetch(url)
        except Exception as exc:  # the injected fetcher's errors are its own; all mean "try later"
            self._failed_at[url] = self._clock()
            log.warning("CRL %s could not be fetched: %s: %s", url, type(exc).__name__, exc)
            raise RevocationUnavailable(_unfetchable(url)) from exc
        self._failed_at.pop(url, None)
        return data

    def _settled(self, url: str, done: asyncio.Future[bytes]) -> None:
        if self._in_flight.get(url) is done:
            del self._in_flight[url]
        if not done.cancelled():
            done.exception()  # retrieved here, so a fetch nobody waits for any more fails quietly


def _status_in(crl: x509.CertificateRevocationList, certificate: x509.Certificate, url: str) -> RevocationStatus:
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    next_update = crl.next_update_utc
    if entry is None or _reason(entry) is x509.ReasonFlags.remove_from_crl:
        return RevocationStatus("good", url, None, crl.last_update_utc, next_update)
    return RevocationStatus("revoked", url, entry.revocation_date_utc, crl.last_update_utc, next_update)


def _unfetchable(url: str) -> str:
    return f"the CRL at {url} could not be fetched"


def _fresh(crl: x509.CertificateRevocationList, at: datetime) -> bool:
    return crl.next_update_utc is not None and at < crl.next_update_utc


def _reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return None
