"""Licences as signed XML: one enveloped XML-DSig signature over the whole document, its signer's certificate inside.

Two shapes are accepted. The plain one, which sign_xml writes without a signing time (as signxml,
xmlsec and Apache Santuario make an enveloped signature):

    <licence ...>
      ...the licence...
      <ds:Signature>                                       the root element's child, the only one anywhere
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="exc-c14n"/>
          <ds:SignatureMethod Algorithm="rsa-sha256 | ecdsa-sha256"/>
          <ds:Reference URI="">                            the whole document, no other reference
            <ds:Transforms> enveloped-signature, then exc-c14n </ds:Transforms>
            <ds:DigestMethod Algorithm="sha256"/> <ds:DigestValue/>
          </ds:Reference>
        </ds:SignedInfo>
        <ds:SignatureValue/>
        <ds:KeyInfo><ds:X509Data><ds:X509Certificate/>...</ds:X509Data></ds:KeyInfo>
      </ds:Signature>
    </licence>

Because the one reference is the whole document, nothing is resolved by id and there is nothing
to wrap: a second Signature, a reference to an id, an Object, an XPath or XSLT transform are all
refused before any digest is computed (but for the XAdES shape below). Documents are parsed with
trust._xml.parse_xml (no DTD, no entities, no network; comments dropped, which exclusive C14N
without comments ignores anyway).

With a signing time, XAdES-BES (ETSI EN 319 132-1; the core of what signxml's XAdESSigner and EU
DSS write, without their optional extras): the Signature has an Id, exactly one more reference and
one Object, nothing else:

      <ds:Signature Id="S">
        <ds:SignedInfo> ...the whole-document reference above, first, then
          <ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#P">
            <ds:Transforms> exc-c14n </ds:Transforms> <ds:DigestMethod sha256/> <ds:DigestValue/>
          </ds:Reference>
        </ds:SignedInfo>
        <ds:SignatureValue/> <ds:KeyInfo>...</ds:KeyInfo>
        <ds:Object>
          <xades:QualifyingProperties Target="#S">
            <xades:SignedProperties Id="P">
              <xades:SignedSignatureProperties>
                <xades:SigningTime>2026-12-01T08:00:00Z</xades:SigningTime>   an xsd:dateTime with a zone
                <xades:SigningCertificateV2>                                   optional; we always write it
                  <xades:Cert><xades:CertDigest> sha256 of the signer's certificate </xades:CertDigest></xades:Cert>
                </xades:SigningCertificateV2>
              </xades:SignedSignatureProperties>
            </xades:SignedProperties>
          </xades:QualifyingProperties>
        </ds:Object>
      </ds:Signature>

The one id-based reference is the opening for signature wrapping, so the SignedProperties digested
is found by walking this Signature's own children, never by looking the id up; the reference only
has to name it. Every id-like attribute (Id, ID, id in any namespace, as signxml and xmlsec look
them up) must be unique in the document, so no other verifier can resolve "#P" to a copy elsewhere.

Refusals, as SignatureFailure with fixed messages: FORMAT_FAILURE for anything not of these shapes
(a malformed or zone-less SigningTime included), CRYPTO_CONSTRAINTS_FAILURE for SHA-1 and every
other algorithm or key we do not accept, NO_SIGNING_CERTIFICATE_FOUND without an X509Certificate
or when SigningCertificateV2 names another certificate than the first X509Certificate (EN 319 102-1
5.2.3: the signing certificate cannot be identified), HASH_FAILURE when the document or the signed
properties changed after signing (digest mismatch), SIG_CRYPTO_FAILURE when the SignatureValue does
not verify with the first certificate's key. The certificate's trust is the validation engine's question.

`claimed_signing_time` is the SigningTime in UTC, or None for a plain XML-DSig signature (the
licence's own issue date, inside the signed content, is then all there is). It is what the signer
claims, signed, not proof that the signature existed then.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from lxml import etree

from trust._certificates import load_der_certificate, require_certificate_of, signer_public_key
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
from trust._errors import InvalidCertificate, UnsupportedKey
from trust._report import MAX_CARRIED_CERTIFICATES, SignatureEvidence, SignatureFailure, SubIndication
from trust._time import NotXsdDateTime, parse_xsd_datetime, utc_text
from trust._xml import XmlRejected, parse_xml

__all__ = ["XMLDSIG_FORMAT", "examine_xml", "sign_xml"]

XMLDSIG_FORMAT = "XML-DSig"

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_METHOD_NAMES = {RSA_SHA256: "RSA-SHA256", ECDSA_SHA256: "ECDSA-SHA256"}
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

# Only the digest and signature algorithms are named: another C14N or transform is a FORMAT_FAILURE here.
_KNOWN_REFUSED = REFUSED_ALGORITHMS
# The attributes signxml and xmlsec resolve "#id" references by, in any namespace (xml:id, wsu:Id too).
_ID_ATTRIBUTES = etree.XPath("//@*[local-name()='Id' or local-name()='ID' or local-name()='id']")


def _q(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def _xades(name: str) -> str:
    return f"{{{XADES_NS}}}{name}"


def _fail(sub_indication: SubIndication, message: str) -> SignatureFailure:
    return SignatureFailure(sub_indication, message)


def _method_for(key: Any) -> str:
    """The signature method a key signs or verifies with; UnsupportedKey for any other key."""
    return signature_method_for(
        key, other_key="XML licences are signed with RSA (2048 bits or more) or ECDSA P-256 keys"
    )


def _canonical(element: Any, prefixes: tuple[str, ...] = ()) -> bytes:
    """Exclusive C14N 1.0 without comments; FORMAT_FAILURE for what C14N cannot render (a relative namespace URI)."""
    try:
        return canonical(element, prefixes)
    except etree.C14NError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, "the document cannot be canonicalized") from exc


def _without(root: Any, signature: Any) -> Any:
    """A copy of the document with the signature removed as the enveloped-signature transform removes it.

    The transform removes the Signature element and its descendants, not the text after it, which
    lxml keeps as the element's tail: the tail is moved to what precedes the Signature.
    """
    position = list(root).index(signature)
    clone = copy.deepcopy(root)
    removed = clone[position]
    if removed.tail:
        previous = removed.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + removed.tail
        else:
            clone.text = (clone.text or "") + removed.tail
    clone.remove(removed)
    return clone


# ---- signing -------------------------------------------------------------------------------------------


def _id_values(root: Any) -> list[str]:
    return [str(value) for value in _ID_ATTRIBUTES(root)]


def _add_digest(parent: Any, digest: bytes) -> None:
    """A SHA-256 DigestMethod and its DigestValue, under `parent`."""
    etree.SubElement(parent, _q("DigestMethod"), {"Algorithm": SHA256})
    etree.SubElement(parent, _q("DigestValue")).text = b64(digest)


def _add_signed_properties(signature: Any, signature_id: str, signing_time: datetime, signer: bytes) -> Any:
    """Append the XAdES Object to `signature`; return its SignedProperties."""
    ds_object = etree.SubElement(signature, _q("Object"))
    qualifying = etree.SubElement(
        ds_object, _xades("QualifyingProperties"), {"Target": f"#{signature_id}"}, nsmap={"xades": XADES_NS}
    )
    properties = etree.SubElement(qualifying, _xades("SignedProperties"), {"Id": f"{signature_id}-signed-properties"})
    signature_properties = etree.SubElement(properties, _xades("SignedSignatureProperties"))
    etree.SubElement(signature_properties, _xades("SigningTime")).text = utc_text(signing_time)
    certificate = etree.SubElement(
        etree.SubElement(signature_properties, _xades("SigningCertificateV2")), _xades("Cert")
    )
    _add_digest(etree.SubElement(certificate, _xades("CertDigest")), hashlib.sha256(signer).digest())
    return properties


def sign_xml(
    document: bytes, private_key: SigningKey, certificate_chain: list[bytes], signing_time: datetime | None = None
) -> bytes:
    """Sign an XML document with one enveloped signature over the whole of it; return the signed UTF-8 bytes.

    `certificate_chain` is DER, the signer's certificate first; all go into X509Data. The signature
    is appended as the root element's last child. With `signing_time` (timezone-aware), the
    signature is XAdES-BES: it signs, besides the document, SignedProperties holding the time
    (written in UTC) and the SHA-256 digest of the signer's certificate (SigningCertificateV2).
    Raises XmlRejected for a document parse_xml refuses, ValueError for one already signed, a chain
    that is not the key's, a naive signing time or (with a signing time) ids that are not unique,
    UnsupportedKey for keys other than RSA (2048 bits or more) and ECDSA P-256.
    """
    method = _method_for(private_key)
    if not certificate_chain:
        raise ValueError("the certificate chain needs at least the signer's certificate")
    if signing_time is not None and signing_time.utcoffset() is None:
        raise ValueError("the signing time needs a time zone")
    require_certificate_of(certificate_chain[0], private_key)
    root = parse_xml(document)
    if root.xpath("count(//ds:Signature)", namespaces={"ds": DS_NS}):
        raise ValueError("the document is already signed")

    digest = hashlib.sha256(_canonical(root)).digest()
    # Derived from the content, so signing is deterministic; examine_xml refuses repeated ids.
    signature_id = f"signature-{digest.hex()[:16]}"
    if signing_time is not None:
        ids = _id_values(root)
        if len(set(ids)) != len(ids) or {signature_id, f"{signature_id}-signed-properties"} & set(ids):
            raise ValueError("a document signed with a signing time must have unique ids (Id, ID, id attributes)")
    signature = etree.SubElement(root, _q("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _q("SignedInfo"))
    etree.SubElement(signed_info, _q("CanonicalizationMethod"), {"Algorithm": EXC_C14N})
    etree.SubElement(signed_info, _q("SignatureMethod"), {"Algorithm": method})
    reference = etree.SubElement(signed_info, _q("Reference"), {"URI": ""})
    transforms = etree.SubElement(reference, _q("Transforms"))
    etree.SubElement(transforms, _q("Transform"), {"Algorithm": ENVELOPED})
    etree.SubElement(transforms, _q("Transform"), {"Algorithm": EXC_C14N})
    _add_digest(reference, digest)
    signature_value = etree.SubElement(signature, _q("SignatureValue"))
    x509_data = etree.SubElement(etree.SubElement(signature, _q("KeyInfo")), _q("X509Data"))
    for der in certificate_chain:
        etree.SubElement(x509_data, _q("X509Certificate")).text = b64(der)
    if signing_time is not None:
        signature.set("Id", signature_id)
        properties = _add_signed_properties(signature, signature_id, signing_time, certificate_chain[0])
        attributes = {"Type": SIGNED_PROPERTIES_TYPE, "URI": f"#{properties.get('Id')}"}
        properties_reference = etree.SubElement(signed_info, _q("Reference"), attributes)
        etree.SubElement(
            etree.SubElement(properties_reference, _q("Transforms")), _q("Transform"), {"Algorithm": EXC_C14N}
        )
        _add_digest(properties_reference, hashlib.sha256(_canonical(properties)).digest())
    signature_value.text = b64(sign_value(private_key, _canonical(signed_info)))
    return bytes(etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8"))


# ---- examination ---------------------------------------------------------------------------------------


def _text(element: Any) -> str:
    try:
        return leaf_text(element)
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, "the signature is malformed") from exc


def _base64(element: Any, what: str) -> bytes:
    text = _text(element)
    try:
        return base64_text(text)
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the {what} is not base64") from exc


def _refused(algorithm: str | None, what: str) -> SignatureFailure:
    name = _KNOWN_REFUSED.get(algorithm or "")
    message = f"{name} is not accepted as {what}" if name else f"the {what} is not accepted"
    return _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, message)


def _exclusive_c14n(method: Any, what: str) -> tuple[str, ...]:
    """Check an exclusive-C14N method or transform; return its InclusiveNamespaces PrefixList."""
    algorithm = method.get("Algorithm")
    if algorithm != EXC_C14N:
        if algorithm in _KNOWN_REFUSED:
            raise _refused(algorithm, what)
        raise _fail(SubIndication.FORMAT_FAILURE, f"the {what} must be exclusive C14N without comments")
    try:
        return inclusive_prefixes(method)
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the {what} is malformed") from exc


def _signature_element(root: Any) -> Any:
    count = int(root.xpath("count(//ds:Signature)", namespaces={"ds": DS_NS}))
    if count == 0:
        raise _fail(SubIndication.FORMAT_FAILURE, "the document holds no XML signature")
    if count > 1:
        raise _fail(SubIndication.FORMAT_FAILURE, "the document must hold exactly one XML signature")
    if root.tag == _q("Signature"):
        raise _fail(SubIndication.FORMAT_FAILURE, "an enveloping or detached signature is not accepted")
    signatures = [child for child in elements(root) if child.tag == _q("Signature")]
    if not signatures:
        raise _fail(SubIndication.FORMAT_FAILURE, "the signature must be a child of the document's root element")
    return signatures[0]


def _reference(reference: Any) -> tuple[tuple[str, ...], bytes]:
    """(C14N prefixes, digest) of the one Reference, which must be the whole document, enveloped."""
    if reference.get("URI") != "" or reference.get("Type") is not None:
        raise _fail(SubIndication.FORMAT_FAILURE, 'the reference must be the whole document (URI "")')
    parts = elements(reference)
    if [part.tag for part in parts] != [_q("Transforms"), _q("DigestMethod"), _q("DigestValue")]:
        raise _fail(SubIndication.FORMAT_FAILURE, "the reference must hold Transforms, DigestMethod and DigestValue")
    transforms = elements(parts[0])
    if (
        len(transforms) != 2
        or any(transform.tag != _q("Transform") for transform in transforms)
        or transforms[0].get("Algorithm") != ENVELOPED
        or elements(transforms[0])
    ):
        raise _fail(SubIndication.FORMAT_FAILURE, "the transforms must be enveloped-signature, then exclusive C14N")
    prefixes = _exclusive_c14n(transforms[1], "reference transform")
    return prefixes, _digest(parts[1], parts[2])


def _digest(method: Any, value: Any) -> bytes:
    """The SHA-256 digest in a DigestMethod and DigestValue pair."""
    algorithm = method.get("Algorithm")
    if algorithm != SHA256 or elements(method):
        raise _refused(algorithm, "digest method")
    digest = _base64(value, "digest value")
    if len(digest) != 32:
        raise _fail(SubIndication.FORMAT_FAILURE, "the digest value has the wrong length")
    return digest


def _certificates(key_info: Any | None) -> list[bytes]:
    if key_info is None:
        raise _fail(SubIndication.NO_SIGNING_CERTIFICATE_FOUND, "the signature carries no KeyInfo")
    data = elements(key_info)
    if len(data) != 1 or data[0].tag != _q("X509Data"):
        raise _fail(SubIndication.FORMAT_FAILURE, "KeyInfo must hold exactly one X509Data")
    items = elements(data[0])
    if any(item.tag != _q("X509Certificate") for item in items):
        raise _fail(SubIndication.FORMAT_FAILURE, "X509Data may hold only X509Certificate elements")
    if not items:
        raise _fail(SubIndication.NO_SIGNING_CERTIFICATE_FOUND, "X509Data holds no certificate")
    if len(items) > MAX_CARRIED_CERTIFICATES:
        raise _fail(SubIndication.FORMAT_FAILURE, f"X509Data holds more than {MAX_CARRIED_CERTIFICATES} certificates")
    certificates = []
    for item in items:
        der = _base64(item, "X509Certificate")
        try:
            load_der_certificate(der)
        except InvalidCertificate as exc:
            raise _fail(SubIndication.FORMAT_FAILURE, "an X509Certificate is not a DER certificate") from exc
        certificates.append(der)
    return certificates


def _verify_value(certificate: x509.Certificate, method: str, value: bytes, signed: bytes) -> None:
    public_key = signer_public_key(certificate)
    try:
        expected = _method_for(public_key)
    except UnsupportedKey as exc:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, str(exc)) from exc
    if expected != method:
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the signature method does not fit the signer's key")
    try:
        verify_value(public_key, value, signed)
    except _CryptographyInvalidSignature as exc:
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE, "the signature value does not verify") from exc


# ---- examination: XAdES signed properties ----------------------------------------------------------------


@dataclass(frozen=True)
class _SignedProperties:
    element: Any  # this Signature's own xades:SignedProperties, found by structure
    prefixes: tuple[str, ...]  # of the reference's exclusive C14N transform
    digest: bytes  # what the reference says its digest is
    signing_time: datetime
    certificate_digest: bytes | None  # SHA-256 of the signer's certificate, from SigningCertificateV2


def _only_child(parent: Any, tag: str, message: str) -> Any:
    """The one child element of `parent`, which must be a `tag` with no text beside it; FORMAT_FAILURE otherwise."""
    children = elements(parent)
    if len(children) != 1 or children[0].tag != tag or (parent.text or "").strip() or (children[0].tail or "").strip():
        raise _fail(SubIndication.FORMAT_FAILURE, message)
    return children[0]


def _signing_time(element: Any) -> datetime:
    # xsd:dateTime collapses whitespace; a time zone is required, since a zone-less time is no instant.
    try:
        return parse_xsd_datetime(_text(element).strip(" \t\r\n"))
    except NotXsdDateTime as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, "the SigningTime is not an xsd:dateTime with a time zone") from exc
    except ValueError as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, "the SigningTime is not a possible time") from exc


def _certificate_digest(signing_certificate: Any) -> bytes:
    cert = _only_child(signing_certificate, _xades("Cert"), "SigningCertificateV2 must hold one Cert, the signer's")
    cert_digest = _only_child(cert, _xades("CertDigest"), "the signing certificate's Cert must hold only CertDigest")
    parts = elements(cert_digest)
    if [part.tag for part in parts] != [_q("DigestMethod"), _q("DigestValue")]:
        raise _fail(SubIndication.FORMAT_FAILURE, "CertDigest must hold DigestMethod and DigestValue")
    return _digest(parts[0], parts[1])


def _properties_reference(reference: Any, properties_id: str) -> tuple[tuple[str, ...], bytes]:
    """(C14N prefixes, digest) of the second Reference, which must name this signature's SignedProperties."""
    if reference.get("Type") != SIGNED_PROPERTIES_TYPE or reference.get("URI") != f"#{properties_id}":
        raise _fail(SubIndication.FORMAT_FAILURE, "the second reference must be this signature's own SignedProperties")
    parts = elements(reference)
    if [part.tag for part in parts] != [_q("Transforms"), _q("DigestMethod"), _q("DigestValue")]:
        raise _fail(SubIndication.FORMAT_FAILURE, "the reference must hold Transforms, DigestMethod and DigestValue")
    transforms = elements(parts[0])
    if len(transforms) != 1 or transforms[0].tag != _q("Transform"):
        raise _fail(SubIndication.FORMAT_FAILURE, "the signed properties' only transform must be exclusive C14N")
    return _exclusive_c14n(transforms[0], "reference transform"), _digest(parts[1], parts[2])


