"""Electronic seals and seal signatures: GB/T 38540-2020 (SES v4) and GM/T 0031-2014 (SES v1).

An e-seal (SESeal, the .esl file) is the seal's picture and properties, bound to the certificates
of the people or systems allowed to use it, and signed by the seal maker (制章者). A seal signature
(SES_Signature, OFD's SignedValue.dat) is one use of that seal: the signer signs the seal, the
time and the SM3 hash of the signed data (TBS_Sign).

What is signed, as real readers check it (ofdrw's SESV4ValidateContainer and SESeal tests, and the
gm_0031_38540 verifier):

    v4 seal:       the maker signs DER(SES_SealInfo)
    v1 seal:       the maker signs DER(SEQUENCE { SES_SealInfo, cert, signatureAlgorithm })
    v4 signature:  the signer signs DER(TBS_Sign), which holds version 4, the seal, timeInfo
                   (GeneralizedTime), dataHash, propertyInfo and optional [0] extDatas
    v1 signature:  the signer signs DER(TBS_Sign), which also holds the signer's cert and the
                   algorithm; timeInfo is a BIT STRING holding a time text or a time-stamp token

Every signature is checked over the bytes as they appear in the document, never re-encoded.
The examiner proves only what the bytes prove: certificate trust (chain, revocation, trust list)
is the validation engine's business.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from asn1crypto import cms, core, tsp, x509

from trust._errors import InvalidCertificate, InvalidSignature, UnsupportedKey
from trust._jwk import ecdsa_der
from trust._report import SealSummary, SignatureEvidence, SignatureFailure, SubIndication
from trust._sm2 import SM2_SIGNER_ID, SM2_WITH_SM3_OID, Sm2PrivateKey, Sm2PublicKey, sm3, verify_remembered
from trust._sm2_x509 import sm2_public_key_of_certificate

__all__ = [
    "SES_V1_FORMAT",
    "SES_V4_FORMAT",
    "SealPicture",
    "assemble_ses_signature",
    "examine_seal",
    "examine_ses_signature",
    "make_seal",
    "ses_to_be_signed",
    "sign_ses",
]

SES_V4_FORMAT = "SES v4 (GB/T 38540)"
SES_V1_FORMAT = "SES v1 (GM/T 0031)"
SIGNATURE_ALGORITHM = "SM2-with-SM3"

_V1_VERSIONS = frozenset({1, 2})  # GM/T 0031 implementations write 1 (ofdrw) or 2
_CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
_CERT_LIST_CERTIFICATES = 1
_CERT_LIST_DIGESTS = 2


# ---- ASN.1 (the field names follow the standards) -----------------------------------------------------


class ExtData(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SesHeader(core.Sequence):
    _fields: ClassVar[list[Any]] = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class SesPictureInfo(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields: ClassVar[list[Any]] = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class SesPropertyInfoV4(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),  # CertInfoList (type 1) or CertDigestList (type 2)
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SesSealInfoV4(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesPropertyInfoV4),
        ("picture", SesPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESealV4(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("e_seal_info", SesSealInfoV4),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TbsSignV4(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("version", core.Integer),
        ("eseal", SESealV4),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SesSignatureV4(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("to_sign", TbsSignV4),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


class SesPropertyInfoV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list", CertInfoList),
        # UTCTime in the standard; some producers write GeneralizedTime, which readers accept.
        ("create_date", x509.Time),
        ("valid_start", x509.Time),
        ("valid_end", x509.Time),
    ]


class SesSealInfoV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesPropertyInfoV1),
        ("picture", SesPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SesSignInfoV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
        ("sign_data", core.OctetBitString),
    ]


class SESealV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [("eseal_info", SesSealInfoV1), ("sign_info", SesSignInfoV1)]


class TbsSignV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [
        ("version", core.Integer),
        ("eseal", SESealV1),
        ("time_info", core.OctetBitString),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]


class SesSignatureV1(core.Sequence):
    _fields: ClassVar[list[Any]] = [("to_sign", TbsSignV1), ("signature", core.OctetBitString)]


# ---- building ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealPicture:
    """The seal's image: type as the standards name it ("PNG", "GIF", "JPG", "SVG", "OFD"), size in mm."""

    picture_type: str
    data: bytes
    width_mm: int
    height_mm: int


def _der_sequence(content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return b"\x30" + bytes([length]) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(encoded)]) + encoded + content


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _utc_time(moment: datetime) -> x509.Time:
    moment = _utc(moment)
    if not 1950 <= moment.year < 2050:
        raise ValueError("GM/T 0031 seals carry UTCTime, which ends in 2049")
    return x509.Time(name="utc_time", value=moment)


