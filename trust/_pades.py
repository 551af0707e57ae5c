"""Licences as signed PDFs (PAdES B-B): a one-page PDF with the licence record attached, signed and examined by pyhanko.

The licence is the attachment (an embedded file, "licence.json" by default); the page is for
people. examine_pdf proves, without any trust roots, that:

- the PDF holds exactly one signature (/Sig; document timestamps may follow), a CMS detached
  signature with signed attributes (ETSI.CAdES.detached, or adbe.pkcs7.detached from older
  signers), whose signing-certificate attribute names the certificate it carries;
- its /ByteRange covers the whole file, or the whole revision it signed with nothing after it but
  validation data and document timestamps (pyhanko's difference analysis, level LTA_UPDATES);
- the attachment is read from that signed revision, so what is returned is what was signed;
- the message digest matches the signed bytes (else HASH_FAILURE) and the signature verifies
  with the signer's key (else SIG_CRYPTO_FAILURE); SHA-1, MD5, DSA and weak keys (RSA: 2048 to 4096
  bits, exponent 65537) are CRYPTO_CONSTRAINTS_FAILURE;
- the CMS carries at most MAX_CERTIFICATES certificates, the signer's included (else FORMAT_FAILURE).

pyhanko's own validation is used for the integrity and crypto parts only: its certificate path
validation is the engine's job here, from the returned SignatureEvidence. Anything pyhanko
cannot parse is a FORMAT_FAILURE; a PDF is too rich a format to list every way it can be broken,
so the parser's exceptions are caught whole at this one boundary.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import warnings
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():
    # pyhanko imports cryptography's DSA key types, which cryptography 51 deprecates with a warning on
    # import; we never use DSA (examine_pdf refuses it), so that one warning is not for our users.
    warnings.filterwarnings("ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning)
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import PdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.generic_cms import validate_sig_integrity
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator.registry import SimpleCertificateStore

from trust._certificates import load_der_certificate, require_certificate_of
from trust._errors import UnsupportedKey
from trust._report import MAX_CARRIED_CERTIFICATES, SignatureEvidence, SignatureFailure, SubIndication

__all__ = ["PADES_FORMAT", "examine_pdf", "make_licence_pdf", "make_pdf", "pdf_text", "sign_pdf"]

PADES_FORMAT = "PAdES"
DEFAULT_MAX_PDF_BYTES = 16 * 1024 * 1024
DEFAULT_ATTACHMENT = "licence.json"

_SUBFILTERS = {"/ETSI.CAdES.detached": PADES_FORMAT, "/adbe.pkcs7.detached": "PDF (adbe.pkcs7.detached)"}
_DIGESTS = {"sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
_ALLOWED_AFTER_SIGNING = ModificationLevel.LTA_UPDATES
_MAX_NAME_TREE_NODES = 1000
MAX_CERTIFICATES = MAX_CARRIED_CERTIFICATES
_RSA_PUBLIC_EXPONENT = 65537
_RSA_MAX_BITS = 4096
_MIME_TYPES = {
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".jws": "application/jose",
}

SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
T = TypeVar("T")


def _fail(sub_indication: SubIndication, message: str) -> SignatureFailure:
    return SignatureFailure(sub_indication, message)


# ---- making the PDF ------------------------------------------------------------------------------------


def _cjk_font() -> generic.DictionaryObject:
    """Adobe's STSong-Light with the UCS-2 CMap: a standard CJK font viewers supply, so nothing is embedded."""
    descriptor = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/FontDescriptor"),
            generic.pdf_name("/FontName"): generic.pdf_name("/STSong-Light"),
            generic.pdf_name("/Flags"): generic.NumberObject(6),
            generic.pdf_name("/FontBBox"): generic.ArrayObject(generic.NumberObject(n) for n in (-25, -254, 1000, 880)),
            generic.pdf_name("/ItalicAngle"): generic.NumberObject(0),
            generic.pdf_name("/Ascent"): generic.NumberObject(880),
            generic.pdf_name("/Descent"): generic.NumberObject(-120),
            generic.pdf_name("/CapHeight"): generic.NumberObject(880),
            generic.pdf_name("/StemV"): generic.NumberObject(93),
        }
    )
    descendant = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/CIDFontType0"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/STSong-Light"),
            generic.pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Registry"): generic.pdf_string("Adobe"),
                    generic.pdf_name("/Ordering"): generic.pdf_string("GB1"),
                    generic.pdf_name("/Supplement"): generic.NumberObject(2),
                }
            ),
            generic.pdf_name("/FontDescriptor"): descriptor,
            generic.pdf_name("/DW"): generic.NumberObject(1000),
            # GB1 CIDs 1-95 are the proportional Latin glyphs; half an em is close enough for a licence page.
            generic.pdf_name("/W"): generic.ArrayObject(
                [generic.NumberObject(1), generic.NumberObject(95), generic.NumberObject(500)]
            ),
        }
    )
    return generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type0"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/STSong-Light"),
            generic.pdf_name("/Encoding"): generic.pdf_name("/UniGB-UCS2-H"),
            generic.pdf_name("/DescendantFonts"): generic.ArrayObject([descendant]),
        }
    )


