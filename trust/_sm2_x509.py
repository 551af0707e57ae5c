"""SM2 X.509 certificates and CRLs (GM/T 0015): build, and check their SM2-with-SM3 signatures.

pyca/cryptography parses these certificates but cannot sign or verify with SM2, so they are built
and checked here with asn1crypto. Signatures use the default signer id "1234567812345678", which
is what GM/T 0015 certificates and OpenSSL 3.0 (`openssl verify`, `openssl req -sm3`) use.

Only the signatures are checked here; names, validity, chains and revocation are the validation
engine's business.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

from asn1crypto import crl, x509

from trust._errors import InvalidCertificate, InvalidSignature
from trust._sm2 import (
    REMEMBERED_VERIFICATIONS,
    SM2_SIGNER_ID,
    SM2_WITH_SM3_OID,
    Remembered,
    Sm2PrivateKey,
    Sm2PublicKey,
)

__all__ = [
    "make_sm2_certificate",
    "make_sm2_crl",
    "sm2_public_key_of_certificate",
    "verify_crl_signature",
    "verify_issued_by",
]

NameSpec: TypeAlias = "Mapping[str, str] | x509.Name | bytes"  # asn1crypto attribute names, a Name, or DER of a Name

_CA_KEY_USAGE = frozenset({"digital_signature", "key_cert_sign", "crl_sign"})
_LEAF_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})


def _sm2_with_sm3() -> dict[str, Any]:
    # OpenSSL writes the identifier without parameters; so do we.
    return {"algorithm": SM2_WITH_SM3_OID}


def _name(spec: NameSpec) -> x509.Name:
    if isinstance(spec, x509.Name):
        return spec
    if isinstance(spec, bytes):
        return x509.Name.load(spec)
    return x509.Name.build(dict(spec), use_printable=False)


def _time(moment: datetime) -> x509.Time:
    """UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5)."""
    moment = moment.astimezone(UTC).replace(microsecond=0)
    if moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


@functools.lru_cache(maxsize=1024)
def _check_parses(der: bytes) -> None:
    """Parse everything once, so a malformed certificate fails here (remembered: the same CA and
    issuer certificates come back on every validation, and a full parse is the costly part)."""
    try:
        x509.Certificate.load(der, strict=True).native  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidCertificate("not a DER X.509 certificate") from exc


def _load_certificate(der: bytes) -> x509.Certificate:
    _check_parses(bytes(der))
    return x509.Certificate.load(der, strict=True)  # a fresh object each time: callers may read it freely


def _certificate_and_key(issuer_der: bytes) -> tuple[x509.Certificate, Sm2PublicKey]:
    """The certificate and its SM2 key; InvalidCertificate if unparsable, UnsupportedKey if not SM2."""
    return _load_certificate(issuer_der), _key_of(bytes(issuer_der))


@functools.lru_cache(maxsize=1024)
def _key_of(der: bytes) -> Sm2PublicKey:
    # Remembered (an Sm2PublicKey is immutable): a seal's maker and signer certificates, and the CAs above
    # them, come back on every validation, and the point's curve check is costly in Python.
    certificate = _load_certificate(der)
    return Sm2PublicKey.from_der(certificate["tbs_certificate"]["subject_public_key_info"].dump())


def sm2_public_key_of_certificate(der: bytes) -> Sm2PublicKey:
    """The SM2 key a certificate carries; InvalidCertificate if unparsable, UnsupportedKey if not SM2."""
    return _key_of(bytes(der))


def _key_identifier(public_key: Sm2PublicKey) -> bytes:
    # RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits, as OpenSSL computes it.
    return hashlib.sha1(public_key.to_bytes(), usedforsecurity=False).digest()


def make_sm2_certificate(
    subject: NameSpec,
    issuer_certificate: bytes | None,
    issuer_key: Sm2PrivateKey,
    subject_public_key: Sm2PublicKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    *,
    is_ca: bool = False,
    path_length: int | None = None,
    key_usage: Iterable[str] | None = None,
    extended_key_usage: Iterable[str] | None = None,
    crl_url: str | None = None,
    signer_id: bytes = SM2_SIGNER_ID,
) -> bytes:
    """A DER X.509 v3 certificate signed with SM2-with-SM3; self-signed when issuer_certificate is None.

    key_usage and extended_key_usage take asn1crypto's names ("digital_signature", "key_cert_sign",
    "crl_sign", "non_repudiation"; "client_auth", "email_protection", or dotted OIDs).
    """
    if serial <= 0:
        raise ValueError("a certificate serial number is a positive integer")
    subject_name = _name(subject)
    subject_key_id = _key_identifier(subject_public_key)
    if issuer_certificate is None:
        if issuer_key.public_key() != subject_public_key:
            raise ValueError("a self-signed certificate is signed by its subject's own key")
        issuer_name, issuer_key_id = subject_name, subject_key_id
    else:
        issuer, certified_key = _certificate_and_key(issuer_certificate)
        if certified_key != issuer_key.public_key():
            raise ValueError("issuer_key does not belong to issuer_certificate")
        issuer_name = issuer.subject
        issuer_key_id = issuer.key_identifier or _key_identifier(issuer_key.public_key())

    usage = frozenset(key_usage) if key_usage is not None else (_CA_KEY_USAGE if is_ca else _LEAF_KEY_USAGE)
    extensions: list[x509.Extension] = [
        x509.Extension(
            {
                "extn_id": "basic_constraints",
                "critical": True,
                "extn_value": {"ca": is_ca, "path_len_constraint": path_length if is_ca else None},
            }
        ),
        x509.Extension({"extn_id": "key_usage", "critical": True, "extn_value": set(usage)}),
        x509.Extension({"extn_id": "key_identifier", "critical": False, "extn_value": subject_key_id}),
        x509.Extension(
            {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": issuer_key_id}}
        ),
    ]
    if extended_key_usage:
        extensions.append(
            x509.Extension({"extn_id": "extended_key_usage", "critical": False, "extn_value": list(extended_key_usage)})
        )
    if crl_url is not None:
        extensions.append(
            x509.Extension(
                {
                    "extn_id": "crl_distribution_points",
                    "critical": False,
                    "extn_value": [
                        {
                            "distribution_point": {
                                "full_name": [x509.GeneralName(name="uniform_resource_identifier", value=crl_url)]
                            }
                        }
                    ],
                }
            )
        )

    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": _sm2_with_sm3(),
            "issuer": issuer_name,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject_name,
            "subject_public_key_info": subject_public_key.to_info(),
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump(), signer_id)
    certificate = x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": _sm2_with_sm3(), "signature_value": signature}
    )
    return bytes(certificate.dump())


def _check_sm2_signature(
    signed_bytes: bytes,
    inner_algorithm: Any,
    outer_algorithm: Any,
    signature: bytes,
    issuer_key: Sm2PublicKey,
    signer_ids: Sequence[bytes],
) -> None:
    if inner_algorithm["algorithm"].dotted != SM2_WITH_SM3_OID or outer_algorithm.dump() != inner_algorithm.dump():
        raise InvalidSignature("not signed with SM2-with-SM3")
    for signer_id in signer_ids:
        try:
            issuer_key.verify(signature, signed_bytes, signer_id)
            return
        except InvalidSignature:
            continue
    raise InvalidSignature("SM2 signature does not verify")


# Certificate signatures that verified, by (SHA-256 of the certificate, of the issuer, the signer ids
# accepted): the outcome depends on those bytes alone, and the same CA certificates and signer
# certificates come back on every validation. Failures are not remembered; nothing about validity
# times or revocation is (the engine checks those on every validation).
_ISSUED = Remembered(REMEMBERED_VERIFICATIONS)


def verify_issued_by(
    certificate_der: bytes, issuer_der: bytes, *, signer_ids: Sequence[bytes] = (SM2_SIGNER_ID,)
) -> None:
    """Raises InvalidSignature unless issuer_der's SM2 key signed certificate_der (and the names chain).

    UnsupportedKey when the issuer's key is not SM2; InvalidCertificate when either does not parse.
    signer_ids: the SM2 ids accepted; GM/T 0015 says "1234567812345678". OpenSSL 3.0's command line
    signs certificates and CRLs with an empty id unless told otherwise (`-sigopt distid:...`), so
    pass (SM2_SIGNER_ID, b"") to accept those too.
    """
    remembered = (
        hashlib.sha256(certificate_der).digest(),
        hashlib.sha256(issuer_der).digest(),
        tuple(bytes(signer_id) for signer_id in signer_ids),
    )
    if remembered in _ISSUED:
        return
    issuer, issuer_key = _certificate_and_key(issuer_der)
    certificate = _load_certificate(certificate_der)
    tbs = certificate["tbs_certificate"]
    if tbs["issuer"] != issuer.subject:
        raise InvalidSignature("the certificate names another issuer")
    _check_sm2_signature(
        tbs.dump(),
        tbs["signature"],
        certificate["signature_algorithm"],
        bytes(certificate["signature_value"].native),
        issuer_key,
        signer_ids,
    )
    _ISSUED.add(remembered)


def make_sm2_crl(
    issuer_certificate: bytes,
    issuer_key: Sm2PrivateKey,
    revoked: Sequence[tuple[int, datetime]],
    this_update: datetime,
    next_update: datetime,
    *,
    crl_number: int = 1,
    signer_id: bytes = SM2_SIGNER_ID,
) -> bytes:
    """A DER X.509 v2 CRL signed with SM2-with-SM3, with CRL number and authority key identifier."""
    issuer, certified_key = _certificate_and_key(issuer_certificate)
    if certified_key != issuer_key.public_key():
        raise ValueError("issuer_key does not belong to issuer_certificate")
    entries = [
        {"user_certificate": serial, "revocation_date": _time(revoked_at)}
        for serial, revoked_at in sorted(revoked, key=lambda item: item[0])
    ]
    key_id = issuer.key_identifier or _key_identifier(issuer_key.public_key())
    tbs = crl.TbsCertList(
        {
            "version": "v2",
            "signature": _sm2_with_sm3(),
            "issuer": issuer.subject,
            "this_update": _time(this_update),
            "next_update": _time(next_update),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
                {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": key_id}},
            ],
        }
    )
    signature = issuer_key.sign(tbs.dump(), signer_id)
    certificate_list = crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": _sm2_with_sm3(), "signature": signature}
    )
    return bytes(certificate_list.dump())


def verify_crl_signature(crl_der: bytes, issuer_der: bytes, *, signer_ids: Sequence[bytes] = (SM2_SIGNER_ID,)) -> None:
    """Raises InvalidSignature unless issuer_der's SM2 key signed the CRL (and the CRL names that issuer).

    signer_ids as for verify_issued_by.
    """
    issuer, issuer_key = _certificate_and_key(issuer_der)
    try:
        certificate_list = crl.CertificateList.load(crl_der, strict=True)
        tbs = certificate_list["tbs_cert_list"]
        tbs.native  # noqa: B018 - parse everything now
        signature = bytes(certificate_list["signature"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidSignature("not a DER X.509 CRL") from exc
    if tbs["issuer"] != issuer.subject:
        raise InvalidSignature("the CRL names another issuer")
    _check_sm2_signature(
        tbs.dump(), tbs["signature"], certificate_list["signature_algorithm"], signature, issuer_key, signer_ids
    )