def _check_key_matches(certificate: bytes, key: Sm2PrivateKey, role: str) -> None:
    if sm2_public_key_of_certificate(certificate) != key.public_key():
        raise ValueError(f"the {role} key does not belong to the {role} certificate")


def make_seal(
    version: int,
    es_id: str,
    name: str,
    seal_type: int,
    signer_certificates: list[bytes] | tuple[bytes, ...],
    valid_from: datetime,
    valid_until: datetime,
    picture: SealPicture,
    maker_certificate: bytes,
    maker_key: Sm2PrivateKey,
    *,
    created_at: datetime | None = None,
    vendor_id: str = "Tongban",
) -> bytes:
    """A DER SESeal (v4, GB/T 38540) or SESeal (v1, GM/T 0031), signed by the seal maker with SM2."""
    if not signer_certificates:
        raise ValueError("a seal names at least one signer certificate")
    _check_key_matches(maker_certificate, maker_key, "maker")
    created = created_at or valid_from
    header = SesHeader({"id": "ES", "version": version, "vid": vendor_id})
    pictures = SesPictureInfo(
        {
            "type": picture.picture_type,
            "data": picture.data,
            "width": picture.width_mm,
            "height": picture.height_mm,
        }
    )
    certificates = CertInfoList(list(signer_certificates))
    if version == 4:
        property_v4 = SesPropertyInfoV4(
            {
                "type": seal_type,
                "name": name,
                "cert_list_type": _CERT_LIST_CERTIFICATES,
                "cert_list": core.Any.load(certificates.dump()),
                "create_date": _utc(created),
                "valid_start": _utc(valid_from),
                "valid_end": _utc(valid_until),
            }
        )
        info_v4 = SesSealInfoV4({"header": header, "es_id": es_id, "property": property_v4, "picture": pictures})
        signed_value = maker_key.sign(info_v4.dump(), SM2_SIGNER_ID)
        seal_v4 = SESealV4(
            {
                "e_seal_info": info_v4,
                "cert": maker_certificate,
                "sign_alg_id": SM2_WITH_SM3_OID,
                "signed_value": signed_value,
            }
        )
        return bytes(seal_v4.dump())
    if version == 1:
        property_v1 = SesPropertyInfoV1(
            {
                "type": seal_type,
                "name": name,
                "cert_list": certificates,
                "create_date": _utc_time(created),
                "valid_start": _utc_time(valid_from),
                "valid_end": _utc_time(valid_until),
            }
        )
        info_v1 = SesSealInfoV1({"header": header, "es_id": es_id, "property": property_v1, "picture": pictures})
        cert = core.OctetString(maker_certificate)
        algorithm = core.ObjectIdentifier(SM2_WITH_SM3_OID)
        sign_data = maker_key.sign(_der_sequence(info_v1.dump() + cert.dump() + algorithm.dump()), SM2_SIGNER_ID)
        sign_info = SesSignInfoV1({"cert": cert, "signature_algorithm": algorithm, "sign_data": sign_data})
        return bytes(SESealV1({"eseal_info": info_v1, "sign_info": sign_info}).dump())
    raise ValueError("SES version 4 (GB/T 38540) or 1 (GM/T 0031)")


def ses_to_be_signed(
    version: int,
    seal_der: bytes,
    data: bytes,
    signer_certificate: bytes,
    signing_time: datetime,
    property_info: str,
) -> bytes:
    """DER of the TBS_Sign the signer's SM2 key signs (so that a device or another tool can sign it)."""
    data_hash = sm3(data)
    if version == 4:
        tbs_v4 = TbsSignV4(
            {
                "version": 4,
                "eseal": SESealV4.load(seal_der, strict=True),
                "time_info": _utc(signing_time),
                "data_hash": data_hash,
                "property_info": property_info,
            }
        )
        return bytes(tbs_v4.dump())
    if version == 1:
        # timeInfo holds the UTCTime text, YYMMDDHHMMSSZ: unambiguous, unlike local-time texts.
        time_text = _utc_time(signing_time).chosen.contents
        tbs_v1 = TbsSignV1(
            {
                "version": 1,
                "eseal": SESealV1.load(seal_der, strict=True),
                "time_info": bytes(time_text),
                "data_hash": data_hash,
                "property_info": property_info,
                "cert": signer_certificate,
                "signature_algorithm": SM2_WITH_SM3_OID,
            }
        )
        return bytes(tbs_v1.dump())
    raise ValueError("SES version 4 (GB/T 38540) or 1 (GM/T 0031)")


