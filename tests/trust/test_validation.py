"""The validation engine end to end: real chains, real CRLs, a signed trust list; every sub-indication."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trust import _chain as chain_module
from trust._pki import PrivateKey, issue_certificate, issue_crl
from trust._report import (
    Indication,
    SealSummary,
    SignatureEvidence,
    SignatureFailure,
    SubIndication,
    ValidationReport,
)
from trust._revocation import RevocationChecker
from trust._sm2 import Sm2PrivateKey
from trust._trustlist import (
    ServiceStatus,
    TrustList,
    TrustListExpired,
    TrustLists,
    TrustListSource,
    TrustListUnavailable,
    TrustService,
    sign_trust_list,
)
from trust._validation import validate_failure, validate_signature

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SIGNED = NOW - timedelta(hours=2)  # the signing time the documents claim
CITY = "440300"
CRL = "http://crl.test/{}.crl"
LICENCE = frozenset({"licence-issuer"})
CA = frozenset({"ca"})
LIST_NEXT_UPDATE = NOW + timedelta(days=30)


@dataclass
class Party:
    certificate: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def issuer(self) -> tuple[x509.Certificate, PrivateKey]:
        return self.certificate, self.key


def _crl_url(issuer: Party) -> str:
    name = str(issuer.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    return CRL.format(name.replace(" ", "-"))


def _party(
    name: str,
    issuer: Party | None,
    *,
    algorithm: str = "ec",
    ca: bool = False,
    crl: str | None = "auto",
    not_before: datetime = NOW - timedelta(days=365),
    not_after: datetime = NOW + timedelta(days=365),
    key_usage: Sequence[str] | None = None,
) -> Party:
    key: PrivateKey
    if algorithm == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = Sm2PrivateKey.generate()
    crl_url = None
    if issuer is not None and crl == "auto":
        crl_url = _crl_url(issuer)
    elif crl != "auto":
        crl_url = crl
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = issue_certificate(
        subject,
        key,
        None if issuer is None else issuer.issuer,
        not_before=not_before,
        not_after=not_after,
        ca=ca,
        crl_url=crl_url,
        key_usage=key_usage,
    )
    return Party(certificate, key)


class Crls:
    """The CRL distribution points as the injected fetch sees them: published bytes, outages, a call count."""

    def __init__(self) -> None:
        self.published: dict[str, bytes] = {}
        self.unreachable: set[str] = set()
        self.calls: dict[str, int] = {}

    def publish(self, issuer: Party, revoked: Sequence[tuple[Party, datetime]] = (), **times: datetime) -> None:
        this_update = times.get("this_update", NOW - timedelta(hours=1))
        next_update = times.get("next_update", NOW + timedelta(days=7))
        entries = [(party.certificate.serial_number, when) for party, when in revoked]
        self.published[_crl_url(issuer)] = issue_crl(
            issuer.issuer, entries, this_update=this_update, next_update=next_update
        )

    async def fetch(self, url: str) -> bytes:
        self.calls[url] = self.calls.get(url, 0) + 1
        if url in self.unreachable or url not in self.published:
            raise ConnectionError(f"{url} unreachable")
        return self.published[url]


@dataclass
class World:
    parties: dict[str, Party] = field(default_factory=dict)
    crls: Crls = field(default_factory=Crls)
    trust_lists: TrustLists | None = None
    trust_list: TrustList | None = None
    operator: Party | None = None
    withdrawn_at: datetime = NOW - timedelta(hours=1)

    def __getitem__(self, name: str) -> Party:
        return self.parties[name]


@pytest.fixture(scope="module")
def world() -> World:
    world = World()
    p = world.parties
    p["root"] = _party(
        "root", None, ca=True, not_before=NOW - timedelta(days=3000), not_after=NOW + timedelta(days=3000)
    )
    p["inter"] = _party("inter", p["root"], ca=True, not_before=NOW - timedelta(days=1000))
    p["inter-revoked"] = _party("inter-revoked", p["root"], ca=True, not_before=NOW - timedelta(days=1000))
    p["signer"] = _party("深圳市市场监督管理局", p["inter"])
    p["ed25519"] = _party("ed25519 signer", p["inter"], algorithm="ed25519")
    p["revoked-before"] = _party("revoked before signing", p["inter"])
    p["revoked-after"] = _party("revoked after signing", p["inter"])
    p["expired"] = _party(
        "expired", p["inter"], not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=10)
    )
    p["not-yet"] = _party("not yet valid", p["inter"], not_before=NOW + timedelta(hours=1))
    p["no-cdp"] = _party("no distribution point", p["inter"], crl=None)
    p["unreachable-cdp"] = _party("unreachable", p["inter"], crl="http://crl.test/down.crl")
    p["encipher-only"] = _party("encipher only", p["inter"], key_usage=["key_encipherment"])
    p["under-revoked-ca"] = _party("under revoked CA", p["inter-revoked"])
    p["withdrawn"] = _party("withdrawn issuer", p["inter"])
    p["seal-platform"] = _party("seal platform", p["inter"])
    p["rogue-root"] = _party("rogue root", None, ca=True)
    p["rogue-signer"] = _party("rogue signer", p["rogue-root"])
    p["not-a-ca"] = _party("not a CA", p["inter"])
    p["issued-by-leaf"] = _party("issued by a leaf", p["not-a-ca"], crl=None)
    p["sm2-root"] = _party("sm2 root", None, algorithm="sm2", ca=True, not_before=NOW - timedelta(days=3000))
    p["sm2-inter"] = _party("sm2 inter", p["sm2-root"], algorithm="sm2", ca=True, not_before=NOW - timedelta(days=1000))
    p["sm2-signer"] = _party("sm2 licence signer", p["sm2-inter"], algorithm="sm2")
    p["sm2-revoked"] = _party("sm2 revoked", p["sm2-inter"], algorithm="sm2")
    p["sm2-seal-maker"] = _party("sm2 seal maker", p["sm2-inter"], algorithm="sm2")
    p["sm2-enterprise"] = _party("sm2 enterprise", p["sm2-inter"], algorithm="sm2")

    crls = world.crls
    crls.publish(p["root"], [(p["inter-revoked"], NOW - timedelta(days=30))])
    crls.publish(
        p["inter"],
        [(p["revoked-before"], NOW - timedelta(days=3)), (p["revoked-after"], NOW - timedelta(hours=1))],
    )
    crls.publish(p["inter-revoked"])
    crls.publish(p["rogue-root"])
    crls.publish(p["sm2-root"])
    crls.publish(p["sm2-inter"], [(p["sm2-revoked"], NOW - timedelta(days=1))])

    since = NOW - timedelta(days=3000)
    granted = (ServiceStatus("granted", since),)
    # The issuing CAs are listed too, as in the sandbox: a listed signer's own CRL is then taken from them.
    listed_cas = tuple(p[name].der for name in ("root", "inter", "sm2-root", "sm2-inter"))
    services = (
        TrustService("深圳市电子证照CA", "ca", "440300.szca.pki", listed_cas, granted),
        TrustService(
            "深圳市市场监督管理局",
            "licence-issuer",
            "440300.szamr.licence",
            tuple(p[name].der for name in ("signer", "ed25519", "revoked-before", "revoked-after", "sm2-signer")),
            granted,
        ),
        TrustService(
            "旧发证系统",
            "licence-issuer",
            "440300.szamr.legacy",
            (p["withdrawn"].der,),
            (ServiceStatus("granted", since), ServiceStatus("withdrawn", world.withdrawn_at)),
        ),
        TrustService(
            "深圳市电子印章平台",
            "seal-platform",
            "440300.szseal.platform",
            (p["seal-platform"].der, p["sm2-seal-maker"].der),
            granted,
        ),
    )
    world.operator = _party("operator", None)
    world.trust_list = TrustList(
        "深圳市政务服务数据管理局", CITY, 3, NOW - timedelta(days=1), LIST_NEXT_UPDATE, services
    )
    world.trust_lists = _held(world, world.trust_list)
    return world


def _held(world: World, *trust_lists: TrustList) -> TrustLists:
    """A store holding these lists, signed by the world's operator."""
    operator = world.operator
    assert operator is not None and isinstance(operator.key, ec.EllipticCurvePrivateKey)
    held = TrustLists(
        [
            TrustListSource(trust_list.city, f"http://tl.test/{trust_list.city}", operator.der)
            for trust_list in trust_lists
        ]
    )
    for trust_list in trust_lists:
        held.accept(trust_list.city, sign_trust_list(trust_list, operator.key, operator.der), now=NOW)
    return held