def pdf_text(text: str) -> str:
    """`text` as a PDF hex string for the CJK font /F1 (UCS-2): `<...> Tj` in a content stream."""
    # UCS-2 reaches only the Basic Multilingual Plane; anything beyond is shown as "?".
    units = "".join(char if ord(char) < 0x10000 else "?" for char in text)
    return "<" + units.encode("utf-16-be").hex().upper() + ">"


def _page_content(title: str, lines: list[str]) -> bytes:
    commands = ["BT", "/F1 20 Tf", "56 770 Td", f"{pdf_text(title)} Tj", "/F1 12 Tf", "0 -36 Td", "18 TL"]
    commands += [f"{pdf_text(line)} Tj T*" for line in lines]
    commands.append("ET")
    return "\n".join(commands).encode("ascii")


def make_pdf(pages: Sequence[bytes], attachments: dict[str, bytes]) -> bytes:
    """A PDF of A4 pages, each drawn by its content stream (where /F1 is the CJK font STSong-Light
    and text is written with pdf_text), with `attachments` as embedded files. Sign it with sign_pdf."""
    if not pages:
        raise ValueError("a PDF needs at least one page")
    writer = PdfFileWriter()
    font = writer.add_object(_cjk_font())
    for drawing in pages:
        contents = writer.add_object(generic.StreamObject(stream_data=drawing))
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842)),
                generic.pdf_name("/Resources"): generic.DictionaryObject(
                    {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
                ),
                generic.pdf_name("/Contents"): contents,
            }
        )
        writer.insert_page(page)
    # A flat name tree must list its names in order.
    for name in sorted(attachments):
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        data = EmbeddedFileObject.from_file_data(
            writer,
            attachments[name],
            params=EmbeddedFileParams(embed_checksum=False),
            mime_type=_MIME_TYPES.get(suffix),
        )
        embed_file(writer, FileSpec(file_spec_string=name, file_name=name, embedded_data=data))
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def make_licence_pdf(title: str, lines: list[str], attachments: dict[str, bytes]) -> bytes:
    """A one-page A4 PDF showing `title` and `lines` (CJK included) with `attachments` as embedded files.

    Attach the licence record (for instance "licence.json") here; sign the result with sign_pdf.
    """
    return make_pdf([_page_content(title, lines)], attachments)


# ---- signing ---------------------------------------------------------------------------------------------