def assemble_ses_signature(version: int, to_be_signed: bytes, signer_certificate: bytes, signature: bytes) -> bytes:
    """The DER SES_Signature from ses_to_be_signed's bytes and the DER SM2 signature over them."""
    if version == 4:
        signature_v4 = SesSignatureV4(
            {
                "to_sign": TbsSignV4.load(to_be_signed, strict=True),
                "cert": signer_certificate,
                "signature_alg_id": SM2_WITH_SM3_OID,
                "signature": signature,
            }
        )
        return bytes(signature_v4.dump())
    if version == 1:
        signature_v1 = SesSignatureV1({"to_sign": TbsSignV1.load(to_be_signed, strict=True), "signature": signature})
        return bytes(signature_v1.dump())
    raise ValueError("SES version 4 (GB/T 38540) or 1 (GM/T 0031)")


def sign_ses(
    version: int,
    seal_der: bytes,
    data: bytes,
    signer_certificate: bytes,
    signer_key: Sm2PrivateKey,
    signing_time: datetime,
    property_info: str,
) -> bytes:
    """A DER SES_Signature: the signer's SM2 signature over the seal, the time and SM3(data)."""
    _check_key_matches(signer_certificate, signer_key, "signer")
    to_be_signed = ses_to_be_signed(version, seal_der, data, signer_certificate, signing_time, property_info)
    return assemble_ses_signature(version, to_be_signed, signer_certificate, signer_key.sign(to_be_signed))


# ---- examining -------------------------------------------------------------------------------------------


_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


@dataclass(frozen=True)
class _Seal:
    """A parsed seal whose maker signature has not been checked yet."""

    version: int
    summary: SealSummary
    maker_signed_bytes: bytes
    maker_signature: bytes
    maker_algorithm: str
    cert_list_type: int
    cert_digests: tuple[tuple[str, bytes], ...]  # (digest algorithm name, value) for type 2
    vendor_id: str
    created: datetime
    picture_type: str


def _format_failure(message: str) -> SignatureFailure:
    return SignatureFailure(SubIndication.FORMAT_FAILURE, message)


def _time_value(value: Any) -> datetime:
    moment = value.native
    if not isinstance(moment, datetime):
        raise ValueError("not a time")
    if moment.tzinfo is None:
        # A GeneralizedTime without "Z" is local time; the producers of these seals are in China.
        moment = moment.replace(tzinfo=_CHINA_STANDARD_TIME)
    return moment.astimezone(UTC)


def _header_version(header: SesHeader) -> int:
    if header["id"].native != "ES":
        raise _format_failure("the seal header's ID is not ES")
    return int(header["version"].native)


def _parse_seal_v4(seal: SESealV4) -> _Seal:
    info = seal["e_seal_info"]
    header = info["header"]
    if _header_version(header) != 4:
        raise _format_failure("a GB/T 38540 seal has header version 4")
    prop = info["property"]
    cert_list_type = int(prop["cert_list_type"].native)
    certificates: tuple[bytes, ...] = ()
    digests: tuple[tuple[str, bytes], ...] = ()
    raw_list = prop["cert_list"].dump()
    if cert_list_type == _CERT_LIST_CERTIFICATES:
        certificates = tuple(bytes(item.native) for item in CertInfoList.load(raw_list, strict=True))
    elif cert_list_type == _CERT_LIST_DIGESTS:
        digests = tuple(
            (str(item["type"].native), bytes(item["value"].native))
            for item in CertDigestList.load(raw_list, strict=True)
        )
    else:
        raise _format_failure("unknown certListType in the seal")
    summary = SealSummary(
        seal_id=str(info["es_id"].native),
        name=str(prop["name"].native),
        seal_type=int(prop["type"].native),
        valid_from=_time_value(prop["valid_start"]),
        valid_until=_time_value(prop["valid_end"]),
        maker_certificate=bytes(seal["cert"].native),
        signer_certificates=certificates,
        version=4,
    )
    return _Seal(
        version=4,
        summary=summary,
        maker_signed_bytes=bytes(info.dump()),
        maker_signature=bytes(seal["signed_value"].native),
        maker_algorithm=str(seal["sign_alg_id"].dotted),
        cert_list_type=cert_list_type,
        cert_digests=digests,
        vendor_id=str(header["vid"].native),
        created=_time_value(prop["create_date"]),
        picture_type=str(info["picture"]["type"].native),
    )


