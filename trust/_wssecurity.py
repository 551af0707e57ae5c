"""WS-Security X.509 token profile signatures on SOAP 1.1 and 1.2 envelopes, as zeep's BinarySignature makes them.

The wire shape is zeep's (`zeep.wsse.signature.BinarySignature`): a wsse:Security header in
soap:Header holding a wsu:Timestamp, a wsse:BinarySecurityToken (X509v3, Base64Binary) and a
ds:Signature whose references point by wsu:Id at soap:Body and the Timestamp, with exclusive
C14N, SHA-256 digests, RSA-SHA256 or ECDSA-SHA256 (P-256), and a SecurityTokenReference to the
token. zeep signs and checks this with xmlsec; we build and check it with lxml's exclusive C14N
and `cryptography`, so that what is checked is decided here and not by a general-purpose engine:

- the elements we digest are found by structure (the one soap:Body that is a child of the
  Envelope, the one wsu:Timestamp in the one wsse:Security in soap:Header), never by resolving
  an id; a reference only has to name that element's wsu:Id. Ids must be unique, and no other
  element may carry a signed id in any id-like attribute, so no other verifier can resolve them
  elsewhere either. Moving the signed Body and putting a new one in its place is refused.
- only exclusive C14N (without comments) and SHA-256, RSA-SHA256 and ECDSA-SHA256 are accepted;
  no XPath or XSLT transform, no external or same-document URI other than `#id`, no key taken
  from anywhere but the referenced BinarySecurityToken.

Errors (messages are fixed texts, safe to show to the caller; none echoes the message):

    TrustError
     └── WsSecurityError
          ├── MissingSecurityHeader   (also a SignatureMissing)   no Security header or no Signature
          ├── InvalidSoapSignature    (also an InvalidSignature)  does not verify, covers too little,
          │                                                       malformed, wrapped, bad token
          ├── UnsupportedAlgorithm    (also an InvalidSignature)  SHA-1, RSA-SHA1, other methods or keys
          └── StaleTimestamp          (also a SignatureOutOfTime) missing, expired or future Timestamp

The caller still has to decide whether the certificate belongs to a registered member.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from trust._certificates import load_der_certificate, require_certificate_of
from trust._dsig import (
    DS_NS,
    ECDSA_SHA256,
    EXC_C14N,
    NCNAME,
    REFUSED_ALGORITHMS,
    RSA_SHA256,
    SHA256,
    SigningKey,
    b64,
    base64_text,
    canonical,
    elements,
    inclusive_prefixes,
    leaf_text,
    sign_value,
    signature_method_for,
    verify_value,
)
from trust._errors import (
    InvalidCertificate,
    InvalidSignature,
    SignatureMissing,
    SignatureOutOfTime,
    TrustError,
    UnsupportedKey,
)
from trust._time import NotXsdDateTime, parse_xsd_datetime, utc_text

__all__ = [
    "InvalidSoapSignature",
    "MissingSecurityHeader",
    "StaleTimestamp",
    "UnsupportedAlgorithm",
    "VerifiedSoapSignature",
    "WsSecurityError",
    "sign_envelope",
    "verify_envelope",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XML_NS = "http://www.w3.org/XML/1998/namespace"

X509V3_TOKEN = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

# Names for the refusals we expect to see, so a message can say what was refused without
# echoing text from the request; here other C14N methods and transforms are algorithm refusals too.
_KNOWN_REFUSED = {
    **REFUSED_ALGORITHMS,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": "inclusive C14N",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": "inclusive C14N with comments",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": "exclusive C14N with comments",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature": "the enveloped-signature transform",
}

_ID = f"{{{WSU_NS}}}Id"
_ID_LIKE = "//@*[(local-name()='Id' or local-name()='ID' or local-name()='id') and ({values})]"
_MAX_REFERENCES = 16  # Body, Timestamp, the token and a few header blocks; each costs a pass over the message
_ALL_WSU_IDS = etree.XPath("//@wsu:Id", namespaces={"wsu": WSU_NS})


class WsSecurityError(TrustError):
    """Root of the WS-Security refusals."""


class MissingSecurityHeader(WsSecurityError, SignatureMissing):
    """No wsse:Security header, or no signature in it."""


class InvalidSoapSignature(WsSecurityError, InvalidSignature):
    """A signature that does not verify, covers the wrong elements, or cannot be read."""


class UnsupportedAlgorithm(WsSecurityError, InvalidSignature):
    """An algorithm, transform or key we do not accept (SHA-1 among them)."""


class StaleTimestamp(WsSecurityError, SignatureOutOfTime):
    """No wsu:Timestamp, an expired one, or one created too far from our clock."""


@dataclass(frozen=True)
class VerifiedSoapSignature:
    """What a verified WS-Security signature vouches for.

    `body` is the soap:Body the signature covers: read the request from it, never by searching
    the document (`.//Body` finds the first one in document order, which is how wrapping works).
    `signature_value` is the raw SignatureValue, with an ECDSA `s` replaced by min(s, n - s):
    (r, s) and (r, n - s) both verify, so without that a replayed message could pass a replay
    check keyed on the value by flipping `s`. The normalised value still verifies.
    """

    certificate: x509.Certificate
    signed_ids: tuple[str, ...]
    created: datetime
    expires: datetime
    signature_value: bytes
    body: Any  # lxml.etree._Element


# ---- shared helpers ----------------------------------------------------------------------------------


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _soap_namespace(envelope: Any) -> str | None:
    if not isinstance(getattr(envelope, "tag", None), str):
        return None
    qname = etree.QName(envelope)
    if qname.localname == "Envelope" and qname.namespace in (SOAP11_NS, SOAP12_NS):
        return str(qname.namespace)
    return None


def _xsd_datetime(moment: datetime) -> str:
    return utc_text(moment, timespec="milliseconds")


def _signature_method_for(key: Any) -> str:
    """The signature method a key signs or verifies with; raises UnsupportedKey for any other key."""
    return signature_method_for(
        key,
        other_key="WS-Security signatures need an RSA (2048 bits or more) or ECDSA P-256 key",
        other_curve="only P-256 EC keys are supported for WS-Security",
    )


def _new_id(kind: str) -> str:
    # Ids only need to be unique within the message; an NCName that starts with a letter.
    return f"{kind}-{uuid.uuid4()}"


# ---- signing ---------------------------------------------------------------------------------------------


def sign_envelope(
    envelope: etree._Element,
    *,
    private_key: SigningKey,
    certificate: x509.Certificate,
    now: datetime,
    ttl_seconds: int = 300,
) -> None:
    """Sign a SOAP 1.1 or 1.2 envelope in place the way zeep's BinarySignature does, plus a Timestamp.

    Adds soap:Header (if absent) with a wsse:Security holding wsu:Timestamp (Created = now,
    Expires = now + ttl), the certificate as a BinarySecurityToken, and a ds:Signature over
    soap:Body and the Timestamp. Finish building the Body first: any later change breaks the
    signature. Raises ValueError for an envelope we cannot sign and UnsupportedKey for a key
    that is neither RSA (2048 bits or more) nor ECDSA P-256.
    """
    soap_ns = _soap_namespace(envelope)
    if soap_ns is None:
        raise ValueError("not a SOAP 1.1 or 1.2 Envelope")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    method = _signature_method_for(private_key)
    require_certificate_of(certificate, private_key, what="the certificate")

    children = elements(envelope)
    bodies = [child for child in children if child.tag == _q(soap_ns, "Body")]
    headers = [child for child in children if child.tag == _q(soap_ns, "Header")]
    if len(bodies) != 1 or len(headers) > 1:
        raise ValueError("the envelope needs exactly one Body and at most one Header")
    body = bodies[0]
    if headers:
        header = headers[0]
        if header.find(_q(WSSE_NS, "Security")) is not None:
            raise ValueError("the envelope already has a wsse:Security header")
    else:
        header = etree.Element(_q(soap_ns, "Header"))
        envelope.insert(0, header)

    # Timestamp first, then the token, then the signature: the order WS-SecurityPolicy's
    # Strict layout wants, so that WSS4J and WCF receivers are as happy as zeep.
    security = etree.SubElement(header, _q(WSSE_NS, "Security"), nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
    timestamp = etree.SubElement(security, _q(WSU_NS, "Timestamp"), {_ID: _new_id("TS")})
    etree.SubElement(timestamp, _q(WSU_NS, "Created")).text = _xsd_datetime(now)
    etree.SubElement(timestamp, _q(WSU_NS, "Expires")).text = _xsd_datetime(now + timedelta(seconds=ttl_seconds))
    token_id = _new_id("X509")
    token = etree.SubElement(
        security,
        _q(WSSE_NS, "BinarySecurityToken"),
        {"ValueType": X509V3_TOKEN, "EncodingType": BASE64_BINARY, _ID: token_id},
    )
    token.text = b64(certificate.public_bytes(Encoding.DER))
    if not body.get(_ID):
        body.set(_ID, _new_id("id"))

    signature = etree.SubElement(security, _q(DS_NS, "Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _q(DS_NS, "SignedInfo"))
    etree.SubElement(signed_info, _q(DS_NS, "CanonicalizationMethod"), {"Algorithm": EXC_C14N})
    etree.SubElement(signed_info, _q(DS_NS, "SignatureMethod"), {"Algorithm": method})
    for target in (body, timestamp):
        reference = etree.SubElement(signed_info, _q(DS_NS, "Reference"), {"URI": "#" + target.get(_ID)})
        transforms = etree.SubElement(reference, _q(DS_NS, "Transforms"))
        etree.SubElement(transforms, _q(DS_NS, "Transform"), {"Algorithm": EXC_C14N})
        etree.SubElement(reference, _q(DS_NS, "DigestMethod"), {"Algorithm": SHA256})
        digest = hashlib.sha256(canonical(target)).digest()
        etree.SubElement(reference, _q(DS_NS, "DigestValue")).text = b64(digest)
    value = sign_value(private_key, canonical(signed_info))
    etree.SubElement(signature, _q(DS_NS, "SignatureValue")).text = b64(value)
    key_info = etree.SubElement(signature, _q(DS_NS, "KeyInfo"))
    token_reference = etree.SubElement(key_info, _q(WSSE_NS, "SecurityTokenReference"))
    etree.SubElement(token_reference, _q(WSSE_NS, "Reference"), {"URI": "#" + token_id, "ValueType": X509V3_TOKEN})


# ---- verification: structure ------------------------------------------------------------------------


def _text(element: Any) -> str:
    """The text of a leaf element (comments do not split it); InvalidSoapSignature if it has children."""
    try:
        return leaf_text(element).strip()
    except ValueError as exc:
        raise InvalidSoapSignature("the Security header is malformed") from exc


def _base64(text: str) -> bytes:
    try:
        return base64_text(text)
    except ValueError as exc:
        raise InvalidSoapSignature("the Security header is malformed") from exc


def _count(envelope: Any, namespace: str, name: str) -> int:
    return int(envelope.xpath("count(//x:" + name + ")", namespaces={"x": namespace}))


def _envelope_parts(envelope: Any, soap_ns: str) -> tuple[Any, Any]:
    """(Header, Body), checked: the Envelope holds [Header] Body and nothing else, and no SOAP part hides elsewhere."""
    children = elements(envelope)
    tags = [child.tag for child in children]
    header_tag, body_tag = _q(soap_ns, "Header"), _q(soap_ns, "Body")
    if tags not in ([body_tag], [header_tag, body_tag]):
        raise InvalidSoapSignature("the envelope must hold an optional Header and then one Body, nothing else")
    # A second Body (or Header, or Envelope) anywhere, for instance inside a header block, is the
    # decoy of a wrapping attack; no honest message has one.
    if _count(envelope, soap_ns, "Body") != 1 or _count(envelope, soap_ns, "Header") > 1:
        raise InvalidSoapSignature("the envelope holds more than one Body or Header")
    if _count(envelope, soap_ns, "Envelope") != 1:
        raise InvalidSoapSignature("the envelope holds another envelope")
    header = children[0] if len(children) == 2 else None
    return header, children[-1]


def _only(parent: Any, namespace: str, name: str) -> list[Any]:
    return [child for child in elements(parent) if child.tag == _q(namespace, name)]


def _security_parts(header: Any, envelope: Any) -> tuple[Any, Any, Any]:
    """(Security, Timestamp, Signature), each the only one of its kind where it belongs."""
    securities = _only(header, WSSE_NS, "Security")
    if not securities:
        raise MissingSecurityHeader("the message has no wsse:Security header")
    if len(securities) > 1 or _count(envelope, WSSE_NS, "Security") != 1:
        raise InvalidSoapSignature("the message must have exactly one wsse:Security header")
    security = securities[0]
    signatures = _only(security, DS_NS, "Signature")
    if not signatures:
        raise MissingSecurityHeader("the wsse:Security header holds no signature")
    if len(signatures) > 1:
        raise InvalidSoapSignature("the wsse:Security header must hold exactly one signature")
    timestamps = _only(security, WSU_NS, "Timestamp")
    if _count(envelope, WSU_NS, "Timestamp") != len(timestamps):
        raise InvalidSoapSignature("a wsu:Timestamp outside the wsse:Security header is not allowed")
    if not timestamps:
        raise StaleTimestamp("the wsse:Security header holds no wsu:Timestamp")
    if len(timestamps) > 1:
        raise InvalidSoapSignature("the wsse:Security header must hold exactly one wsu:Timestamp")
    return security, timestamps[0], signatures[0]


def _unique_wsu_ids(envelope: Any) -> dict[str, Any]:
    """wsu:Id -> element; InvalidSoapSignature if any value occurs twice."""
    found = _ALL_WSU_IDS(envelope)
    if any(count > 1 for count in Counter(str(value) for value in found).values()):
        raise InvalidSoapSignature("wsu:Id values must be unique")
    return {str(value): value.getparent() for value in found}


def _refuse_reused_ids(envelope: Any, signed: set[str]) -> None:
    """InvalidSoapSignature if a signed wsu:Id value is also carried by another id-like attribute."""
    # xml:id, Id, ID or id on another element with a signed id's value would let another
    # verifier (xmlsec registers such attributes) resolve the reference elsewhere than we do.
    # One pass for all values: each is a unique wsu:Id (the caller sees to it), so exactly
    # len(signed) attributes match unless one is reused.
    values = sorted(signed)
    condition = " or ".join(f". = $v{index}" for index in range(len(values)))
    count = envelope.xpath(f"count({_ID_LIKE.format(values=condition)})", **{f"v{i}": v for i, v in enumerate(values)})
    if count != len(values):
        raise InvalidSoapSignature("an id is used by more than one element")


# ---- verification: the signature element -----------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    target_id: str
    prefixes: tuple[str, ...]
    digest: bytes


def _refused(algorithm: str | None, what: str) -> UnsupportedAlgorithm:
    name = _KNOWN_REFUSED.get(algorithm or "")
    if name:
        return UnsupportedAlgorithm(f"{name} is not accepted as {what}")
    return UnsupportedAlgorithm(f"the {what} is not accepted")


def _exclusive_c14n(method: Any, what: str) -> tuple[str, ...]:
    """Check an exclusive-C14N CanonicalizationMethod or Transform; return its InclusiveNamespaces PrefixList."""
    algorithm = method.get("Algorithm")
    if algorithm != EXC_C14N:
        raise _refused(algorithm, what)
    try:
        return inclusive_prefixes(method)
    except ValueError as exc:
        raise InvalidSoapSignature("the canonicalization method is malformed") from exc


def _parse_reference(reference: Any) -> _Reference:
    uri = reference.get("URI") or ""
    if not uri.startswith("#") or not NCNAME.match(uri[1:]):
        raise InvalidSoapSignature("references must point into the message by wsu:Id ('#id')")
    parts = elements(reference)
    tags = [part.tag for part in parts]
    if tags != [_q(DS_NS, "Transforms"), _q(DS_NS, "DigestMethod"), _q(DS_NS, "DigestValue")]:
        raise InvalidSoapSignature("a reference must have exactly one exclusive C14N transform and a SHA-256 digest")
    transforms = elements(parts[0])
    if len(transforms) != 1 or transforms[0].tag != _q(DS_NS, "Transform"):
        raise InvalidSoapSignature("a reference must have exactly one exclusive C14N transform and a SHA-256 digest")
    prefixes = _exclusive_c14n(transforms[0], "reference transform")
    digest_method = parts[1].get("Algorithm")
    if digest_method != SHA256 or elements(parts[1]):
        raise _refused(digest_method, "digest method")
    digest = _base64(_text(parts[2]))
    if len(digest) != 32:
        raise InvalidSoapSignature("a digest value has the wrong length")
    return _Reference(uri[1:], prefixes, digest)


def _signature_parts(signature: Any) -> tuple[Any, str, tuple[str, ...], list[_Reference], bytes, Any]:
    """(SignedInfo, signature method, its C14N prefixes, references, signature value, KeyInfo)."""
    parts = elements(signature)
    if [part.tag for part in parts] != [_q(DS_NS, "SignedInfo"), _q(DS_NS, "SignatureValue"), _q(DS_NS, "KeyInfo")]:
        raise InvalidSoapSignature("the signature must hold SignedInfo, SignatureValue and KeyInfo")
    signed_info, signature_value, key_info = parts
    info = elements(signed_info)
    if len(info) < 3 or [item.tag for item in info[:2]] != [
        _q(DS_NS, "CanonicalizationMethod"),
        _q(DS_NS, "SignatureMethod"),
    ]:
        raise InvalidSoapSignature("SignedInfo is malformed")
    prefixes = _exclusive_c14n(info[0], "canonicalization method")
    method = info[1].get("Algorithm")
    # HMACOutputLength and the like would change what the method means; there is nothing to say here.
    if method not in (RSA_SHA256, ECDSA_SHA256) or elements(info[1]):
        raise _refused(method, "signature method")
    if any(item.tag != _q(DS_NS, "Reference") for item in info[2:]):
        raise InvalidSoapSignature("SignedInfo is malformed")
    if len(info) - 2 > _MAX_REFERENCES:
        raise InvalidSoapSignature("SignedInfo has too many references")
    references = [_parse_reference(item) for item in info[2:]]
    return signed_info, str(method), prefixes, references, _base64(_text(signature_value)), key_info


def _token_certificate(key_info: Any, security: Any, ids: dict[str, Any]) -> tuple[str, x509.Certificate]:
    """(token id, certificate) of the BinarySecurityToken the KeyInfo refers to."""
    token_references = elements(key_info)
    if len(token_references) != 1 or token_references[0].tag != _q(WSSE_NS, "SecurityTokenReference"):
        raise InvalidSoapSignature("KeyInfo must hold one wsse:SecurityTokenReference to a BinarySecurityToken")
    pointers = elements(token_references[0])
    if len(pointers) != 1 or pointers[0].tag != _q(WSSE_NS, "Reference"):
        raise InvalidSoapSignature("KeyInfo must hold one wsse:SecurityTokenReference to a BinarySecurityToken")
    uri = pointers[0].get("URI") or ""
    value_type = pointers[0].get("ValueType")
    if value_type not in (None, X509V3_TOKEN):
        raise InvalidSoapSignature("the security token must be an X.509v3 certificate")
    token = ids.get(uri[1:]) if uri.startswith("#") else None
    if token is None or token.tag != _q(WSSE_NS, "BinarySecurityToken") or token.getparent() is not security:
        raise InvalidSoapSignature("KeyInfo must refer to a BinarySecurityToken in the wsse:Security header")
    if token.get("ValueType") != X509V3_TOKEN or token.get("EncodingType") not in (None, BASE64_BINARY):
        raise InvalidSoapSignature("the security token must be a base64 X.509v3 certificate")
    try:
        certificate = load_der_certificate(_base64(_text(token)))
    except InvalidCertificate as exc:
        raise InvalidSoapSignature("the security token is not an X.509 certificate") from exc
    return uri[1:], certificate


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _replay_stable(method: str, value: bytes) -> bytes:
    """The signature value with ECDSA's s in its lower form, so both encodings of one signature are equal."""
    if method != ECDSA_SHA256:
        return value
    s = int.from_bytes(value[32:], "big")
    return value[:32] + min(s, _P256_ORDER - s).to_bytes(32, "big")


