"""Sealed OFD documents: valid v4 and v1, tampering, missing parts, and a hostile zip."""

from __future__ import annotations

import base64
import io
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trust import _ofd
from trust._ofd import OFD_CONTAINER, build_sealed_ofd, examine_ofd
from trust._report import SignatureFailure, SubIndication
from trust._ses import SES_V1_FORMAT, SES_V4_FORMAT, SealPicture, make_seal, sign_ses
from trust._sm2 import Sm2PrivateKey, sm3
from trust._sm2_x509 import make_sm2_certificate

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LICENCE_JSON = b'{"licence_type": "business_licence", "licence_no": "440300-2026-000123"}'
LICENCE_XML = b"<licence><no>440300-2026-000123</no></licence>"
SIGNATURE_XML = "Doc_0/Signs/Sign_0/Signature.xml"
SIGNED_VALUE = "Doc_0/Signs/Sign_0/SignedValue.dat"


@dataclass(frozen=True)
class Material:
    signer_certificate: bytes
    signer_key: Sm2PrivateKey
    seals: dict[int, bytes]
    documents: dict[int, bytes]


@pytest.fixture(scope="module")
def material() -> Material:
    root_key, maker_key, signer_key = (Sm2PrivateKey.generate() for _ in range(3))
    validity = (NOW - timedelta(days=30), NOW + timedelta(days=3650))
    root = make_sm2_certificate(
        {"common_name": "Root"}, None, root_key, root_key.public_key(), 1, *validity, is_ca=True
    )
    maker = make_sm2_certificate({"common_name": "Seal platform"}, root, root_key, maker_key.public_key(), 2, *validity)
    signer = make_sm2_certificate({"common_name": "Registry"}, root, root_key, signer_key.public_key(), 3, *validity)
    picture = SealPicture("PNG", b"\x89PNG seal", 40, 40)
    seals = {
        version: make_seal(
            version,
            f"seal-{version}",
            "电子证照专用章",
            1,
            [signer],
            NOW - timedelta(days=1),
            NOW + timedelta(days=365),
            picture,
            maker,
            maker_key,
        )
        for version in (4, 1)
    }
    documents = {
        version: build_sealed_ofd(
            {"licence.json": LICENCE_JSON, "licence.xml": LICENCE_XML}, seals[version], signer, signer_key, NOW, version
        )
        for version in (4, 1)
    }
    return Material(signer, signer_key, seals, documents)