def _parse_seal_v1(seal: SESealV1) -> _Seal:
    info = seal["eseal_info"]
    header = info["header"]
    if _header_version(header) not in _V1_VERSIONS:
        raise _format_failure("a GM/T 0031 seal has header version 1 or 2")
    prop = info["property"]
    sign_info = seal["sign_info"]
    summary = SealSummary(
        seal_id=str(info["es_id"].native),
        name=str(prop["name"].native),
        seal_type=int(prop["type"].native),
        valid_from=_time_value(prop["valid_start"]),
        valid_until=_time_value(prop["valid_end"]),
        maker_certificate=bytes(sign_info["cert"].native),
        signer_certificates=tuple(bytes(item.native) for item in prop["cert_list"]),
        version=1,
    )
    signed = _der_sequence(info.dump() + sign_info["cert"].dump() + sign_info["signature_algorithm"].dump())
    return _Seal(
        version=1,
        summary=summary,
        maker_signed_bytes=signed,
        maker_signature=bytes(sign_info["sign_data"].native),
        maker_algorithm=str(sign_info["signature_algorithm"].dotted),
        cert_list_type=_CERT_LIST_CERTIFICATES,
        cert_digests=(),
        vendor_id=str(header["vid"].native),
        created=_time_value(prop["create_date"]),
        picture_type=str(info["picture"]["type"].native),
    )


def _sequence_length(data: bytes) -> int:
    """How many elements the outer SEQUENCE has: the standards' versions differ in it (as ofdrw tells them)."""
    outer = core.Sequence.load(data, strict=True)
    return len(outer)


def _parse_seal(seal_der: bytes) -> _Seal:
    try:
        count = _sequence_length(seal_der)
        if count == 4:
            seal_v4 = SESealV4.load(seal_der, strict=True)
            seal_v4.native  # noqa: B018 - parse the whole structure now, so malformed input fails here
            return _parse_seal_v4(seal_v4)
        if count == 2:
            seal_v1 = SESealV1.load(seal_der, strict=True)
            seal_v1.native  # noqa: B018
            return _parse_seal_v1(seal_v1)
    except SignatureFailure:
        raise
    except _PARSE_ERRORS as exc:
        raise _format_failure("the seal is not a GB/T 38540 or GM/T 0031 SESeal") from exc
    raise _format_failure("the seal is not a GB/T 38540 or GM/T 0031 SESeal")


def _signature_der(value: bytes) -> bytes:
    """The DER SM2Signature in a BIT STRING; some producers put the raw 64-byte r || s there."""
    if len(value) == 64 and value[0] != 0x30:
        return ecdsa_der(value)  # the same SEQUENCE of two INTEGERs as an ECDSA signature
    return value


def _public_key(certificate: bytes, role: str) -> Sm2PublicKey:
    try:
        return sm2_public_key_of_certificate(certificate)
    except InvalidCertificate as exc:
        raise _format_failure(f"the {role} certificate is not a DER X.509 certificate") from exc
    except UnsupportedKey as exc:
        raise SignatureFailure(SubIndication.SIG_CRYPTO_FAILURE, f"the {role} certificate carries no SM2 key") from exc


def _check_algorithm(oid: str, role: str) -> None:
    if oid != SM2_WITH_SM3_OID:
        raise _format_failure(f"the {role} signature algorithm {oid} is not SM2-with-SM3")


def _check_maker_signature(seal: _Seal) -> Sm2PublicKey:
    _check_algorithm(seal.maker_algorithm, "seal maker's")
    maker_key = _public_key(seal.summary.maker_certificate, "seal maker")
    try:
        # One seal signs many documents: its maker's signature is remembered once it verified (the
        # signer's own signature over each document is always computed).
        verify_remembered(maker_key, _signature_der(seal.maker_signature), seal.maker_signed_bytes, SM2_SIGNER_ID)
    except InvalidSignature as exc:
        raise SignatureFailure(
            SubIndication.SIG_CRYPTO_FAILURE, "the seal maker's signature over the seal does not verify"
        ) from exc
    return maker_key


def examine_seal(seal_der: bytes) -> SealSummary:
    """Parse an e-seal (.esl) and check its maker's SM2 signature; raises SignatureFailure.

    The maker certificate's trust is left to the validation engine, as for signatures.
    """
    seal = _parse_seal(seal_der)
    _check_maker_signature(seal)
    return seal.summary