class _PdfSignerAt(signers.PdfSigner):
    """A PdfSigner whose signing time (/M, and the CMS signing time where allowed) is given, not read from the clock."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, also when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _check_key(private_key: Any) -> None:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return
    raise UnsupportedKey("PDF licences are signed with ECDSA P-256, Ed25519 or RSA (2048 bits or more) keys")


def sign_pdf(pdf: bytes, private_key: SigningKey, certificate_chain: list[bytes], signing_time: datetime) -> bytes:
    """Sign a PDF as PAdES B-B (ETSI.CAdES.detached) in an incremental update; return the signed bytes.

    `certificate_chain` is DER, the signer's certificate first; all go into the CMS. The claimed
    signing time (`signing_time`, timezone-aware) is the signature dictionary's /M, as PAdES
    wants (it forbids the CMS signing-time attribute). No network is used: no timestamp, no
    revocation data. Raises UnsupportedKey for other keys, ValueError for a chain that is not the
    key's.
    """
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    _check_key(private_key)
    if not certificate_chain:
        raise ValueError("the certificate chain needs at least the signer's certificate")
    require_certificate_of(certificate_chain[0], private_key)
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(certificate_chain[0]),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(der) for der in certificate_chain[1:]]
        ),
    )
    # RFC 8419: Ed25519 in CMS digests the signed content with SHA-512.
    digest = "sha512" if isinstance(private_key, ed25519.Ed25519PrivateKey) else "sha256"
    metadata = signers.PdfSignatureMetadata(
        field_name="LicenceSignature", subfilter=SigSeedSubFilter.PADES, md_algorithm=digest
    )
    pdf_signer = _PdfSignerAt(metadata, signer=signer, signing_time=signing_time)
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
    output = _run(pdf_signer.async_sign_pdf(writer, output=BytesIO()))
    return bytes(output.getvalue())


# ---- examination -------------------------------------------------------------------------------------


_MESSAGES = {
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: "the signer's certificate is missing from the signature, "
    "or is not the one its signing-certificate attribute names",
    SubIndication.FORMAT_FAILURE: "the CMS signature is malformed",
}


def _translated(error: SignatureValidationError) -> SignatureFailure:
    """Ours for pyhanko's AdES sub-indication (same names, from EN 319 102-1), else FORMAT_FAILURE; fixed messages."""
    name = getattr(getattr(error, "ades_subindication", None), "name", None)
    sub_indication = SubIndication.__members__.get(str(name), SubIndication.FORMAT_FAILURE)
    return _fail(sub_indication, _MESSAGES.get(sub_indication, "the PDF signature cannot be validated"))


def _only_signature(reader: PdfFileReader) -> EmbeddedPdfSignature:
    signatures = reader.embedded_regular_signatures
    if not signatures:
        raise _fail(SubIndication.FORMAT_FAILURE, "the PDF is not signed")
    if len(signatures) > 1:
        raise _fail(SubIndication.FORMAT_FAILURE, "the PDF holds more than one signature; a licence carries one")
    return signatures[0]


def _check_integrity_scope(signature: EmbeddedPdfSignature) -> str:
    """Coverage and later changes; the modification level's name."""
    signature.compute_integrity_info()
    if signature.coverage is None or signature.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        raise _fail(SubIndication.FORMAT_FAILURE, "the signature does not cover the whole revision it signed")
    result = signature.diff_result
    if isinstance(result, SuspiciousModification) or result is None:
        raise _fail(SubIndication.FORMAT_FAILURE, "the PDF was modified after signing in a way that is not allowed")
    if result.modification_level.value > _ALLOWED_AFTER_SIGNING.value:
        raise _fail(
            SubIndication.FORMAT_FAILURE,
            "the PDF was modified after signing beyond validation data and document timestamps "
            f"({result.modification_level.name.lower()})",
        )
    return str(result.modification_level.name)