def _signed_properties(root: Any, signature: Any, ds_object: Any, reference: Any) -> _SignedProperties:
    """The XAdES properties in the Signature's own Object, and the Reference that must name them."""
    signature_id = signature.get("Id")
    if not signature_id or not NCNAME.fullmatch(signature_id):
        raise _fail(SubIndication.FORMAT_FAILURE, "a signature with signed properties needs an Id")
    # Another element with the SignedProperties' id (a wrapped copy, say) would be what another
    # verifier digests; with every id unique, the one we walk to is the one "#id" names anywhere.
    if any(count > 1 for count in Counter(_id_values(root)).values()):
        raise _fail(SubIndication.FORMAT_FAILURE, "ids (Id, ID, id attributes) must be unique in the document")
    qualifying = _only_child(
        ds_object, _xades("QualifyingProperties"), "the Object must hold only XAdES QualifyingProperties"
    )
    if qualifying.get("Target") != f"#{signature_id}":
        raise _fail(SubIndication.FORMAT_FAILURE, "the QualifyingProperties must target this signature")
    properties = _only_child(
        qualifying, _xades("SignedProperties"), "QualifyingProperties must hold SignedProperties only"
    )
    properties_id = properties.get("Id")
    if not properties_id or not NCNAME.fullmatch(properties_id):
        raise _fail(SubIndication.FORMAT_FAILURE, "the SignedProperties need an Id")
    prefixes, digest = _properties_reference(reference, properties_id)
    signature_properties = _only_child(
        properties, _xades("SignedSignatureProperties"), "SignedProperties must hold SignedSignatureProperties only"
    )
    items = elements(signature_properties)
    if [item.tag for item in items] not in (
        [_xades("SigningTime")],
        [_xades("SigningTime"), _xades("SigningCertificateV2")],
    ):
        raise _fail(
            SubIndication.FORMAT_FAILURE,
            "SignedSignatureProperties must hold SigningTime, then at most SigningCertificateV2",
        )
    certificate_digest = _certificate_digest(items[1]) if len(items) == 2 else None
    return _SignedProperties(properties, prefixes, digest, _signing_time(items[0]), certificate_digest)