def _certificate_digest(algorithm: str, certificate: bytes) -> bytes | None:
    name = algorithm.strip().lower().replace("-", "")
    if name in ("sm3", "1.2.156.10197.1.401"):
        return sm3(certificate)
    if name in ("sha256", "sha1"):
        return hashlib.new(name, certificate).digest()
    return None


def _check_signer_in_seal(seal: _Seal, signer_certificate: bytes) -> None:
    if seal.cert_list_type == _CERT_LIST_CERTIFICATES:
        if any(hmac.compare_digest(signer_certificate, listed) for listed in seal.summary.signer_certificates):
            return
    else:
        for algorithm, value in seal.cert_digests:
            digest = _certificate_digest(algorithm, signer_certificate)
            if digest is not None and hmac.compare_digest(digest, value):
                return
    raise SignatureFailure(
        SubIndication.SIG_CONSTRAINTS_FAILURE, "the signer's certificate is not among the seal's certificates"
    )


def _v1_time(time_info: bytes) -> datetime:
    """GM/T 0031's timeInfo: a time text (UTCTime, GeneralizedTime or local "YYYY-MM-DD HH:MM:SS"),
    a DER time, or a time-stamp token (whose genTime is then the claimed time)."""
    try:
        text = time_info.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    for pattern, zone in (
        ("%y%m%d%H%M%SZ", UTC),
        ("%Y%m%d%H%M%SZ", UTC),
        ("%Y-%m-%d %H:%M:%S", _CHINA_STANDARD_TIME),
        ("%Y%m%d%H%M%S", _CHINA_STANDARD_TIME),
    ):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=zone).astimezone(UTC)
        except ValueError:
            continue
    try:
        value = core.load(time_info, strict=True)
        if isinstance(value, core.UTCTime | core.GeneralizedTime):
            return _time_value(value)
        token = cms.ContentInfo.load(time_info, strict=True)
        content = token["content"]["encap_content_info"]["content"].parsed
        if isinstance(content, tsp.TSTInfo):
            return _time_value(content["gen_time"])
    except _PARSE_ERRORS:
        pass
    raise _format_failure("the signature's timeInfo is not a time")


@dataclass(frozen=True)
class _Signature:
    version: int
    seal: _Seal
    to_be_signed: bytes
    signature: bytes
    algorithm: str
    signer_certificate: bytes
    time_info: datetime
    data_hash: bytes
    property_info: str
    has_time_stamp: bool


@functools.lru_cache(maxsize=128)
def _embedded_seal_v4(seal_der: bytes) -> _Seal:
    # One seal signs many documents: each seal's bytes are parsed once (a _Seal is immutable). Errors are
    # raised afresh every time, as _parse_signature would have raised them.
    seal = SESealV4.load(seal_der, strict=True)
    seal.native  # noqa: B018 - parse the whole structure now
    return _parse_seal_v4(seal)


@functools.lru_cache(maxsize=128)
def _embedded_seal_v1(seal_der: bytes) -> _Seal:
    seal = SESealV1.load(seal_der, strict=True)
    seal.native  # noqa: B018
    return _parse_seal_v1(seal)


def _parse_all_but_the_seal(value: core.Sequence) -> None:
    """Parse every field now, as `.native` would, except the seal in TBS_Sign (the _embedded_seal_* parse it)."""
    for name, *_ in value._fields:
        if name == "eseal":
            continue
        child = value[name]
        if name == "to_sign":
            _parse_all_but_the_seal(child)
        else:
            child.native  # noqa: B018