def _evidence(
    world: World, signer: str, *, chain: Sequence[str] = ("inter",), signed: datetime | None = SIGNED, **extra
):
    return SignatureEvidence(
        format="JAdES/JWS",
        signature_algorithm="ES256",
        signer_certificate=world[signer].der,
        certificates=tuple(world[name].der for name in chain),
        claimed_signing_time=signed,
        **extra,
    )


def _validate(world: World, evidence: SignatureEvidence, accepted: frozenset[str] = LICENCE, **options):
    assert world.trust_lists is not None
    checker = options.pop("revocation", None) or RevocationChecker(world.crls.fetch)
    return asyncio.run(
        validate_signature(
            evidence,
            trust_lists=options.pop("trust_lists", world.trust_lists),
            accepted_service_types=accepted,
            revocation=checker,
            validation_time=options.pop("validation_time", NOW),
            **options,
        )
    )


def test_a_good_signature_passes_with_its_chain_and_anchor(world: World) -> None:
    report = _validate(world, _evidence(world, "signer"))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None), report.messages
    # The signer is listed itself: the path ends there, and its CRL is taken from its listed issuer.
    assert [element.certificate.subject for element in report.chain] == ["CN=深圳市市场监督管理局"]
    assert [element.revocation for element in report.chain] == ["good"]
    assert report.chain[0].revocation_source == CRL.format("inter")
    assert [element.origin for element in report.chain] == ["signature"]

    under_a_ca = _validate(world, _evidence(world, "expired", signed=NOW - timedelta(days=20)), CA)
    assert under_a_ca.passed, under_a_ca.messages
    assert [element.certificate.subject for element in under_a_ca.chain] == ["CN=expired", "CN=inter"]
    assert [element.revocation for element in under_a_ca.chain] == ["good", "good"]
    assert [element.revocation_source for element in under_a_ca.chain] == [CRL.format("inter"), CRL.format("root")]
    assert [element.origin for element in under_a_ca.chain] == ["signature", "signature"]
    root_anchored = _validate(world, _evidence(world, "under-revoked-ca", chain=("inter-revoked",)), CA)
    assert [element.origin for element in root_anchored.chain][-1] == "trust list 440300 #3"
    assert root_anchored.chain[-1].revocation_source == "trust list"  # a self-signed anchor: nothing to ask
    anchor = report.trust_anchor
    assert anchor is not None
    assert (anchor.trust_list_city, anchor.trust_list_sequence, anchor.service_type) == (CITY, 3, "licence-issuer")
    assert (anchor.party_id, anchor.status_at_signing_time) == ("440300.szamr.licence", "granted")
    assert report.signing_time == SIGNED and report.validation_time == NOW
    assert report.signer is not None and report.signer.public_key_algorithm == "EC P-256"
    assert any("not proven" in warning for warning in report.warnings)
    assert report.to_json()["indication"] == "TOTAL_PASSED"