def _verify_value(certificate: x509.Certificate, method: str, value: bytes, signed: bytes) -> None:
    public_key = certificate.public_key()
    try:
        expected = _signature_method_for(public_key)
    except UnsupportedKey as exc:
        raise UnsupportedAlgorithm(str(exc)) from exc
    if expected != method:
        raise UnsupportedAlgorithm("the signature method does not fit the certificate's key")
    try:
        verify_value(public_key, value, signed)
    except _CryptographyInvalidSignature as exc:
        raise InvalidSoapSignature("the signature does not verify") from exc


# ---- verification: time ------------------------------------------------------------------------------


def _parse_time(element: Any) -> datetime:
    try:
        return parse_xsd_datetime(_text(element))
    except NotXsdDateTime as exc:
        raise StaleTimestamp("the wsu:Timestamp holds a time that is not an xsd:dateTime with a time zone") from exc
    except ValueError as exc:
        raise StaleTimestamp("the wsu:Timestamp holds an impossible time") from exc


def _check_timestamp(timestamp: Any, now: datetime, max_skew: timedelta) -> tuple[datetime, datetime]:
    parts = elements(timestamp)
    if [part.tag for part in parts] != [_q(WSU_NS, "Created"), _q(WSU_NS, "Expires")]:
        raise StaleTimestamp("the wsu:Timestamp must hold Created and Expires")
    created, expires = _parse_time(parts[0]), _parse_time(parts[1])
    if expires <= created:
        raise StaleTimestamp("the wsu:Timestamp expires before it was created")
    if created > now + max_skew:
        raise StaleTimestamp(f"the wsu:Timestamp was created more than {int(max_skew.total_seconds())} s from now")
    if created < now - max_skew:
        raise StaleTimestamp(f"the wsu:Timestamp was created more than {int(max_skew.total_seconds())} s ago")
    if expires <= now:
        raise StaleTimestamp("the wsu:Timestamp has expired")
    return created, expires