def _parse_signature(signature_der: bytes) -> _Signature:
    try:
        count = _sequence_length(signature_der)
        if count in (4, 5):
            parsed_v4 = SesSignatureV4.load(signature_der, strict=True)
            _parse_all_but_the_seal(parsed_v4)
            tbs_v4 = parsed_v4["to_sign"]
            if int(tbs_v4["version"].native) != 4:
                raise _format_failure("a GB/T 38540 signature has version 4")
            return _Signature(
                version=4,
                seal=_embedded_seal_v4(bytes(tbs_v4["eseal"].dump())),
                to_be_signed=bytes(tbs_v4.dump()),
                signature=bytes(parsed_v4["signature"].native),
                algorithm=str(parsed_v4["signature_alg_id"].dotted),
                signer_certificate=bytes(parsed_v4["cert"].native),
                time_info=_time_value(tbs_v4["time_info"]),
                data_hash=bytes(tbs_v4["data_hash"].native),
                property_info=str(tbs_v4["property_info"].native),
                has_time_stamp=parsed_v4["time_stamp"].native is not None,
            )
        if count == 2:
            parsed_v1 = SesSignatureV1.load(signature_der, strict=True)
            _parse_all_but_the_seal(parsed_v1)
            tbs_v1 = parsed_v1["to_sign"]
            if int(tbs_v1["version"].native) not in _V1_VERSIONS:
                raise _format_failure("a GM/T 0031 signature has version 1 or 2")
            return _Signature(
                version=1,
                seal=_embedded_seal_v1(bytes(tbs_v1["eseal"].dump())),
                to_be_signed=bytes(tbs_v1.dump()),
                signature=bytes(parsed_v1["signature"].native),
                algorithm=str(tbs_v1["signature_algorithm"].dotted),
                signer_certificate=bytes(tbs_v1["cert"].native),
                time_info=_v1_time(bytes(tbs_v1["time_info"].native)),
                data_hash=bytes(tbs_v1["data_hash"].native),
                property_info=str(tbs_v1["property_info"].native),
                has_time_stamp=False,
            )
    except SignatureFailure:
        raise
    except _PARSE_ERRORS as exc:
        raise _format_failure("not a GB/T 38540 or GM/T 0031 SES_Signature") from exc
    raise _format_failure("not a GB/T 38540 or GM/T 0031 SES_Signature")


def embedded_seal(signature_der: bytes) -> bytes:
    """The DER of the seal inside an SES_Signature, as it appears there; raises SignatureFailure."""
    try:
        count = _sequence_length(signature_der)
        if count in (4, 5):
            return bytes(SesSignatureV4.load(signature_der, strict=True)["to_sign"]["eseal"].dump())
        if count == 2:
            return bytes(SesSignatureV1.load(signature_der, strict=True)["to_sign"]["eseal"].dump())
    except _PARSE_ERRORS as exc:
        raise _format_failure("not a GB/T 38540 or GM/T 0031 SES_Signature") from exc
    raise _format_failure("not a GB/T 38540 or GM/T 0031 SES_Signature")


def examine_ses_signature(signature_der: bytes, data: bytes) -> SignatureEvidence:
    """Check an SES_Signature over data; the evidence, or SignatureFailure naming what failed.

    In order: the structure, versions and algorithms (FORMAT_FAILURE); dataHash = SM3(data)
    (HASH_FAILURE); the signer's signature over TBS_Sign and the maker's over the seal
    (SIG_CRYPTO_FAILURE); the signer's certificate among the seal's (SIG_CONSTRAINTS_FAILURE); the
    signing time within the seal's validity (SEAL_NOT_VALID).
    """
    parsed = _parse_signature(signature_der)
    _check_algorithm(parsed.algorithm, "signer's")
    _check_algorithm(parsed.seal.maker_algorithm, "seal maker's")
    signer_key = _public_key(parsed.signer_certificate, "signer")
    if not hmac.compare_digest(parsed.data_hash, sm3(data)):
        raise SignatureFailure(SubIndication.HASH_FAILURE, "the signed data does not match the signature's dataHash")
    try:
        signer_key.verify(_signature_der(parsed.signature), parsed.to_be_signed, SM2_SIGNER_ID)
    except InvalidSignature as exc:
        raise SignatureFailure(SubIndication.SIG_CRYPTO_FAILURE, "the signer's signature does not verify") from exc
    _check_maker_signature(parsed.seal)
    _check_signer_in_seal(parsed.seal, parsed.signer_certificate)
    seal = parsed.seal.summary
    if not seal.valid_from <= parsed.time_info <= seal.valid_until:
        raise SignatureFailure(
            SubIndication.SEAL_NOT_VALID,
            f"the seal was not valid at the signing time {parsed.time_info.isoformat()}"
            f" (valid {seal.valid_from.isoformat()} to {seal.valid_until.isoformat()})",
        )
    return SignatureEvidence(
        format=SES_V4_FORMAT if parsed.version == 4 else SES_V1_FORMAT,
        signature_algorithm=SIGNATURE_ALGORITHM,
        signer_certificate=parsed.signer_certificate,
        claimed_signing_time=parsed.time_info,
        signed_content=data,
        seal=seal,
        details={
            "property_info": parsed.property_info,
            "seal_vendor_id": parsed.seal.vendor_id,
            "seal_created": parsed.seal.created,
            "seal_picture_type": parsed.seal.picture_type,
            "seal_cert_list_type": parsed.seal.cert_list_type,
            "signature_time_stamp": parsed.has_time_stamp,
        },
    )