def test_what_a_listed_signer_carries_above_itself_changes_nothing(world: World) -> None:
    inter = world["inter"]
    rogue = world["rogue-root"]
    # The real CA's name and key, but issued by a root of the attacker's: it could end a path elsewhere.
    fake_inter = issue_certificate(
        inter.certificate.subject,
        inter.key,
        rogue.issuer,
        not_before=NOW - timedelta(days=10),
        not_after=NOW + timedelta(days=10),
        ca=True,
    )
    fake = fake_inter.public_bytes(Encoding.DER)
    for signer, expected in (("ed25519", None), ("revoked-before", SubIndication.REVOKED)):
        outcomes = set()
        for chain in ((), ("inter",), ("inter", "root")):
            report = _validate(world, _evidence(world, signer, chain=chain))
            outcomes.add(_outcome(report))
        report = _validate(world, replace(_evidence(world, signer), certificates=(fake, rogue.der)))
        outcomes.add(_outcome(report))
        assert len(outcomes) == 1, outcomes
        assert report.sub_indication is expected, report.messages
        assert [element.certificate.sha256 for element in report.chain] == [_sha256(world[signer].der)]
        assert report.chain[0].revocation_source == CRL.format("inter")  # the listed issuer's CRL, whatever came


def _sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _only_roots(world: World) -> TrustList:
    """The world's list with the root CAs alone on its CA service (no issuing CA listed)."""
    assert world.trust_list is not None
    cas, *others = world.trust_list.services
    roots = replace(cas, certificates=(world["root"].der, world["sm2-root"].der))
    return replace(world.trust_list, services=(roots, *others))


