"""XML-DSig plumbing shared by the WS-Security and signed-XML examiners: algorithms, C14N, base64, signature values.

Only mechanics live here. What a refusal is called, and which error or sub-indication it raises,
is each examiner's own: helpers raise ValueError (or cryptography's InvalidSignature) for them to map.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from trust._errors import UnsupportedKey
from trust._jwk import ecdsa_der, ecdsa_raw

__all__: list[str] = []

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"

# Names for the digest and signature algorithms we expect to refuse, so a message can say what was
# refused without echoing input.
REFUSED_ALGORITHMS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "SHA-1",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "RSA-SHA1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1": "DSA-SHA1",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1": "HMAC-SHA1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": "ECDSA-SHA1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": "HMAC-SHA256",
    "http://www.w3.org/2001/04/xmldsig-more#md5": "MD5",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-md5": "RSA-MD5",
}
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def elements(parent: Any) -> list[Any]:
    """Element children only: comments and processing instructions are not part of the structure."""
    return [child for child in parent if isinstance(child.tag, str)]


def leaf_text(element: Any) -> str:
    """The text of a leaf element, comments not splitting it; ValueError if it has child elements."""
    if elements(element):
        raise ValueError("not a leaf element")
    return str(element.xpath("string()"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def base64_text(text: str) -> bytes:
    """base64Binary content, whitespace ignored; ValueError (binascii.Error) for anything else."""
    return base64.b64decode("".join(text.split()), validate=True)


def canonical(element: Any, prefixes: tuple[str, ...] = ()) -> bytes:
    """Exclusive C14N 1.0 without comments of the subtree at `element`; raises etree.C14NError."""
    return bytes(
        etree.tostring(
            element, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=list(prefixes) or None
        )
    )


def inclusive_prefixes(method: Any) -> tuple[str, ...]:
    """The InclusiveNamespaces PrefixList of an exclusive-C14N method or transform; ValueError if malformed."""
    children = elements(method)
    if not children:
        return ()
    # WSS4J and CXF name the prefixes of QNames in content this way; nothing else may appear.
    if len(children) > 1 or children[0].tag != f"{{{EXC_C14N}}}InclusiveNamespaces":
        raise ValueError("malformed exclusive C14N parameters")
    prefixes = tuple(children[0].get("PrefixList", "").split())
    if not all(prefix == "#default" or NCNAME.fullmatch(prefix) for prefix in prefixes):
        raise ValueError("malformed exclusive C14N parameters")
    return prefixes


def signature_method_for(key: Any, *, other_key: str, other_curve: str | None = None) -> str:
    """The signature method a key signs or verifies with; UnsupportedKey (`other_key`, `other_curve`) otherwise."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise UnsupportedKey(f"RSA keys need at least 2048 bits, this one has {key.key_size}")
        return RSA_SHA256
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ECDSA_SHA256
        raise UnsupportedKey(other_curve or other_key)
    raise UnsupportedKey(other_key)


def sign_value(private_key: SigningKey, signed_bytes: bytes) -> bytes:
    """RSA-SHA256 (PKCS#1 v1.5), or ECDSA-SHA256 as the fixed-length r || s XML-DSig 1.1 wants, not DER."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(signed_bytes, padding.PKCS1v15(), hashes.SHA256())
    return ecdsa_raw(private_key.sign(signed_bytes, ec.ECDSA(hashes.SHA256())))


def verify_value(public_key: Any, value: bytes, signed_bytes: bytes) -> None:
    """Raises cryptography's InvalidSignature unless `value` is the key's RSA-SHA256 or ECDSA-SHA256 (r || s)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(value, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and len(value) == 64:
        public_key.verify(ecdsa_der(value), signed_bytes, ec.ECDSA(hashes.SHA256()))
    else:
        raise InvalidSignature("not a signature value of this key")
