"""Sealed OFD documents (GB/T 33190): build one carrying a licence attachment, and examine its seal.

An OFD file is a zip. The parts that matter here:

    OFD.xml                               DocBody: DocRoot and Signatures (the signature list)
    Doc_0/Document.xml                    pages, and Attachments (the attachment list)
    Doc_0/Attachs/Attachments.xml         each Attachment's FileLoc
    Doc_0/Attachs/licence.json            the licence record: what the relying city reads
    Doc_0/Signs/Signatures.xml            one Signature (Type="Seal") per seal, BaseLoc -> Signature.xml
    Doc_0/Signs/Sign_0/Signature.xml      SignedInfo: References (SM3 CheckValue of every covered file),
                                          Seal (the .esl); SignedValue -> SignedValue.dat
    Doc_0/Signs/Sign_0/SignedValue.dat    the SES_Signature whose dataHash is SM3 of the whole
                                          Signature.xml file, as ofdrw's OFDSigner and OFDValidator do

Reading is hardened: bounded sizes and entry counts, no path traversal, no duplicate names, only
stored or deflated entries, and every XML part through trust._xml.parse_xml.

The seal taken is the first whose References cover, beside the attachment read, every file that chose it
and what is displayed: OFD.xml, the document's Document.xml, and its Attachments listing. A seal over the
attachment alone would let anyone re-point the listing at another signed attachment, or swap the pages
shown around a sealed record; such a document is SIG_CONSTRAINTS_FAILURE, naming the file left uncovered.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from trust._report import SignatureEvidence, SignatureFailure, SubIndication
from trust._ses import embedded_seal, examine_ses_signature, sign_ses
from trust._sm2 import SM2_WITH_SM3_OID, SM3_OID, Sm2PrivateKey, sm3
from trust._xml import XmlRejected, parse_xml

__all__ = ["OFD_CONTAINER", "build_sealed_ofd", "examine_ofd"]

OFD_CONTAINER = "OFD (GB/T 33190)"
OFD_NAMESPACE = "http://www.ofdspec.org/2016"

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
MAX_ENTRIES = 512
MAX_ENTRY_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024

_SM3_CHECK_METHODS = frozenset({"sm3", SM3_OID})
_ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTENT_TYPES = {
    ".json": "application/json",
    ".xml": "application/xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".ofd": "application/ofd",
}

_SIGN_DIR = "Doc_0/Signs/Sign_0"


def _format_failure(message: str) -> SignatureFailure:
    return SignatureFailure(SubIndication.FORMAT_FAILURE, message)


# ---- building -------------------------------------------------------------------------------------------


def _ofd(tag: str) -> str:
    return f"{{{OFD_NAMESPACE}}}{tag}"


def _element(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, _ofd(tag), attributes)
    if text is not None:
        element.text = text
    return element


def _root(tag: str, **attributes: str) -> Any:
    return etree.Element(_ofd(tag), attributes, nsmap={"ofd": OFD_NAMESPACE})


def _xml_bytes(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _ofd_xml(doc_id: str, created: datetime) -> bytes:
    root = _root("OFD", Version="1.1", DocType="OFD")
    body = _element(root, "DocBody")
    info = _element(body, "DocInfo")
    _element(info, "DocID", doc_id)
    _element(info, "Title", "电子证照")
    _element(info, "CreationDate", created.date().isoformat())
    _element(info, "Creator", "Tongban")
    _element(body, "DocRoot", "Doc_0/Document.xml")
    _element(body, "Signatures", "Doc_0/Signs/Signatures.xml")
    return _xml_bytes(root)


def _document_xml() -> bytes:
    root = _root("Document")
    common = _element(root, "CommonData")
    _element(common, "MaxUnitID", "4")
    area = _element(common, "PageArea")
    _element(area, "PhysicalBox", "0 0 210 297")
    _element(common, "PublicRes", "PublicRes.xml")
    pages = _element(root, "Pages")
    _element(pages, "Page", ID="1", BaseLoc="Pages/Page_0/Content.xml")
    _element(root, "Attachments", "Attachs/Attachments.xml")
    return _xml_bytes(root)


def _public_res_xml() -> bytes:
    root = _root("Res", BaseLoc="Res")
    fonts = _element(root, "Fonts")
    _element(fonts, "Font", ID="2", FontName="SimSun", FamilyName="SimSun")
    return _xml_bytes(root)


def _page_xml(text: str) -> bytes:
    root = _root("Page")
    content = _element(root, "Content")
    layer = _element(content, "Layer", ID="3")
    text_object = _element(layer, "TextObject", ID="4", Boundary="20 20 170 10", Font="2", Size="5")
    _element(text_object, "TextCode", text, X="0", Y="5")
    return _xml_bytes(root)


def _attachments_xml(attachments: Mapping[str, bytes], created: datetime) -> bytes:
    root = _root("Attachments")
    for number, (name, data) in enumerate(attachments.items(), start=1):
        stem, _, extension = name.rpartition(".")
        attachment = _element(
            root,
            "Attachment",
            ID=f"a{number}",
            Name=stem or name,
            Format=extension if stem else "",
            CreationDate=created.date().isoformat(),
            Size=f"{len(data) / 1024:.3f}",
        )
        _element(attachment, "FileLoc", name)
    return _xml_bytes(root)


def _signatures_xml() -> bytes:
    root = _root("Signatures")
    _element(root, "MaxSignId", "1")
    _element(root, "Signature", ID="1", Type="Seal", BaseLoc="Sign_0/Signature.xml")
    return _xml_bytes(root)


def _signature_xml(covered: Mapping[str, bytes], signing_time: datetime) -> bytes:
    root = _root("Signature")
    signed_info = _element(root, "SignedInfo")
    _element(signed_info, "Provider", ProviderName="Tongban", Company="Tongban", Version="1.0")
    _element(signed_info, "SignatureMethod", SM2_WITH_SM3_OID)
    _element(signed_info, "SignatureDateTime", signing_time.astimezone(UTC).strftime("%Y%m%d%H%M%SZ"))
    references = _element(signed_info, "References", CheckMethod=SM3_OID)
    for path, data in covered.items():
        reference = _element(references, "Reference", FileRef=f"/{path}")
        _element(reference, "CheckValue", base64.b64encode(sm3(data)).decode("ascii"))
    seal = _element(signed_info, "Seal")
    _element(seal, "BaseLoc", f"/{_SIGN_DIR}/Seal.esl")
    _element(root, "SignedValue", f"/{_SIGN_DIR}/SignedValue.dat")
    return _xml_bytes(root)


def build_sealed_ofd(
    attachments: Mapping[str, bytes],
    seal_der: bytes,
    signer_certificate: bytes,
    signer_key: Sm2PrivateKey,
    signing_time: datetime,
    version: int = 4,
    *,
    doc_id: str | None = None,
    page_text: str = "电子证照 / electronic licence: see the attached record",
) -> bytes:
    """An OFD file with the attachments (file name -> bytes), sealed with an SES v4 or v1 signature.

    The seal's signature covers every file of the package (ofdrw's "whole protected" mode) but
    its own Signature.xml, which the SES_Signature's dataHash covers, and SignedValue.dat.
    """
    if not attachments:
        raise ValueError("a sealed licence document carries at least one attachment")
    for name in attachments:
        if not _ATTACHMENT_NAME.fullmatch(name):
            raise ValueError(f"attachment names are plain file names: {name!r}")
    document_id = doc_id or sm3(b"".join(attachments.values())).hex()[:32]
    files: dict[str, bytes] = {
        "OFD.xml": _ofd_xml(document_id, signing_time),
        "Doc_0/Document.xml": _document_xml(),
        "Doc_0/PublicRes.xml": _public_res_xml(),
        "Doc_0/Pages/Page_0/Content.xml": _page_xml(page_text),
        "Doc_0/Attachs/Attachments.xml": _attachments_xml(attachments, signing_time),
    }
    files.update({f"Doc_0/Attachs/{name}": data for name, data in attachments.items()})
    files["Doc_0/Signs/Signatures.xml"] = _signatures_xml()
    files[f"{_SIGN_DIR}/Seal.esl"] = seal_der
    signature_xml = _signature_xml(dict(files), signing_time)
    files[f"{_SIGN_DIR}/Signature.xml"] = signature_xml
    files[f"{_SIGN_DIR}/SignedValue.dat"] = sign_ses(
        version,
        seal_der,
        signature_xml,
        signer_certificate,
        signer_key,
        signing_time,
        f"/{_SIGN_DIR}/Signature.xml",
    )
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return output.getvalue()


# ---- reading --------------------------------------------------------------------------------------------


class _Package:
    """The entries of an OFD zip, checked before anything is read."""

    def __init__(self, document: bytes) -> None:
        if len(document) > MAX_DOCUMENT_BYTES:
            raise _format_failure(f"the OFD document is larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            self._archive = zipfile.ZipFile(io.BytesIO(document))
            infos = self._archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError) as exc:
            raise _format_failure("the OFD document is not a zip package") from exc
        if len(infos) > MAX_ENTRIES:
            raise _format_failure(f"the OFD package has more than {MAX_ENTRIES} entries")
        self._entries: dict[str, zipfile.ZipInfo] = {}
        folded: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if name.endswith("/"):
                continue
            _check_entry_name(name)
            if name.casefold() in folded:
                raise _format_failure(f"the OFD package names {name!r} twice")
            folded.add(name.casefold())
            if info.flag_bits & 0x1:
                raise _format_failure("the OFD package has encrypted entries")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _format_failure("the OFD package uses an unsupported compression method")
            if info.file_size > MAX_ENTRY_BYTES:
                raise _format_failure(f"{name} is larger than {MAX_ENTRY_BYTES} bytes")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise _format_failure(f"the OFD package unpacks to more than {MAX_TOTAL_BYTES} bytes")
            self._entries[name] = info
        self._cache: dict[str, bytes] = {}

    def __contains__(self, path: str) -> bool:
        return path in self._entries

    def read(self, path: str) -> bytes:
        if path in self._cache:
            return self._cache[path]
        info = self._entries.get(path)
        if info is None:
            raise _format_failure(f"the OFD package has no {path}")
        try:
            with self._archive.open(info) as stream:
                data = stream.read(MAX_ENTRY_BYTES + 1)  # the header's size may lie; the cap may not
        except (
            zipfile.BadZipFile,
            zlib.error,
            ValueError,
            OSError,
            EOFError,
            RuntimeError,
            NotImplementedError,
        ) as exc:
            raise _format_failure(f"{path} cannot be unpacked") from exc
        if len(data) != info.file_size:
            raise _format_failure(f"{path} is not the size its entry says")
        self._cache[path] = data
        return data

    def xml(self, path: str) -> Any:
        try:
            return parse_xml(self.read(path))
        except XmlRejected as exc:
            raise _format_failure(f"{path}: {exc.reason}") from exc


def _check_entry_name(name: str) -> None:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ":" in parts[0]
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise _format_failure(f"the OFD package has an unsafe entry name {name!r}")


def _resolve(base_dir: str, location: str) -> str:
    """An ST_Loc: absolute from the package root when it starts with "/", else relative to base_dir."""
    location = location.strip()
    if not location or "\\" in location or "\x00" in location:
        raise _format_failure(f"invalid location {location!r} in the OFD package")
    joined = location.lstrip("/") if location.startswith("/") else posixpath.join(base_dir, location)
    normal = posixpath.normpath(joined)
    if normal.startswith("../") or normal in ("..", ".") or normal.startswith("/"):
        raise _format_failure(f"the location {location!r} leaves the OFD package")
    return normal


def _local(element: Any) -> str:
    tag = element.tag  # "{namespace}name" or "name" (lxml's Clark notation); not a str for comments
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _child(element: Any, name: str) -> Any | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: Any, name: str) -> str | None:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else None


def _expect_root(root: Any, name: str, path: str) -> None:
    if _local(root) != name:
        raise _format_failure(f"{path} is not an OFD {name}")


def _signature_list(package: _Package) -> tuple[str, list[str]]:
    """The default document's root path and the Signature.xml paths of its seals."""
    ofd = package.xml("OFD.xml")
    _expect_root(ofd, "OFD", "OFD.xml")
    body = _child(ofd, "DocBody")
    if body is None or not _text(body, "DocRoot"):
        raise _format_failure("OFD.xml names no document")
    document_path = _resolve("", _text(body, "DocRoot") or "")
    signatures_loc = _text(body, "Signatures")
    if not signatures_loc:
        raise _format_failure("the OFD document carries no signature")
    signatures_path = _resolve("", signatures_loc)
    signatures = package.xml(signatures_path)
    _expect_root(signatures, "Signatures", signatures_path)
    base = posixpath.dirname(signatures_path)
    seals = [
        _resolve(base, entry.get("BaseLoc", ""))
        for entry in _children(signatures, "Signature")
        if entry.get("Type", "Seal") == "Seal"
    ]
    if not seals:
        raise _format_failure("the OFD document carries no seal signature")
    return document_path, seals