def _outcome(report: ValidationReport) -> tuple:
    return (
        report.indication,
        report.sub_indication,
        tuple((element.certificate.sha256, element.revocation, element.revocation_source) for element in report.chain),
        report.trust_anchor,
    )


def test_a_listed_anchor_whose_issuer_is_on_no_list_is_vouched_for_by_the_list_alone(world: World) -> None:
    report = _validate(world, _evidence(world, "signer"), trust_lists=_held(world, _only_roots(world)))
    assert report.passed, report.messages
    assert [element.revocation for element in report.chain] == ["not_checked"]
    assert report.chain[0].revocation_source == "trust list"
    assert any("revocation of CN=深圳市市场监督管理局 was not checked" in warning for warning in report.warnings)


def test_without_a_claimed_time_the_validation_time_is_the_signing_time(world: World) -> None:
    report = _validate(world, _evidence(world, "signer", signed=None))
    assert report.passed and report.signing_time == NOW
    assert any("claims no signing time" in warning for warning in report.warnings)


def test_no_path_to_a_listed_service(world: World) -> None:
    report = _validate(world, _evidence(world, "rogue-signer", chain=("rogue-root",)), CA)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )
    assert report.trust_anchor is None
    assert [element.certificate.subject for element in report.chain] == ["CN=rogue signer", "CN=rogue root"]


def test_a_service_withdrawn_before_the_signing_time(world: World) -> None:
    report = _validate(world, _evidence(world, "withdrawn", signed=world.withdrawn_at + timedelta(minutes=1)))
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )
    assert "withdrawn" in report.messages[0] and world.withdrawn_at.isoformat() in report.messages[0]
    assert report.trust_anchor is not None and report.trust_anchor.status_at_signing_time == "withdrawn"


def test_a_signature_made_before_the_withdrawal_passes_with_a_warning(world: World) -> None:
    report = _validate(world, _evidence(world, "withdrawn", signed=world.withdrawn_at - timedelta(minutes=1)))
    assert report.passed, report.messages
    assert any("withdrawn" in warning and world.withdrawn_at.isoformat() in warning for warning in report.warnings)


def test_a_signer_revoked_before_the_signing_time_fails(world: World) -> None:
    report = _validate(world, _evidence(world, "revoked-before"))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)
    assert report.chain[0].revocation == "revoked"
    assert report.chain[0].revoked_at == NOW - timedelta(days=3)


def test_a_signer_revoked_after_the_signing_time_is_indeterminate(world: World) -> None:
    report = _validate(world, _evidence(world, "revoked-after"))
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE)
    signed_later = _validate(world, _evidence(world, "revoked-after", signed=NOW - timedelta(minutes=30)))
    assert signed_later.sub_indication is SubIndication.REVOKED


def test_a_revoked_intermediate_ca(world: World) -> None:
    report = _validate(world, _evidence(world, "under-revoked-ca", chain=("inter-revoked",)), CA)
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, SubIndication.REVOKED_CA_NO_POE)
    assert [element.revocation for element in report.chain] == ["good", "revoked", "not_checked"]


def test_a_signer_expired_or_not_yet_valid_at_the_signing_time(world: World) -> None:
    expired = _validate(world, _evidence(world, "expired"), CA)
    assert (expired.indication, expired.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.EXPIRED)
    early = _validate(world, _evidence(world, "not-yet"), CA)
    assert (early.indication, early.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID)
    signed_in_time = _validate(world, _evidence(world, "expired", signed=NOW - timedelta(days=20)), CA)
    assert signed_in_time.passed, signed_in_time.messages
    assert any("expired" in warning for warning in signed_in_time.warnings)


