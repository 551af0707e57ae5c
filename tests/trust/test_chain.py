"""Path building and the checks on a path: links, CA constraints, key identifiers, loops, validity, algorithms,
the trust anchor a path ends at, and the bounds that keep crafted certificates from holding the event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trust._chain import (
    MAX_SIGNATURE_CHECKS,
    CertificatePath,
    ListedCertificate,
    build_paths,
    check_path_constraints,
    check_validity,
    listed_certificates,
    listed_issuer,
    select_path,
    summarise_certificate,
    verify_issued_by,
)
from trust._errors import InvalidSignature
from trust._pki import issue_certificate
from trust._report import SignatureFailure, SubIndication
from trust._sm2 import Sm2PrivateKey
from trust._trustlist import ServiceStatus, TrustList, TrustService

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BEFORE, AFTER = NOW - timedelta(days=30), NOW + timedelta(days=30)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(name: str, key, issuer=None, **options) -> x509.Certificate:
    options.setdefault("not_before", BEFORE)
    options.setdefault("not_after", AFTER)
    return issue_certificate(_name(name), key, issuer, **options)


def _ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _list(*services: tuple[str, tuple[x509.Certificate, ...]], history=None, city: str = "440300") -> TrustList:
    entries = tuple(
        TrustService(
            f"service {position}",
            service_type,
            f"{city}.org{position}.system",
            tuple(certificate.public_bytes(Encoding.DER) for certificate in certificates),
            history or (ServiceStatus("granted", BEFORE),),
        )
        for position, (service_type, certificates) in enumerate(services)
    )
    return TrustList("operator", city, 1, NOW, AFTER, entries)


def _select(signer, carried, listed, accepted=frozenset({"ca"}), **options):
    search = build_paths(signer, carried, listed)
    return search, select_path(
        search, listed, accepted_service_types=accepted, signing_time=NOW, validation_time=NOW, **options
    )


def _crafted(
    subject: str,
    public_key,
    issuer: str,
    signing_key,
    *,
    ca: bool = True,
    path_length: int | None = None,
    key_identifier: bytes | None = None,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> x509.Certificate:
    """A certificate as an attacker (or an unusual CA) would make it: any key, any name, any extension."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(BEFORE)
        .not_valid_after(AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
    )
    if key_identifier is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(key_identifier), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _authority_key_id(certificate: x509.Certificate) -> bytes:
    identifier = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert identifier is not None
    return identifier


@pytest.fixture(scope="module")
def pki() -> dict[str, tuple[x509.Certificate, object]]:
    root_key, inter_key, leaf_key = _ec(), _ec(), ed25519.Ed25519PrivateKey.generate()
    root = _issue("root", root_key, ca=True)
    inter = _issue("inter", inter_key, (root, root_key), ca=True)
    leaf = _issue("leaf", leaf_key, (inter, inter_key))
    return {"root": (root, root_key), "inter": (inter, inter_key), "leaf": (leaf, leaf_key)}