def _attachment_path(package: _Package, document_path: str, attachment_name: str | None) -> tuple[str, str]:
    """The Attachments listing's path and the chosen attachment's."""
    document = package.xml(document_path)
    _expect_root(document, "Document", document_path)
    listing_loc = _text(document, "Attachments")
    if not listing_loc:
        raise SignatureFailure(SubIndication.SIGNED_DATA_NOT_FOUND, "the OFD document has no attachments")
    listing_path = _resolve(posixpath.dirname(document_path), listing_loc)
    listing = package.xml(listing_path)
    _expect_root(listing, "Attachments", listing_path)
    base = posixpath.dirname(listing_path)
    for attachment in _children(listing, "Attachment"):
        file_loc = _text(attachment, "FileLoc")
        if not file_loc:
            continue
        path = _resolve(base, file_loc)
        if attachment_name is None or attachment_name in (posixpath.basename(path), attachment.get("Name")):
            return listing_path, path
    wanted = f"the attachment {attachment_name!r}" if attachment_name else "an attachment"
    raise SignatureFailure(SubIndication.SIGNED_DATA_NOT_FOUND, f"the OFD document has no {wanted}")


def _check_references(package: _Package, signature_path: str, signed_info: Any) -> list[str]:
    """Check every Reference's SM3 CheckValue; the covered paths."""
    references = _child(signed_info, "References")
    if references is None:
        raise _format_failure(f"{signature_path} has no References")
    method = references.get("CheckMethod", "").strip()
    if method.lower() not in _SM3_CHECK_METHODS:
        raise _format_failure(f"{signature_path}: CheckMethod {method!r} is not SM3")
    base = posixpath.dirname(signature_path)
    covered: list[str] = []
    for reference in _children(references, "Reference"):
        path = _resolve(base, reference.get("FileRef", ""))
        try:
            expected = base64.b64decode(_text(reference, "CheckValue") or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _format_failure(f"{signature_path}: the CheckValue of {path} is not base64") from exc
        if path not in package:
            raise SignatureFailure(SubIndication.SIGNED_DATA_NOT_FOUND, f"{path} is signed but missing")
        if not hmac.compare_digest(expected, sm3(package.read(path))):
            raise SignatureFailure(SubIndication.HASH_FAILURE, f"{path} was changed after it was sealed")
        covered.append(path)
    if not covered:
        raise _format_failure(f"{signature_path} covers no file")
    return covered


def _examine_seal_signature(package: _Package, signature_path: str) -> tuple[SignatureEvidence, list[str]]:
    signature_xml = package.read(signature_path)
    signature = package.xml(signature_path)
    _expect_root(signature, "Signature", signature_path)
    signed_info = _child(signature, "SignedInfo")
    signed_value_loc = _text(signature, "SignedValue")
    if signed_info is None or not signed_value_loc:
        raise _format_failure(f"{signature_path} lacks SignedInfo or SignedValue")
    base = posixpath.dirname(signature_path)
    covered = _check_references(package, signature_path, signed_info)
    signed_value = package.read(_resolve(base, signed_value_loc))
    seal = _child(signed_info, "Seal")
    if seal is not None and _text(seal, "BaseLoc"):
        # As ofdrw's validator: the .esl beside the signature is the seal the signature holds.
        seal_file = package.read(_resolve(base, _text(seal, "BaseLoc") or ""))
        if not hmac.compare_digest(seal_file, embedded_seal(signed_value)):
            raise _format_failure(f"the seal file of {signature_path} is not the seal in its signature")
    return examine_ses_signature(signed_value, signature_xml), covered


def _content_type(path: str) -> str:
    return _CONTENT_TYPES.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")


def examine_ofd(document: bytes, attachment_name: str | None = None) -> SignatureEvidence:
    """Examine a sealed OFD file: package, file digests and every seal signature; raises SignatureFailure.

    attachment_name picks the licence attachment by file name or Name (default: the first listed).
    The evidence is that of the first seal whose References cover the attachment and the files that led
    to it (OFD.xml, Document.xml, the Attachments listing); its signed_content is the attachment's bytes.
    """
    package = _Package(document)
    document_path, signature_paths = _signature_list(package)
    listing_path, attachment = _attachment_path(package, document_path, attachment_name)
    if attachment not in package:
        raise SignatureFailure(SubIndication.SIGNED_DATA_NOT_FOUND, f"{attachment} is listed but missing")
    # The attachment first: a seal that does not cover it is no seal of this licence at all.
    required = tuple(dict.fromkeys((attachment, "OFD.xml", document_path, listing_path)))
    chosen: tuple[SignatureEvidence, str, list[str]] | None = None
    nearest_miss: str | None = None
    for signature_path in signature_paths:
        evidence, covered = _examine_seal_signature(package, signature_path)
        uncovered = [path for path in required if path not in covered]
        if chosen is None and not uncovered:
            chosen = (evidence, signature_path, covered)
        elif uncovered and nearest_miss is None and attachment in covered:
            nearest_miss = uncovered[0]
    if chosen is None:
        missing = nearest_miss or attachment
        raise SignatureFailure(SubIndication.SIG_CONSTRAINTS_FAILURE, f"no seal covers {missing}")
    evidence, signature_path, covered = chosen
    return replace(
        evidence,
        signed_content=package.read(attachment),
        content_type=_content_type(attachment),
        details={
            **evidence.details,
            "container": OFD_CONTAINER,
            "attachment": attachment,
            "signature_file": signature_path,
            "covered_files": covered,
            "seal_count": len(signature_paths),
        },
    )