def test_revocation_that_cannot_be_had_is_try_later(world: World, caplog: pytest.LogCaptureFixture) -> None:
    no_point = _validate(world, _evidence(world, "no-cdp"), CA)
    assert (no_point.indication, no_point.sub_indication) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert "no CRL distribution point" in no_point.messages[0]
    down = _validate(world, _evidence(world, "unreachable-cdp"), CA)
    assert down.sub_indication is SubIndication.TRY_LATER
    assert "the CRL at http://crl.test/down.crl could not be fetched" in down.messages[0]
    # The fetcher's own words go to the log only.
    assert not any("ConnectionError" in message or ".crl unreachable" in message for message in down.messages)
    assert any("ConnectionError: http://crl.test/down.crl unreachable" in record.message for record in caplog.records)
    assert down.chain[0].revocation == "unknown"


def test_a_stale_or_forged_crl_is_try_later(world: World) -> None:
    stale = _validate(world, _evidence(world, "signer"), validation_time=NOW + timedelta(days=8))
    assert stale.sub_indication is SubIndication.TRY_LATER and "stale" in stale.messages[0]

    forged = Crls()
    forged.published = dict(world.crls.published)
    impostor = Party(world["inter"].certificate, ec.generate_private_key(ec.SECP256R1()))  # the name, not the key
    forged.publish(impostor)
    report = asyncio.run(
        validate_signature(
            _evidence(world, "signer"),
            trust_lists=world.trust_lists,  # type: ignore[arg-type]
            accepted_service_types=LICENCE,
            revocation=RevocationChecker(forged.fetch),
            validation_time=NOW,
        )
    )
    assert report.sub_indication is SubIndication.TRY_LATER and "not signed by" in report.messages[0]


def test_a_total_failure_outweighs_an_indeterminate_one(world: World) -> None:
    checker = RevocationChecker(world.crls.fetch)
    world.crls.unreachable.add(CRL.format("inter"))
    try:
        report = _validate(world, _evidence(world, "expired"), CA, revocation=checker)
    finally:
        world.crls.unreachable.clear()
    assert report.sub_indication is SubIndication.EXPIRED
    assert any("could not be fetched" in message for message in report.messages[1:])


def test_a_link_that_does_not_verify(world: World) -> None:
    der = bytearray(world["signer"].der)
    der[-5] ^= 0x01  # inside the signature value: still parses, no longer verifies
    evidence = SignatureEvidence("JAdES/JWS", "ES256", bytes(der), (world["inter"].der,), SIGNED)
    report = _validate(world, evidence, CA)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
    )
    assert "does not verify" in report.messages[0]


def test_an_issuer_that_is_no_ca(world: World) -> None:
    report = _validate(world, _evidence(world, "issued-by-leaf", chain=("not-a-ca", "inter")), CA)
    assert report.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "is not a CA" in report.messages[0]


def test_a_service_of_the_wrong_type(world: World) -> None:
    report = _validate(world, _evidence(world, "seal-platform"), LICENCE)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    )
    assert "seal-platform" in report.messages[0]
    assert _validate(world, _evidence(world, "seal-platform"), frozenset({"seal-platform"})).passed


def test_a_signer_whose_key_may_not_sign(world: World) -> None:
    report = _validate(world, _evidence(world, "encipher-only"), CA)
    assert report.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE and "keyUsage" in report.messages[0]


def test_a_claimed_signing_time_in_the_future(world: World) -> None:
    report = _validate(world, _evidence(world, "signer", signed=NOW + timedelta(hours=1)))
    assert report.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_an_unparsable_signer_certificate(world: World) -> None:
    evidence = SignatureEvidence("JAdES/JWS", "ES256", b"not a certificate")
    report = _validate(world, evidence)
    assert report.sub_indication is SubIndication.NO_SIGNING_CERTIFICATE_FOUND