def _entries(document: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(document)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _rewrite(document: bytes, changes: Mapping[str, bytes | None], extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    entries = _entries(document)
    for name, data in changes.items():
        if data is None:
            entries.pop(name)
        else:
            entries[name] = data
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names, on purpose
        for name, data in [*entries.items(), *extra]:
            archive.writestr(name, data)
    return output.getvalue()


def _expect(sub_indication: SubIndication, document: bytes, attachment: str | None = None) -> SignatureFailure:
    with pytest.raises(SignatureFailure) as caught:
        examine_ofd(document, attachment)
    assert caught.value.sub_indication is sub_indication, str(caught.value)
    return caught.value


@pytest.mark.parametrize(("version", "format_name"), [(4, SES_V4_FORMAT), (1, SES_V1_FORMAT)])
def test_a_sealed_document_yields_the_licence_and_its_evidence(
    material: Material, version: int, format_name: str
) -> None:
    evidence = examine_ofd(material.documents[version], "licence.json")
    assert evidence.format == format_name
    assert evidence.signed_content == LICENCE_JSON
    assert evidence.content_type == "application/json"
    assert evidence.signer_certificate == material.signer_certificate
    assert evidence.claimed_signing_time == NOW
    assert evidence.seal is not None and evidence.seal.version == version
    assert evidence.details["container"] == OFD_CONTAINER
    assert evidence.details["attachment"] == "Doc_0/Attachs/licence.json"
    assert "Doc_0/Attachs/licence.json" in evidence.details["covered_files"]


def test_the_attachment_is_chosen_by_name_or_is_the_first(material: Material) -> None:
    chosen = examine_ofd(material.documents[4], "licence.xml")
    assert (chosen.signed_content, chosen.content_type) == (LICENCE_XML, "application/xml")
    assert examine_ofd(material.documents[4]).signed_content == LICENCE_JSON
    _expect(SubIndication.SIGNED_DATA_NOT_FOUND, material.documents[4], "other.json")


def test_the_signed_value_is_the_ses_signature_over_signature_xml(material: Material) -> None:
    entries = _entries(material.documents[4])
    from trust._ses import examine_ses_signature

    evidence = examine_ses_signature(entries[SIGNED_VALUE], entries[SIGNATURE_XML])
    assert evidence.details["property_info"] == "/" + SIGNATURE_XML
    assert entries["Doc_0/Signs/Sign_0/Seal.esl"] == material.seals[4]


@pytest.mark.parametrize("version", [4, 1])
def test_a_changed_attachment_is_a_hash_failure_naming_it(material: Material, version: int) -> None:
    tampered = _rewrite(
        material.documents[version], {"Doc_0/Attachs/licence.json": LICENCE_JSON.replace(b"123", b"124")}
    )
    failure = _expect(SubIndication.HASH_FAILURE, tampered, "licence.json")
    assert "Doc_0/Attachs/licence.json" in str(failure)


def test_updating_the_digest_in_signature_xml_does_not_help(material: Material) -> None:
    entries = _entries(material.documents[4])
    changed = LICENCE_JSON.replace(b"123", b"124")
    old = base64.b64encode(sm3(LICENCE_JSON))
    new = base64.b64encode(sm3(changed))
    tampered = _rewrite(
        material.documents[4],
        {"Doc_0/Attachs/licence.json": changed, SIGNATURE_XML: entries[SIGNATURE_XML].replace(old, new)},
    )
    failure = _expect(SubIndication.HASH_FAILURE, tampered, "licence.json")
    assert "dataHash" in str(failure)


@pytest.mark.parametrize("version", [4, 1])
def test_a_changed_signature_value_is_a_crypto_failure(material: Material, version: int) -> None:
    signed_value = _entries(material.documents[version])[SIGNED_VALUE]
    flipped = signed_value[:-5] + bytes([signed_value[-5] ^ 0x40]) + signed_value[-4:]
    _expect(SubIndication.SIG_CRYPTO_FAILURE, _rewrite(material.documents[version], {SIGNED_VALUE: flipped}))


def test_a_seal_file_that_differs_from_the_signature_seal_is_refused(material: Material) -> None:
    # The seal files differ, and the .esl is a covered file: its digest fails first.
    swapped = _rewrite(material.documents[4], {"Doc_0/Signs/Sign_0/Seal.esl": material.seals[1]})
    _expect(SubIndication.HASH_FAILURE, swapped)


@pytest.mark.parametrize(
    "missing", ["Doc_0/Signs/Signatures.xml", SIGNATURE_XML, SIGNED_VALUE], ids=["list", "signature", "value"]
)
def test_a_missing_signature_part_is_a_format_failure(material: Material, missing: str) -> None:
    _expect(SubIndication.FORMAT_FAILURE, _rewrite(material.documents[4], {missing: None}))


def test_a_document_without_signatures_is_a_format_failure(material: Material) -> None:
    ofd_xml = _entries(material.documents[4])["OFD.xml"]
    unsigned = ofd_xml.replace(b"<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>", b"")
    assert unsigned != ofd_xml
    failure = _expect(SubIndication.FORMAT_FAILURE, _rewrite(material.documents[4], {"OFD.xml": unsigned}))
    assert "no signature" in str(failure)


def test_a_signed_file_that_is_missing_is_signed_data_not_found(material: Material) -> None:
    _expect(SubIndication.SIGNED_DATA_NOT_FOUND, _rewrite(material.documents[4], {"Doc_0/PublicRes.xml": None}))


# ---- a hostile package ----------------------------------------------------------------------------------


def test_not_a_zip_is_a_format_failure() -> None:
    _expect(SubIndication.FORMAT_FAILURE, b"PK\x03\x04 but not really a zip")


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "Doc_0/../../evil", "C:/evil", "Doc_0\\evil"])
def test_unsafe_entry_names_are_refused(material: Material, name: str) -> None:
    failure = _expect(SubIndication.FORMAT_FAILURE, _rewrite(material.documents[4], {}, ((name, b"x"),)))
    assert "unsafe" in str(failure)


def test_duplicate_entry_names_are_refused(material: Material) -> None:
    # A second licence.json: readers that take the last entry would read unsigned bytes.
    duplicate = _rewrite(material.documents[4], {}, (("Doc_0/Attachs/licence.json", b'{"forged": true}'),))
    assert "twice" in str(_expect(SubIndication.FORMAT_FAILURE, duplicate))


def test_too_many_entries_are_refused(material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ofd, "MAX_ENTRIES", len(_entries(material.documents[4])) - 1)
    assert "entries" in str(_expect(SubIndication.FORMAT_FAILURE, material.documents[4]))