def _algorithm_name(signature: EmbeddedPdfSignature, certificate: x509.Certificate) -> str:
    """Our name for the signature's algorithm, after refusing what we do not accept."""
    signer_info = signature.signer_info
    digest = str(signer_info["digest_algorithm"]["algorithm"].native)
    if digest not in _DIGESTS:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, f"the digest algorithm {digest} is not accepted")
    try:
        mechanism = str(signer_info["signature_algorithm"].signature_algo)
    except ValueError as exc:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "the signature algorithm is not accepted") from exc
    public_key = certificate.public_key()
    if isinstance(public_key, ed25519.Ed25519PublicKey) and mechanism == "ed25519":
        return "Ed25519"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and mechanism == "ecdsa":
        if not isinstance(public_key.curve, ec.SECP256R1 | ec.SECP384R1):
            raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "only P-256 and P-384 ECDSA keys are accepted")
        return f"ECDSA-{_DIGESTS[digest]}"
    if isinstance(public_key, rsa.RSAPublicKey) and mechanism in ("rsassa_pkcs1v15", "rsassa_pss"):
        if not 2048 <= public_key.key_size <= _RSA_MAX_BITS:
            raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, f"RSA keys need 2048 to {_RSA_MAX_BITS} bits")
        if public_key.public_numbers().e != _RSA_PUBLIC_EXPONENT:
            raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "RSA keys need the public exponent 65537")
        return f"RSA-{_DIGESTS[digest]}" if mechanism == "rsassa_pkcs1v15" else f"RSASSA-PSS-{_DIGESTS[digest]}"
    if mechanism in ("ed25519", "ecdsa", "rsassa_pkcs1v15", "rsassa_pss"):
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the signature algorithm does not fit the signer's key")
    raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, f"the signature algorithm {mechanism} is not accepted")


def _name_tree_entries(node: Any, depth: int = 0, seen: list[int] | None = None) -> list[tuple[str, Any]]:
    """(name, value) pairs of a PDF name tree, bounded against cycles and size."""
    seen = [0] if seen is None else seen
    seen[0] += 1
    if depth > 32 or seen[0] > _MAX_NAME_TREE_NODES:
        raise _fail(SubIndication.FORMAT_FAILURE, "the embedded files name tree is too deep or too large")
    entries: list[tuple[str, Any]] = []
    if "/Names" in node:
        names = node["/Names"]
        if len(names) % 2:
            raise _fail(SubIndication.FORMAT_FAILURE, "the embedded files name tree is malformed")
        for position in range(0, len(names), 2):
            key = names[position]
            if not isinstance(key, generic.TextStringObject | generic.ByteStringObject):
                raise _fail(SubIndication.FORMAT_FAILURE, "the embedded files name tree is malformed")
            entries.append(
                (
                    str(key) if isinstance(key, generic.TextStringObject) else key.original_bytes.decode("latin-1"),
                    names[position + 1],
                )
            )
    for kid in node.get("/Kids", ()):
        entries.extend(_name_tree_entries(kid.get_object(), depth + 1, seen))
    return entries


def _signed_attachment(reader: PdfFileReader, signature: EmbeddedPdfSignature, name: str) -> bytes:
    """The embedded file called `name`, as the signed revision has it."""
    revision = reader.get_historical_resolver(signature.signed_revision)
    root = revision.trailer_view["/Root"]
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        tree = None
    matches = [value for key, value in (_name_tree_entries(tree) if tree is not None else []) if key == name]
    if not matches:
        raise _fail(SubIndication.SIGNED_DATA_NOT_FOUND, f"the signed revision has no attachment named {name!r}")
    if len(matches) > 1:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the signed revision has more than one attachment named {name!r}")
    file_spec = matches[0].get_object()
    embedded = file_spec["/EF"]
    streams = {embedded.raw_get(key).reference for key in ("/F", "/UF") if key in embedded}
    if len(streams) != 1:
        raise _fail(SubIndication.FORMAT_FAILURE, "the attachment's /F and /UF streams differ or are missing")
    stream = embedded["/F"] if "/F" in embedded else embedded["/UF"]
    if not isinstance(stream, generic.StreamObject):
        raise _fail(SubIndication.FORMAT_FAILURE, "the attachment is not a stream")
    return bytes(stream.data)