def test_a_signer_certificate_of_an_unknown_version_is_reported_not_raised(world: World) -> None:
    der = world["signer"].der
    version = b"\xa0\x03\x02\x01\x02"  # tbsCertificate's [0] EXPLICIT INTEGER 2 (v3)
    assert der.index(version) < 16
    patched = der.replace(version, b"\xa0\x03\x02\x01\x07", 1)
    with pytest.raises(x509.InvalidVersion):  # not a ValueError: what used to escape the engine
        x509.load_der_x509_certificate(patched)
    evidence = replace(_evidence(world, "signer"), signer_certificate=patched)
    report = _validate(world, evidence)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    )
    assert report.messages == ["the signer certificate does not parse"]


def test_crls_are_cached_until_next_update(world: World) -> None:
    checker = RevocationChecker(world.crls.fetch)
    before = dict(world.crls.calls)
    for _ in range(3):
        assert _validate(world, _evidence(world, "signer"), revocation=checker).passed
    url = CRL.format("inter")
    assert world.crls.calls[url] - before.get(url, 0) == 1
    later = _validate(world, _evidence(world, "signer"), revocation=checker, validation_time=NOW + timedelta(days=8))
    assert later.sub_indication is SubIndication.TRY_LATER  # refetched, and the same CRL is stale by then
    assert world.crls.calls[url] - before.get(url, 0) == 2


def test_fail_closed_when_the_list_expired_or_never_came(world: World) -> None:
    with pytest.raises(TrustListExpired):
        _validate(world, _evidence(world, "signer"), validation_time=LIST_NEXT_UPDATE)
    assert world.trust_list is not None
    nothing = TrustLists([TrustListSource(CITY, "http://tl.test/440300", world["root"].der)])
    with pytest.raises(TrustListUnavailable):
        _validate(world, _evidence(world, "signer"), trust_lists=nothing)
    with pytest.raises(TrustListUnavailable):  # another city's list missing may hide the path
        _validate(world, _evidence(world, "rogue-signer", chain=("rogue-root",)), cities=[CITY, "442000"])


# ---- SM2 ---------------------------------------------------------------------------------------------------


def test_an_sm2_chain_passes(world: World) -> None:
    evidence = _evidence(world, "sm2-signer", chain=("sm2-inter",))
    report = _validate(world, evidence)
    assert report.passed, report.messages
    assert report.signer is not None and report.signer.public_key_algorithm == "SM2"
    assert [element.revocation for element in report.chain] == ["good"]
    assert report.chain[0].revocation_source == CRL.format("sm2-inter")


def test_an_sm2_signer_revoked(world: World) -> None:
    report = _validate(world, _evidence(world, "sm2-revoked", chain=("sm2-inter",)), CA)
    assert report.sub_indication is SubIndication.REVOKED


def test_a_tampered_sm2_link(world: World) -> None:
    der = bytearray(world["sm2-signer"].der)
    der[-5] ^= 0x01
    evidence = SignatureEvidence("SES v4 (GB/T 38540)", "SM2-with-SM3", bytes(der), (world["sm2-inter"].der,), SIGNED)
    report = _validate(world, evidence, CA)
    assert report.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "does not verify" in report.messages[0]


def _seal(world: World, maker: str, **times: datetime) -> SealSummary:
    return SealSummary(
        seal_id="440300000000001",
        name="深圳示例科技有限公司合同专用章",
        seal_type=1,
        valid_from=times.get("valid_from", NOW - timedelta(days=100)),
        valid_until=times.get("valid_until", NOW + timedelta(days=100)),
        maker_certificate=world[maker].der,
        signer_certificates=(world["sm2-enterprise"].der,),
        version=4,
    )


def test_an_e_seal_needs_its_maker_on_a_seal_platform_service(world: World) -> None:
    evidence = _evidence(world, "sm2-enterprise", chain=("sm2-inter",), seal=_seal(world, "sm2-seal-maker"))
    report = _validate(world, evidence, CA)
    assert report.passed, report.messages
    assert report.seal_maker_anchor is not None and report.seal_maker_anchor.service_type == "seal-platform"
    assert [element.revocation for element in report.seal_maker_chain] == ["good"]
    assert [element.revocation for element in report.chain] == ["good", "good"]  # enterprise, sm2-inter

    forged_maker = _evidence(world, "sm2-enterprise", chain=("sm2-inter",), seal=_seal(world, "sm2-signer"))
    report = _validate(world, forged_maker, CA)
    assert report.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert report.messages[0].startswith("seal maker")

    out_of_date = _seal(world, "sm2-seal-maker", valid_until=SIGNED - timedelta(days=1))
    report = _validate(world, _evidence(world, "sm2-enterprise", chain=("sm2-inter",), seal=out_of_date), CA)
    assert report.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE and "seal's validity" in report.messages[0]