# ---- verification ------------------------------------------------------------------------------------


def verify_envelope(envelope: etree._Element, *, now: datetime, max_skew_seconds: int = 300) -> VerifiedSoapSignature:
    """Verify the WS-Security signature of a SOAP envelope; raise unless it holds and covers Body and Timestamp.

    The signature must be by the key of the X.509 certificate in the referenced
    BinarySecurityToken, cover the envelope's one soap:Body and the one wsu:Timestamp of the one
    wsse:Security header (other references may add header blocks or the token), and the
    Timestamp must have been created within `max_skew_seconds` of `now` (either side) and not
    have expired. Parse the envelope with `parse_xml` first. Whether the certificate is a
    member's is the caller's question.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    soap_ns = _soap_namespace(envelope)
    if soap_ns is None or envelope.getparent() is not None:
        raise InvalidSoapSignature("not a SOAP 1.1 or 1.2 envelope")
    header, body = _envelope_parts(envelope, soap_ns)
    if header is None:
        raise MissingSecurityHeader("the message has no soap:Header and so no wsse:Security header")
    security, timestamp, signature = _security_parts(header, envelope)
    ids = _unique_wsu_ids(envelope)
    signed_info, method, prefixes, references, value, key_info = _signature_parts(signature)
    token_id, certificate = _token_certificate(key_info, security, ids)
    # Only ids that are some element's wsu:Id (others are refused below): each matches at least once.
    signed = {token_id, *(reference.target_id for reference in references)}
    _refuse_reused_ids(envelope, {item for item in signed if item in ids})

    # What each reference may point at, found by structure; a reference to anything else fails.
    # The Body and the Timestamp must be among them; the token and other header blocks may be.
    allowed = [body, timestamp, ids[token_id], *(block for block in elements(header) if block is not security)]
    covered = [ids.get(reference.target_id) for reference in references]
    if any(element is None or not any(element is candidate for candidate in allowed) for element in covered):
        raise InvalidSoapSignature("a reference points at an element that may not be signed this way")
    if len({reference.target_id for reference in references}) != len(references):
        raise InvalidSoapSignature("an element is referenced twice")
    if not any(element is body for element in covered) or not any(element is timestamp for element in covered):
        raise InvalidSoapSignature("the signature must cover the soap:Body and the wsu:Timestamp")

    _verify_value(certificate, method, value, canonical(signed_info, prefixes))
    for reference in references:
        actual = hashlib.sha256(canonical(ids[reference.target_id], reference.prefixes)).digest()
        if not hmac.compare_digest(actual, reference.digest):
            raise InvalidSoapSignature("a signed part of the message was changed after signing")

    created, expires = _check_timestamp(timestamp, now.astimezone(UTC), timedelta(seconds=max_skew_seconds))
    return VerifiedSoapSignature(
        certificate=certificate,
        signed_ids=tuple(reference.target_id for reference in references),
        created=created,
        expires=expires,
        signature_value=_replay_stable(method, value),
        body=body,
    )