def test_a_path_runs_through_carried_and_listed_certificates(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    listed = listed_certificates([_list(("ca", (root,)))])
    search, path = _select(leaf, [inter], listed)
    assert path.certificates == (leaf, inter, root) and path.anchor_index == 2 and path.anchor == root
    assert search.link_failures == ()
    listed_inter = listed_certificates([_list(("ca", (root, inter)))])
    search, path = _select(leaf, [], listed_inter)  # the intermediate found on the list, not in the document
    assert path.certificates == (leaf, inter) and path.anchor_index == 1  # cut at the first listed certificate
    assert search.paths == ((leaf, inter),) and search.signature_checks == 1  # the root above was never tried


def test_the_first_listed_certificate_is_the_anchor_whatever_is_listed_above_it(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    listed = listed_certificates([_list(("seal-platform", (leaf,)), ("ca", (root,)))])
    search, path = _select(leaf, [inter], listed, frozenset({"ca"}))
    # The listing of the leaf decides, even though a CA service above it would be acceptable.
    assert path.certificates == (leaf,) and path.service.service_type == "seal-platform"
    assert search.paths == ((leaf,),) and search.signature_checks == 0


def test_of_the_services_listing_the_anchor_an_acceptable_granted_one_wins(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    withdrawn = (ServiceStatus("granted", BEFORE), ServiceStatus("withdrawn", NOW - timedelta(days=1)))
    listed = listed_certificates(
        [
            _list(("seal-platform", (root,)), ("ca", (root,))),
            _list(("ca", (root,)), history=withdrawn, city="442000"),
        ]
    )
    _, path = _select(leaf, [inter], listed, frozenset({"ca"}))
    assert path.service.service_type == "ca" and path.trust_list.city == "440300"
    _, path = _select(leaf, [inter], listed, frozenset({"seal-platform"}))
    assert path.service.service_type == "seal-platform"
    _, path = _select(leaf, [inter], listed, frozenset({"licence-issuer"}))  # none acceptable: one is reported
    assert path.anchor == root
    # A preference for a city only breaks ties: its list has the root withdrawn, so the granted one stays.
    _, path = _select(leaf, [inter], listed, frozenset({"ca"}), preferred_city="442000")
    assert path.trust_list.city == "440300"


def test_the_preferred_city_breaks_a_tie_between_lists(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    lists = [_list(("ca", (root,)), city="440300"), _list(("ca", (root,)), city="442000")]
    for order in (lists, lists[::-1]):
        listed = listed_certificates(order)
        for city in ("440300", "442000"):
            _, path = _select(leaf, [inter], listed, preferred_city=city)
            assert path.trust_list.city == city
        _, path = _select(leaf, [inter], listed)
        assert path.trust_list.city == order[0].city  # no preference: as before, the first list held


def test_a_fake_issuer_above_a_listed_certificate_is_never_looked_at(pki) -> None:
    root, root_key = pki["root"]
    inter, inter_key = pki["inter"]
    leaf = pki["leaf"][0]
    rogue_key = _ec()
    rogue = _issue("rogue", rogue_key, ca=True)
    fake_inter = _issue("inter", inter_key, (rogue, rogue_key), ca=True)  # the real CA's name and key
    listed = listed_certificates([_list(("licence-issuer", (leaf,)), ("ca", (root,)))])
    outcomes = set()
    for carried in ([], [inter], [fake_inter, rogue], [fake_inter, rogue, inter]):
        search, path = _select(leaf, carried, listed, frozenset({"licence-issuer"}))
        assert search.signature_checks == 0
        outcomes.add((path.certificates, path.service))
    assert outcomes == {((leaf,), listed[0].service)}
    # The anchor's own issuer, to take its CRL from, is sought on the lists only, never among the carried.
    assert listed_issuer(leaf, listed) is None
    with_inter = listed_certificates([_list(("licence-issuer", (leaf,)), ("ca", (root, inter)))])
    assert listed_issuer(leaf, with_inter) == inter
    assert listed_issuer(root, with_inter) is None  # self-issued


def _rsa_modulus(bits: int) -> int:
    # Any odd number of that size serves: the refusal must come before any arithmetic with the key.
    return (1 << (bits - 1)) | 0xB5 | 1


def test_issuers_with_unacceptable_rsa_keys_are_refused_before_any_signature_check(pki) -> None:
    leaf = pki["leaf"][0]
    signer_of_fakes = _ec()
    modulus = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    keys = {
        "public exponent": rsa.RSAPublicNumbers((1 << 2000) + 1, modulus).public_key(),
        "4608 bits": rsa.RSAPublicNumbers(65537, _rsa_modulus(4608)).public_key(),
        "1536 bits": rsa.RSAPublicNumbers(65537, _rsa_modulus(1536)).public_key(),
    }
    listed = listed_certificates([_list(("ca", (pki["root"][0],)))])
    for reason, public_key in keys.items():
        fakes = [
            _crafted("inter", public_key, "rogue", signer_of_fakes, key_identifier=_authority_key_id(leaf))
            for _ in range(3)
        ]
        search = build_paths(leaf, fakes, listed)
        assert search.signature_checks == 0
        assert search.link_failures and all(reason in failure for failure in search.link_failures), reason
        with pytest.raises(SignatureFailure) as failure:
            select_path(search, listed, accepted_service_types=frozenset({"ca"}), signing_time=NOW, validation_time=NOW)
        assert failure.value.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE


def test_path_building_gives_up_after_its_budget_of_signature_checks(pki) -> None:
    leaf = pki["leaf"][0]
    # Well-formed CAs with the leaf's issuer name and key identifier, none holding the key that signed it.
    impostors = [
        _crafted("inter", _ec().public_key(), "root", _ec(), key_identifier=_authority_key_id(leaf))
        for _ in range(MAX_SIGNATURE_CHECKS + 16)
    ]
    listed = listed_certificates([_list(("ca", (pki["root"][0],)))])
    search = build_paths(leaf, impostors, listed)
    assert search.gave_up and search.signature_checks == MAX_SIGNATURE_CHECKS
    with pytest.raises(SignatureFailure) as failure:
        select_path(search, listed, accepted_service_types=frozenset({"ca"}), signing_time=NOW, validation_time=NOW)
    assert failure.value.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "path building gave up" in str(failure.value)
    # Within the budget the same search ends normally.
    small = build_paths(leaf, impostors[:8], listed)
    assert not small.gave_up and small.signature_checks == 8


def test_path_length_constraints_are_enforced() -> None:
    root_key, inter_key, sub_key, leaf_key = _ec(), _ec(), _ec(), _ec()
    for root_limit, expect_failure in ((0, True), (1, False), (None, False)):
        root = _crafted("root", root_key.public_key(), "root", root_key, path_length=root_limit)
        inter = _crafted("inter", inter_key.public_key(), "root", root_key)
        leaf = _crafted("leaf", leaf_key.public_key(), "inter", inter_key, ca=False)
        listed = listed_certificates([_list(("ca", (root,)))])
        _, path = _select(leaf, [inter], listed)
        assert path.certificates == (leaf, inter, root)
        if expect_failure:
            with pytest.raises(SignatureFailure) as failure:
                check_path_constraints(path)
            assert failure.value.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
            assert "pathLenConstraint" in str(failure.value)
        else:
            check_path_constraints(path)
    # An intermediate's own limit counts the CAs below it: inter (0) -> sub -> leaf is one too many.
    root = _crafted("root", root_key.public_key(), "root", root_key)
    inter = _crafted("inter", inter_key.public_key(), "root", root_key, path_length=0)
    sub = _crafted("sub", sub_key.public_key(), "inter", inter_key)
    leaf = _crafted("leaf", leaf_key.public_key(), "sub", sub_key, ca=False)
    listed = listed_certificates([_list(("ca", (root,)))])
    _, path = _select(leaf, [inter, sub], listed)
    with pytest.raises(SignatureFailure) as failure:
        check_path_constraints(path)
    assert failure.value.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE and "CN=inter" in str(failure.value)


def test_unknown_critical_extensions_are_refused() -> None:
    root_key, inter_key, leaf_key = _ec(), _ec(), _ec()
    root = _crafted("root", root_key.public_key(), "root", root_key)
    listed = listed_certificates([_list(("ca", (root,)))])
    name_constraints = x509.NameConstraints(permitted_subtrees=[x509.DNSName("gov.cn")], excluded_subtrees=None)
    private = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00")
    cases = [
        (name_constraints, True, "2.5.29.30"),  # not enforced here, so not accepted either
        (private, True, "1.2.3.4.5"),
        (private, False, None),
        (x509.SubjectAlternativeName([x509.DNSName("ca.example")]), True, None),  # only names the subject
    ]
    for extension, critical, refused_oid in cases:
        inter = _crafted("inter", inter_key.public_key(), "root", root_key, extensions=((extension, critical),))
        leaf = _crafted("leaf", leaf_key.public_key(), "inter", inter_key, ca=False)
        _, path = _select(leaf, [inter], listed)
        if refused_oid is None:
            check_path_constraints(path)
            continue
        with pytest.raises(SignatureFailure) as failure:
            check_path_constraints(path)
        assert failure.value.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
        assert refused_oid in str(failure.value)
    # The anchor's own critical extensions count as well: its operator listed it as it is.
    constrained = _crafted("root", root_key.public_key(), "root", root_key, extensions=((name_constraints, True),))
    (entry,) = listed_certificates([_list(("ca", (constrained,)))])
    with pytest.raises(SignatureFailure):
        check_path_constraints(CertificatePath((constrained,), entry))


def test_a_listed_copy_must_be_byte_identical(pki) -> None:
    root, root_key = pki["root"]
    inter, leaf = pki["inter"][0], pki["leaf"][0]
    reissued_root = _issue("root", root_key, ca=True, not_after=AFTER + timedelta(days=1))  # same name and key
    listed = listed_certificates([_list(("ca", (reissued_root,)))])
    search, path = _select(leaf, [inter, root], listed)
    assert path.certificates[-1] == reissued_root  # reached through the listed copy, which verifies too
    assert len(search.paths) == 2  # and the carried copy, which is no anchor


def test_a_tampered_link_is_a_general_failure_and_a_stranger_no_chain(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    listed = listed_certificates([_list(("ca", (root,)))])
    tampered = bytearray(leaf.public_bytes(Encoding.DER))
    tampered[-3] ^= 0xFF
    bad_leaf = x509.load_der_x509_certificate(bytes(tampered))
    with pytest.raises(SignatureFailure) as failure:
        _select(bad_leaf, [inter], listed)
    assert failure.value.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    stranger = _issue("stranger", _ec())
    with pytest.raises(SignatureFailure) as failure:
        _select(stranger, [inter], listed)
    assert failure.value.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_issuers_must_be_cas_allowed_to_sign_certificates(pki) -> None:
    root, root_key = pki["root"]
    for options in ({"ca": False}, {"ca": True, "key_usage": ["digital_signature", "crl_sign"]}):
        issuer_key = _ec()
        issuer = _issue("weak issuer", issuer_key, (root, root_key), **options)
        leaf = _issue("leaf of weak issuer", _ec(), (issuer, issuer_key))
        listed = listed_certificates([_list(("ca", (root,)))])
        with pytest.raises(SignatureFailure) as failure:
            _select(leaf, [issuer], listed)
        assert failure.value.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
        assert "not a CA" in str(failure.value) or "keyCertSign" in str(failure.value)


def test_key_identifiers_tell_apart_cas_of_the_same_name(pki) -> None:
    root, root_key = pki["root"]
    old_key, new_key = _ec(), _ec()
    old_ca = _issue("rekeyed CA", old_key, (root, root_key), ca=True)
    new_ca = _issue("rekeyed CA", new_key, (root, root_key), ca=True)
    leaf = _issue("leaf of the new CA", _ec(), (new_ca, new_key))
    listed = listed_certificates([_list(("ca", (root,)))])
    search, path = _select(leaf, [old_ca, new_ca], listed)
    assert path.certificates[1] == new_ca
    assert search.link_failures == ()  # the old CA was never tried: its key identifier differs


def test_cross_certificates_do_not_loop() -> None:
    a_key, b_key = _ec(), _ec()
    a = _issue("A", a_key, ca=True)
    b = _issue("B", b_key, ca=True)
    a_by_b = _issue("A", a_key, (b, b_key), ca=True)
    b_by_a = _issue("B", b_key, (a, a_key), ca=True)
    leaf = _issue("leaf under A", _ec(), (a, a_key))
    search = build_paths(leaf, [a, b, a_by_b, b_by_a], [])
    assert search.paths and all(len(path) <= 8 for path in search.paths)
    assert all(len({c.public_bytes(Encoding.DER) for c in path}) == len(path) for path in search.paths)


def test_verify_issued_by_across_algorithms() -> None:
    ed_key, ec_key = ed25519.Ed25519PrivateKey.generate(), _ec()
    ed_ca = _issue("ed CA", ed_key, ca=True)
    ec_leaf = _issue("ec leaf", ec_key, (ed_ca, ed_key))
    verify_issued_by(ec_leaf, ed_ca)
    impostor = _issue("ed CA", ed25519.Ed25519PrivateKey.generate(), ca=True)
    with pytest.raises(InvalidSignature):
        verify_issued_by(ec_leaf, impostor)
    with pytest.raises(InvalidSignature):
        verify_issued_by(ec_leaf, ec_leaf)  # names do not chain

    sm2_ca_key, sm2_leaf_key = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    sm2_ca = _issue("sm2 CA", sm2_ca_key, ca=True)
    sm2_leaf = _issue("sm2 leaf", sm2_leaf_key, (sm2_ca, sm2_ca_key))
    verify_issued_by(sm2_leaf, sm2_ca)
    with pytest.raises(InvalidSignature):
        verify_issued_by(sm2_leaf, _issue("sm2 CA", Sm2PrivateKey.generate(), ca=True))
    with pytest.raises(InvalidSignature):
        verify_issued_by(sm2_leaf, _issue("sm2 CA", _ec(), ca=True))  # an EC key cannot check SM2


def test_summaries_name_the_key_algorithm() -> None:
    cases = {
        "EC P-256": _ec(),
        "Ed25519": ed25519.Ed25519PrivateKey.generate(),
        "SM2": Sm2PrivateKey.generate(),
        "RSA-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    for expected, key in cases.items():
        certificate = _issue("key", key)
        summary = summarise_certificate(certificate)
        assert summary.public_key_algorithm == expected
        assert summary.serial_number == format(certificate.serial_number, "x")
        assert (summary.not_before, summary.not_after) == (BEFORE, AFTER)


def test_validity_is_checked_for_every_certificate_of_the_path(pki) -> None:
    root, root_key = pki["root"]
    ca_key = _ec()
    short_ca = _issue("short CA", ca_key, (root, root_key), ca=True, not_after=NOW - timedelta(days=1))
    leaf = _issue("leaf", _ec(), (short_ca, ca_key))
    trust_list = _list(("ca", (root,)))
    path = select_path(
        build_paths(leaf, [short_ca], listed_certificates([trust_list])),
        listed_certificates([trust_list]),
        accepted_service_types=frozenset({"ca"}),
        signing_time=NOW,
        validation_time=NOW,
    )
    check_validity(path, NOW - timedelta(days=1))  # the CA's last second still counts
    with pytest.raises(SignatureFailure) as failure:
        check_validity(path, NOW)
    assert failure.value.sub_indication is SubIndication.EXPIRED and "CA certificate" in str(failure.value)
    with pytest.raises(SignatureFailure) as failure:
        check_validity(path, BEFORE - timedelta(seconds=1))
    assert failure.value.sub_indication is SubIndication.NOT_YET_VALID


def test_listed_certificates_carry_their_service_and_list(pki) -> None:
    root = pki["root"][0]
    trust_list = _list(("ca", (root,)))
    (entry,) = listed_certificates([trust_list])
    assert entry == ListedCertificate(root, trust_list.services[0], trust_list)