def test_validate_failure_reports_an_examiners_verdict() -> None:
    report = validate_failure(SignatureFailure(SubIndication.HASH_FAILURE, "digest mismatch"), NOW, format="XML-DSig")
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    assert report.messages == ["digest mismatch"] and report.format == "XML-DSig" and report.validation_time == NOW
    indeterminate = validate_failure(SignatureFailure(SubIndication.SIGNED_DATA_NOT_FOUND, "no data"), NOW)
    assert indeterminate.indication is Indication.INDETERMINATE


# ---- bounds and constraints ----------------------------------------------------------------------------------


def test_more_carried_certificates_than_the_cap_is_a_format_failure(world: World) -> None:
    evidence = _evidence(world, "signer", chain=("inter", "root") * 6)  # 12: duplicates count, parsed or not
    report = _validate(world, evidence)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)
    assert "at most 10" in report.messages[0] and report.chain == []
    assert _validate(world, _evidence(world, "signer", chain=("inter", "root") * 5)).passed


def _crafted_ca(name: str, public_key, issuer: Party, *, path_length: int | None = None) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .sign(issuer.key, hashes.SHA256())  # type: ignore[arg-type]
    )


def test_carried_issuers_with_slow_rsa_keys_are_refused_unchecked(world: World) -> None:
    modulus = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    slow = rsa.RSAPublicNumbers((1 << 2040) + 1, modulus).public_key()
    # With the signer's issuer name, under any root: each would cost a slow check, were its key not refused first.
    fakes = tuple(_crafted_ca("inter", slow, world["rogue-root"]).public_bytes(Encoding.DER) for _ in range(10))
    evidence = replace(_evidence(world, "expired"), certificates=fakes)
    report = _validate(world, evidence, CA, trust_lists=_held(world, _only_roots(world)))
    assert report.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "public exponent is not 65537" in report.messages[0]


def test_a_path_longer_than_a_ca_allows_is_a_chain_constraints_failure(world: World) -> None:
    root = world["root"]
    limited_key, sub_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    limited = Party(_crafted_ca("limited CA", limited_key.public_key(), root, path_length=0), limited_key)
    sub = Party(_crafted_ca("sub CA", sub_key.public_key(), limited), sub_key)
    leaf = _party("under a limited CA", sub, crl=None)
    evidence = SignatureEvidence("JAdES/JWS", "ES256", leaf.der, (sub.der, limited.der), SIGNED)
    report = _validate(world, evidence, CA)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    )
    assert any("pathLenConstraint" in message for message in report.messages)


def test_a_preferred_city_breaks_the_tie_between_two_lists_of_the_same_ca(world: World) -> None:
    assert world.trust_list is not None
    zhongshan = replace(
        world.trust_list,
        operator_name="中山市政务服务数据管理局",
        city="442000",
        services=tuple(
            replace(service, party_id="442000" + service.party_id[6:]) for service in world.trust_list.services
        ),
    )
    lists = _held(world, world.trust_list, zhongshan)
    evidence = _evidence(world, "signer")
    chosen = {}
    for preferred in (None, CITY, "442000"):
        report = _validate(world, evidence, trust_lists=lists, preferred_city=preferred)
        assert report.passed and report.trust_anchor is not None, report.messages
        chosen[preferred] = report.trust_anchor.trust_list_city
    assert chosen == {None: CITY, CITY: CITY, "442000": "442000"}


# ---- what is remembered between validations ------------------------------------------------------------------