def test_oversized_entries_and_packages_are_refused(material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    big = _rewrite(material.documents[4], {}, (("Doc_0/Res/filler.bin", b"\x00" * 5000),))
    monkeypatch.setattr(_ofd, "MAX_ENTRY_BYTES", 4096)
    assert "larger than" in str(_expect(SubIndication.FORMAT_FAILURE, big))
    monkeypatch.setattr(_ofd, "MAX_ENTRY_BYTES", 1 << 20)
    monkeypatch.setattr(_ofd, "MAX_TOTAL_BYTES", 6000)
    assert "unpacks to more" in str(_expect(SubIndication.FORMAT_FAILURE, big))
    monkeypatch.setattr(_ofd, "MAX_DOCUMENT_BYTES", 1000)
    _expect(SubIndication.FORMAT_FAILURE, material.documents[4])


def test_xml_with_a_doctype_is_refused(material: Material) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'
    )
    failure = _expect(SubIndication.FORMAT_FAILURE, _rewrite(material.documents[4], {"OFD.xml": hostile}))
    assert "DOCTYPE" in str(failure)


def test_a_reference_leaving_the_package_is_refused(material: Material) -> None:
    signature_xml = _entries(material.documents[4])[SIGNATURE_XML]
    escaped = signature_xml.replace(b'FileRef="/OFD.xml"', b'FileRef="/../../OFD.xml"')
    assert escaped != signature_xml
    assert "leaves" in str(
        _expect(SubIndication.FORMAT_FAILURE, _rewrite(material.documents[4], {SIGNATURE_XML: escaped}))
    )


def test_a_flipped_bit_anywhere_fails_cleanly_or_leaves_the_content_unchanged(material: Material) -> None:
    document = material.documents[4]
    original = _entries(document)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(position=st.integers(0, len(document) - 1), bit=st.integers(0, 7))
    def flipped(position: int, bit: int) -> None:
        tampered = document[:position] + bytes([document[position] ^ (1 << bit)]) + document[position + 1 :]
        try:
            examine_ofd(tampered)
        except SignatureFailure:
            return
        # Zip metadata (times, attributes) is not signed; what passes must unpack to the signed files.
        assert _entries(tampered) == original

    flipped()


def test_build_refuses_attachment_names_with_paths(material: Material) -> None:
    with pytest.raises(ValueError, match="plain file names"):
        build_sealed_ofd(
            {"../licence.json": LICENCE_JSON}, material.seals[4], material.signer_certificate, material.signer_key, NOW
        )


# ---- what the seal must cover ---------------------------------------------------------------------------


def _resealed(material: Material, leave_out: set[str], changes: Mapping[str, bytes] | None = None) -> bytes:
    """The document with `changes` made, then sealed anew by its own signer over every file but `leave_out`."""
    entries = {**_entries(material.documents[4]), **(changes or {})}
    covered = {path: data for path, data in entries.items() if path not in {SIGNATURE_XML, SIGNED_VALUE, *leave_out}}
    signature_xml = _ofd._signature_xml(covered, NOW)
    signed_value = sign_ses(
        4, material.seals[4], signature_xml, material.signer_certificate, material.signer_key, NOW, f"/{SIGNATURE_XML}"
    )
    return _rewrite(
        material.documents[4], {**(changes or {}), SIGNATURE_XML: signature_xml, SIGNED_VALUE: signed_value}
    )


def test_resealing_over_every_file_passes(material: Material) -> None:
    assert examine_ofd(_resealed(material, set())).signed_content == LICENCE_JSON


@pytest.mark.parametrize(
    "uncovered",
    ["OFD.xml", "Doc_0/Document.xml", "Doc_0/Attachs/Attachments.xml", "Doc_0/Attachs/licence.json"],
)
def test_a_seal_must_cover_the_files_that_lead_to_the_attachment(material: Material, uncovered: str) -> None:
    failure = _expect(SubIndication.SIG_CONSTRAINTS_FAILURE, _resealed(material, {uncovered}), "licence.json")
    assert str(failure) == f"no seal covers {uncovered}"


def test_an_uncovered_listing_cannot_re_point_the_reader_at_another_signed_attachment(material: Material) -> None:
    # Both attachments are sealed, the listing is not: reordering it would swap the record read by default.
    listing = _entries(material.documents[4])["Doc_0/Attachs/Attachments.xml"]
    json_entry = listing[listing.index(b"<ofd:Attachment ") : listing.index(b"</ofd:Attachment>") + 17]
    reordered = listing.replace(json_entry, b"").replace(b"</ofd:Attachments>", json_entry + b"</ofd:Attachments>")
    listed_first = examine_ofd(_resealed(material, set(), {"Doc_0/Attachs/Attachments.xml": reordered}))
    assert listed_first.signed_content == LICENCE_XML  # the listing decides which record is read
    sealed = _resealed(material, {"Doc_0/Attachs/Attachments.xml"})
    _expect(SubIndication.SIG_CONSTRAINTS_FAILURE, _rewrite(sealed, {"Doc_0/Attachs/Attachments.xml": reordered}))