def examine_xml(document: bytes) -> SignatureEvidence:
    """Check a signed XML licence's form, digests and signature; raise SignatureFailure unless all hold.

    `signed_content` is the whole document as given: read the licence from it with parse_xml
    (which drops comments, as the digest did) and take its root element, never search for a
    second copy. The signer is the first X509Certificate; the others are `certificates`.
    `claimed_signing_time` is the XAdES SigningTime (UTC), None without one; details["xades"]
    says which shape it was.
    """
    try:
        root = parse_xml(document)
    except XmlRejected as exc:
        raise _fail(SubIndication.FORMAT_FAILURE, f"the document is not acceptable XML: {exc.reason}") from exc
    signature = _signature_element(root)
    parts = elements(signature)
    xades = bool(parts) and parts[-1].tag == _q("Object")
    core = parts[:-1] if xades else parts
    if [part.tag for part in core] not in (
        [_q("SignedInfo"), _q("SignatureValue"), _q("KeyInfo")],
        [_q("SignedInfo"), _q("SignatureValue")],
    ):
        raise _fail(
            SubIndication.FORMAT_FAILURE,
            "the signature must hold SignedInfo, SignatureValue, KeyInfo and at most one XAdES Object only",
        )
    signed_info, signature_value = core[0], core[1]
    info = elements(signed_info)
    references = [_q("Reference"), _q("Reference")] if xades else [_q("Reference")]
    if [item.tag for item in info] != [_q("CanonicalizationMethod"), _q("SignatureMethod"), *references]:
        raise _fail(
            SubIndication.FORMAT_FAILURE,
            "SignedInfo must hold one method of each kind and one Reference (two with XAdES signed properties)",
        )
    info_prefixes = _exclusive_c14n(info[0], "canonicalization method")
    method = info[1].get("Algorithm")
    if method not in _METHOD_NAMES or elements(info[1]):
        raise _refused(method, "signature method")
    reference_prefixes, digest = _reference(info[2])
    properties = _signed_properties(root, signature, parts[-1], info[3]) if xades else None
    value = _base64(signature_value, "signature value")
    certificates = _certificates(core[2] if len(core) == 3 else None)

    actual = hashlib.sha256(_canonical(_without(root, signature), reference_prefixes)).digest()
    if not hmac.compare_digest(actual, digest):
        raise _fail(SubIndication.HASH_FAILURE, "the document was changed after it was signed")
    if properties is not None:
        actual = hashlib.sha256(_canonical(properties.element, properties.prefixes)).digest()
        if not hmac.compare_digest(actual, properties.digest):
            raise _fail(SubIndication.HASH_FAILURE, "the signed properties were changed after signing")
    signer = load_der_certificate(certificates[0])  # parsed once already, in _certificates
    _verify_value(signer, str(method), value, _canonical(signed_info, info_prefixes))
    # Checked once the signature holds, so that an altered property is a HASH_FAILURE: the signer
    # bound another certificate than the one KeyInfo offers (one re-issued for the same key, say).
    bound = properties.certificate_digest if properties is not None else None
    if bound is not None and not hmac.compare_digest(hashlib.sha256(certificates[0]).digest(), bound):
        raise _fail(
            SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
            "the first X509Certificate is not the signing certificate the signed properties name",
        )
    return SignatureEvidence(
        format=XMLDSIG_FORMAT,
        signature_algorithm=_METHOD_NAMES[str(method)],
        signer_certificate=certificates[0],
        certificates=tuple(certificates[1:]),
        claimed_signing_time=properties.signing_time if properties is not None else None,
        signed_content=document,
        content_type="application/xml",
        details={
            "root_element": str(root.tag),
            "xades": properties is not None,
            "signing_certificate_bound": bound is not None,
        },
    )