def _claimed_time(signature: EmbeddedPdfSignature) -> datetime | None:
    moment = signature.self_reported_timestamp
    # A PDF date without a zone has an unknown relation to UTC (ISO 32000 §7.9.4): no claim then.
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _first_signed_attachment(
    reader: PdfFileReader, signature: EmbeddedPdfSignature, names: tuple[str, ...]
) -> tuple[bytes, str]:
    """The first of `names` the signed revision holds, and that name; else the last name's failure."""
    missing: SignatureFailure | None = None
    for name in names:
        try:
            return _signed_attachment(reader, signature, name), name
        except SignatureFailure as failure:
            if failure.sub_indication is not SubIndication.SIGNED_DATA_NOT_FOUND:
                raise
            missing = failure
    assert missing is not None, "at least one attachment name"
    raise missing


def _examine(document: bytes, attachment_names: tuple[str, ...]) -> SignatureEvidence:
    reader = PdfFileReader(BytesIO(document), strict=True)
    if reader.encrypted:
        raise _fail(SubIndication.FORMAT_FAILURE, "encrypted PDFs are not accepted")
    signature = _only_signature(reader)
    if len(signature.signed_data["certificates"]) > MAX_CERTIFICATES:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the signature carries more than {MAX_CERTIFICATES} certificates")
    subfilter = str(signature.sig_object.get("/SubFilter"))
    if subfilter not in _SUBFILTERS:
        raise _fail(SubIndication.FORMAT_FAILURE, "the signature is not a detached CMS signature (PAdES)")
    if signature.signer_info["signed_attrs"].native is None:
        raise _fail(SubIndication.FORMAT_FAILURE, "the CMS signature has no signed attributes")
    modification_level = _check_integrity_scope(signature)
    signer = signature.signer_cert  # raises NO_SIGNING_CERTIFICATE_FOUND, also when signing-certificate-v2 differs
    signer_der = signer.dump()
    certificate = load_der_certificate(signer_der)
    algorithm = _algorithm_name(signature, certificate)
    intact, valid = validate_sig_integrity(signature.signer_info, signer, "data", signature.compute_digest())
    if not intact:
        raise _fail(SubIndication.HASH_FAILURE, "the PDF was changed after it was signed")
    if not valid:
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the PDF signature does not verify")
    content, attachment_name = _first_signed_attachment(reader, signature, attachment_names)
    return SignatureEvidence(
        format=_SUBFILTERS[subfilter],
        signature_algorithm=algorithm,
        signer_certificate=signer_der,
        certificates=tuple(other.dump() for other in signature.other_embedded_certs),
        claimed_signing_time=_claimed_time(signature),
        signed_content=content,
        content_type=_MIME_TYPES.get(attachment_name[attachment_name.rfind(".") :].lower(), "application/octet-stream"),
        details={
            "subfilter": subfilter[1:],
            "coverage": signature.coverage.name if signature.coverage is not None else None,
            "modifications_after_signing": modification_level,
            "field_name": signature.field_name,
            "attachment": attachment_name,
        },
    )


def examine_pdf(
    document: bytes,
    attachment_name: str | Sequence[str] = DEFAULT_ATTACHMENT,
    *,
    max_bytes: int = DEFAULT_MAX_PDF_BYTES,
) -> SignatureEvidence:
    """Check a signed licence PDF's signature and return the signed attachment; raise SignatureFailure unless it holds.

    `signed_content` is the attachment `attachment_name` (or the first of several names that the
    signed revision holds: cities attach their record as licence.json or licence.xml) as the signed
    revision holds it;
    `certificates` are the other certificates in the CMS; `claimed_signing_time` is the CMS
    signing-time attribute or else the signature's /M (None without a time zone).
    """
    if not isinstance(document, bytes):
        raise TypeError("examine_pdf takes the PDF as bytes")
    if len(document) > max_bytes:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the PDF is larger than {max_bytes} bytes")
    names = (attachment_name,) if isinstance(attachment_name, str) else tuple(attachment_name)
    if not names:
        raise ValueError("examine_pdf needs at least one attachment name")
    try:
        return _examine(document, names)
    except SignatureFailure:
        raise
    except SignatureValidationError as exc:
        raise _translated(exc) from exc
    except Exception as exc:  # the PDF and CMS parsers' boundary: see the module docstring
        raise _fail(SubIndication.FORMAT_FAILURE, "the PDF or its signature is malformed") from exc
