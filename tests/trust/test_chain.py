"""Path building and the checks on a path: links, CA constraints, key identifiers, loops, validity, algorithms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trust._chain import (
    ListedCertificate,
    build_paths,
    check_validity,
    listed_certificates,
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


def _list(*services: tuple[str, tuple[x509.Certificate, ...]], history=None) -> TrustList:
    entries = tuple(
        TrustService(
            f"service {position}",
            service_type,
            f"440300.org{position}.system",
            tuple(certificate.public_bytes(Encoding.DER) for certificate in certificates),
            history or (ServiceStatus("granted", BEFORE),),
        )
        for position, (service_type, certificates) in enumerate(services)
    )
    return TrustList("operator", "440300", 1, NOW, AFTER, entries)


def _select(signer, carried, listed, accepted=frozenset({"ca"})):
    search = build_paths(signer, carried, listed)
    return search, select_path(search, listed, accepted_service_types=accepted, signing_time=NOW, validation_time=NOW)


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
    assert path.certificates == (leaf, inter, root) and path.anchor_index == 2
    assert search.link_failures == ()
    listed_inter = listed_certificates([_list(("ca", (root, inter)))])
    _, path = _select(leaf, [], listed_inter)  # the intermediate found on the list, not in the document
    assert path.certificates == (leaf, inter, root) and path.anchor_index == 1


def test_the_nearest_acceptable_granted_service_wins(pki) -> None:
    root, inter, leaf = pki["root"][0], pki["inter"][0], pki["leaf"][0]
    trust_list = _list(("seal-platform", (leaf,)), ("ca", (root,)))
    listed = listed_certificates([trust_list])
    _, path = _select(leaf, [inter], listed, frozenset({"ca"}))
    assert path.service.service_type == "ca" and path.anchor_index == 2
    _, path = _select(leaf, [inter], listed, frozenset({"seal-platform", "ca"}))
    assert path.service.service_type == "seal-platform" and path.anchor_index == 0
    _, path = _select(leaf, [inter], listed, frozenset({"licence-issuer"}))  # none acceptable: nearest reported
    assert path.service.service_type == "seal-platform"


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