def _counting_path_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the path searches actually done (not answered from memory)."""
    searches: list[int] = []
    original = chain_module._build_paths

    def counting(*arguments, **options):
        searches.append(1)
        return original(*arguments, **options)

    monkeypatch.setattr(chain_module, "_build_paths", counting)
    return searches


def _seal_evidence(world: World) -> SignatureEvidence:
    return _evidence(world, "sm2-enterprise", chain=("sm2-inter",), seal=_seal(world, "sm2-seal-maker"))


def test_a_remembered_path_does_not_outlive_the_trust_list_it_was_found_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.trust_list is not None and world.operator is not None
    held = _held(world, world.trust_list)
    searches = _counting_path_searches(monkeypatch)
    assert _validate(world, _seal_evidence(world), CA, trust_lists=held).passed
    assert len(searches) == 2  # the signer's path and the seal maker's
    assert _validate(world, _seal_evidence(world), CA, trust_lists=held).passed
    assert len(searches) == 2  # both remembered
    # The next list no longer holds the SM2 CAs: the remembered paths must not be used any more.
    ca_service, *others = world.trust_list.services
    without_sm2 = replace(ca_service, certificates=(world["root"].der, world["inter"].der))
    next_list = replace(world.trust_list, sequence=4, services=(without_sm2, *others))
    operator_key = world.operator.key
    assert isinstance(operator_key, ec.EllipticCurvePrivateKey)
    held.accept(CITY, sign_trust_list(next_list, operator_key, world.operator.der), now=NOW)
    report = _validate(world, _seal_evidence(world), CA, trust_lists=held)
    assert len(searches) == 4
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    ), report.messages
    # A list that withdraws the seal platform before the seal was made (the same certificates, another
    # status) is judged afresh too.
    seal_service = next(service for service in others if service.service_type == "seal-platform")
    before_the_seal = _seal(world, "sm2-seal-maker").valid_from - _HOUR
    withdrawn = replace(seal_service, history=(*seal_service.history, ServiceStatus("withdrawn", before_the_seal)))
    third = replace(
        world.trust_list,
        sequence=5,
        services=tuple(withdrawn if service is seal_service else service for service in world.trust_list.services),
    )
    held.accept(CITY, sign_trust_list(third, operator_key, world.operator.der), now=NOW)
    report = _validate(world, _seal_evidence(world), CA, trust_lists=held)
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND, report.messages
    assert report.messages[0].startswith("seal maker") and "withdrawn" in report.messages[0]


_HOUR = timedelta(hours=1)


def test_a_crl_that_revokes_a_signer_whose_path_was_remembered_is_heeded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    crls = Crls()
    crls.published = dict(world.crls.published)
    checker = RevocationChecker(crls.fetch)
    searches = _counting_path_searches(monkeypatch)
    assert _validate(world, _seal_evidence(world), CA, revocation=checker).passed
    assert _validate(world, _seal_evidence(world), CA, revocation=checker).passed
    done = len(searches)
    assert done <= 2  # the second validation's paths were remembered
    # The CA publishes a CRL revoking the enterprise's certificate before the signing time; the one held
    # is fresh for a week yet, after which the new one is fetched.
    crls.publish(
        world["sm2-inter"],
        [(world["sm2-enterprise"], SIGNED - _HOUR)],
        this_update=NOW + timedelta(days=6),
        next_update=NOW + timedelta(days=14),
    )
    later = NOW + timedelta(days=8)
    report = _validate(world, _seal_evidence(world), CA, revocation=checker, validation_time=later)
    assert len(searches) == done  # the path itself was remembered...
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)
    assert report.chain[0].revocation == "revoked"  # ...and revocation was asked all the same
    # The seal maker revoked: a fresh checker (a restart) takes the new CRL at once.
    crls.publish(
        world["sm2-inter"],
        [(world["sm2-seal-maker"], NOW - timedelta(days=200))],
        this_update=NOW - _HOUR,
        next_update=NOW + timedelta(days=7),
    )
    report = _validate(world, _seal_evidence(world), CA, revocation=RevocationChecker(crls.fetch))
    assert report.sub_indication is SubIndication.REVOKED, report.messages
    assert report.messages[0].startswith("seal maker")


def test_validity_is_judged_per_validation_on_a_remembered_path(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    searches = _counting_path_searches(monkeypatch)
    in_time = _validate(world, _evidence(world, "expired", signed=NOW - timedelta(days=20)), CA)
    assert in_time.passed, in_time.messages
    done = len(searches)
    expired = _validate(world, _evidence(world, "expired"), CA)
    assert len(searches) == done  # the same path, remembered
    assert (expired.indication, expired.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.EXPIRED)
