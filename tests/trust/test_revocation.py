"""CRL fetching: one fetch per URL shared by concurrent validations, failures remembered, good CRLs cached."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trust._pki import issue_certificate, issue_crl
from trust._revocation import RevocationChecker, RevocationStatus, RevocationUnavailable

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
URL = "http://crl.test/ca.crl"
WAITERS = 5


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Pki:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = issue_certificate(
            _name("CA"),
            self.ca_key,
            None,
            not_before=NOW - timedelta(days=30),
            not_after=NOW + timedelta(days=30),
            ca=True,
        )
        self.leaves = [
            issue_certificate(
                _name(f"leaf {number}"),
                ec.generate_private_key(ec.SECP256R1()),
                (self.ca, self.ca_key),
                not_before=NOW - timedelta(days=1),
                not_after=NOW + timedelta(days=10),
                crl_url=URL,
            )
            for number in range(WAITERS)
        ]
        self.revoked_at = NOW - timedelta(hours=3)
        self.crl = issue_crl(
            (self.ca, self.ca_key),
            [(self.leaves[0].serial_number, self.revoked_at)],
            this_update=NOW - timedelta(hours=1),
            next_update=NOW + timedelta(days=1),
        )


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


class DistributionPoint:
    """What the injected fetch reaches: each fetch waits until released, then answers or fails."""

    def __init__(self, crl: bytes | None) -> None:
        self.crl = crl
        self.calls = 0
        self.release = asyncio.Event()

    async def fetch(self, url: str) -> bytes:
        self.calls += 1
        await self.release.wait()
        if self.crl is None:
            raise ConnectionError("All connection attempts failed")
        return self.crl


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


async def _concurrently(
    checker: RevocationChecker, point: DistributionPoint, leaves: list[x509.Certificate], issuer: x509.Certificate
) -> list[RevocationStatus | BaseException]:
    tasks = [asyncio.ensure_future(checker.status(leaf, issuer, at=NOW)) for leaf in leaves]
    for _ in range(5):  # let every waiter reach the fetch before it answers
        await asyncio.sleep(0)
    point.release.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_concurrent_waiters_share_one_failed_fetch_and_it_is_remembered(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    point = DistributionPoint(None)
    checker = RevocationChecker(point.fetch, clock=clock, retry_after_seconds=30)

    async def scenario() -> None:
        answers = await _concurrently(checker, point, pki.leaves, pki.ca)
        assert point.calls == 1  # not one fetch (and one timeout) per waiter, in turn
        assert all(isinstance(answer, RevocationUnavailable) for answer in answers)
        assert {str(answer) for answer in answers} == {f"the CRL at {URL} could not be fetched"}

        clock.seconds += 29  # remembered: answered at once, without asking
        with pytest.raises(RevocationUnavailable, match="could not be fetched"):
            await checker.status(pki.leaves[0], pki.ca, at=NOW)
        assert point.calls == 1

        clock.seconds += 2  # forgotten: asked again, and this time it answers
        point.crl = pki.crl
        status = await checker.status(pki.leaves[1], pki.ca, at=NOW)
        assert status.status == "good" and point.calls == 2

    with caplog.at_level("WARNING", logger="tongban.trust"):
        asyncio.run(scenario())
    details = [record for record in caplog.records if record.name == "tongban.trust"]
    assert details and "ConnectionError: All connection attempts failed" in details[0].getMessage()
    assert URL in details[0].getMessage()


def test_concurrent_waiters_share_one_good_fetch_cached_until_next_update(pki: Pki) -> None:
    point = DistributionPoint(pki.crl)
    checker = RevocationChecker(point.fetch, clock=Clock())

    async def scenario() -> None:
        answers = await _concurrently(checker, point, pki.leaves, pki.ca)
        assert point.calls == 1
        assert [answer.status for answer in answers] == ["revoked"] + ["good"] * (WAITERS - 1)  # type: ignore[union-attr]
        assert answers[0].revoked_at == pki.revoked_at  # type: ignore[union-attr]

        await checker.status(pki.leaves[1], pki.ca, at=NOW + timedelta(hours=23))
        assert point.calls == 1  # cached until nextUpdate
        with pytest.raises(RevocationUnavailable, match="stale"):
            await checker.status(pki.leaves[1], pki.ca, at=NOW + timedelta(days=1))
        assert point.calls == 2  # refetched at nextUpdate (and the same CRL is stale by then)

    asyncio.run(scenario())


def test_a_waiter_that_gives_up_does_not_cancel_the_fetch_of_the_others(pki: Pki) -> None:
    point = DistributionPoint(pki.crl)
    checker = RevocationChecker(point.fetch, clock=Clock())

    async def scenario() -> None:
        impatient = asyncio.ensure_future(checker.status(pki.leaves[1], pki.ca, at=NOW))
        patient = asyncio.ensure_future(checker.status(pki.leaves[2], pki.ca, at=NOW))
        await asyncio.sleep(0)
        impatient.cancel()
        await asyncio.sleep(0)
        point.release.set()
        assert (await patient).status == "good"
        assert impatient.cancelled() and point.calls == 1

    asyncio.run(scenario())


def test_a_crl_another_issuer_cannot_vouch_for_is_not_held_against_the_url(pki: Pki) -> None:
    # A forged certificate naming the real CA's URL must not spoil that CRL for everyone else.
    point = DistributionPoint(pki.crl)
    point.release.set()
    checker = RevocationChecker(point.fetch, clock=Clock())
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    impostor = issue_certificate(
        _name("CA"), impostor_key, None, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=1), ca=True
    )

    async def scenario() -> None:
        with pytest.raises(RevocationUnavailable, match="not signed by the certificate's issuer"):
            await checker.status(pki.leaves[1], impostor, at=NOW)
        assert (await checker.status(pki.leaves[1], pki.ca, at=NOW)).status == "good"

    asyncio.run(scenario())


def test_the_held_status_is_what_status_answers_while_the_crl_is_held_and_fresh(pki: Pki) -> None:
    point = DistributionPoint(pki.crl)
    point.release.set()
    checker = RevocationChecker(point.fetch, clock=Clock())
    revoked, good = pki.leaves[0], pki.leaves[1]
    assert checker.held_status(good, pki.ca, at=NOW) is None  # nothing held yet: status() must fetch
    assert asyncio.run(checker.status(good, pki.ca, at=NOW)).status == "good"
    for leaf in (revoked, good):
        assert checker.held_status(leaf, pki.ca, at=NOW) == asyncio.run(checker.status(leaf, pki.ca, at=NOW))
    assert checker.held_status(revoked, pki.ca, at=NOW).status == "revoked"  # type: ignore[union-attr]
    assert point.calls == 1
    # Held under its issuer only, and never past its nextUpdate.
    assert checker.held_status(good, pki.leaves[2], at=NOW) is None
    assert checker.held_status(good, pki.ca, at=NOW + timedelta(days=1)) is None
    assert checker.held_status(pki.ca, pki.ca, at=NOW) is None  # no distribution point: status() explains
