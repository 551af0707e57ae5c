"""Zhongshan's cloud signature service (云签名服务, YqmService) on the wire: its two operations' parameters and
the records they answer, read and written outside the field map (binary values and certificate lists, which
the map's layouts do not carry, as the expert pool's PBZJ records are read by hand too).

    QueryQmzs  <SFZH>id number</SFZH>                                 查询签名证书 (the resident's certificate)
      answers  <QMZS><SFZH>..</SFZH><ZSNR>base64 DER</ZSNR><ZSL><ZS>base64 DER</ZS>..</ZSL></QMZS>
    QmZy       <SFZH>..</SFZH><ZYZ>base64 of SM3(Z || data)</ZYZ><QMSF>1.2.156.10197.1.501</QMSF>   签名摘要
      answers  <QMJG><SFZH>..</SFZH><QMSF>..</QMSF><QMZ>base64 DER SM2Signature</QMZ><ZSNR>..</ZSNR><ZSL>..</ZSL></QMJG>

ZSL (证书链) holds the issuing CA upwards. A resident the service does not know is an empty response element
(as every Zhongshan query answers "not found"). Reading raises ValueError naming the element at fault (the
client makes it MalformedPartnerData).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from lxml import etree

from adapters.cloud_signing import CloudSignature
from trust import SM2_WITH_SM3_OID

__all__ = [
    "ALGORITHM_PARAMETER",
    "CERTIFICATE_ELEMENT",
    "DIGEST_PARAMETER",
    "ID_PARAMETER",
    "SIGNATURE_ALGORITHM",
    "SIGNATURE_ELEMENT",
    "certificate_from_partner",
    "certificate_to_partner",
    "signature_from_partner",
    "signature_to_partner",
]

ID_PARAMETER: Final = "SFZH"  # 身份证号: whom the service signs for
DIGEST_PARAMETER: Final = "ZYZ"  # 摘要值: base64 of e = SM3(Z || data), 32 bytes
ALGORITHM_PARAMETER: Final = "QMSF"  # 签名算法, by its OID
SIGNATURE_ALGORITHM: Final = SM2_WITH_SM3_OID  # SM2 signature with SM3 (GB/T 33560), the only one offered
CERTIFICATE_ELEMENT: Final = "QMZS"  # 签名证书
SIGNATURE_ELEMENT: Final = "QMJG"  # 签名结果
_CHAIN: Final = "ZSL"  # 证书链
_CHAIN_ITEM: Final = "ZS"
_CERTIFICATE: Final = "ZSNR"  # 证书内容
_SIGNATURE: Final = "QMZ"  # 签名值


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _add(parent: Any, name: str, text: str) -> Any:
    child = etree.SubElement(parent, name)
    child.text = text
    return child


def _add_certificates(element: Any, certificate: bytes, chain: tuple[bytes, ...]) -> None:
    _add(element, _CERTIFICATE, _b64(certificate))
    listed = etree.SubElement(element, _CHAIN)
    for item in chain:
        _add(listed, _CHAIN_ITEM, _b64(item))


def certificate_to_partner(id_number: str, certificate: bytes, chain: tuple[bytes, ...]) -> Any:
    """The resident's certificate and its chain as Zhongshan's QMZS element."""
    element = etree.Element(CERTIFICATE_ELEMENT)
    _add(element, ID_PARAMETER, id_number)
    _add_certificates(element, certificate, chain)
    return element


def signature_to_partner(id_number: str, signed: CloudSignature) -> Any:
    """A signature the service made as Zhongshan's QMJG element."""
    element = etree.Element(SIGNATURE_ELEMENT)
    _add(element, ID_PARAMETER, id_number)
    _add(element, ALGORITHM_PARAMETER, SIGNATURE_ALGORITHM)
    _add(element, _SIGNATURE, _b64(signed.signature))
    _add_certificates(element, signed.certificate, signed.chain)
    return element


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _fields(element: Any, expected: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not etree.iselement(element) or not isinstance(element.tag, str) or _local(element) != expected:
        raise ValueError(f"{expected}: expected the element {expected}")
    found: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _local(child)
        if name not in allowed:
            raise ValueError(f"{expected}/{name}: not a field of {expected}")
        if name in found:
            raise ValueError(f"{expected}/{name}: appears more than once")
        found[name] = child
    return found


def _text(element: Any, where: str) -> str:
    if element is None:
        raise ValueError(f"{where}: missing")
    if len(element):
        raise ValueError(f"{where}: holds elements where a value belongs")
    text = (element.text or "").strip()
    if not text:
        raise ValueError(f"{where}: empty")
    return text


def _binary(element: Any, where: str) -> bytes:
    try:
        return base64.b64decode(_text(element, where), validate=True)
    except binascii.Error:
        raise ValueError(f"{where}: expected base64") from None


def _certificates(fields: dict[str, Any], where: str) -> tuple[bytes, tuple[bytes, ...]]:
    certificate = _binary(fields.get(_CERTIFICATE), f"{where}/{_CERTIFICATE}")
    listed = fields.get(_CHAIN)
    if listed is None:
        raise ValueError(f"{where}/{_CHAIN}: missing")
    items = [child for child in listed if isinstance(child.tag, str)]
    chain = []
    for index, item in enumerate(items, start=1):
        at = f"{where}/{_CHAIN}/{_CHAIN_ITEM}[{index}]"
        if _local(item) != _CHAIN_ITEM:
            raise ValueError(f"{at}: expected only {_CHAIN_ITEM} elements, found {_local(item)}")
        chain.append(_binary(item, at))
    return certificate, tuple(chain)


def _same_resident(fields: dict[str, Any], where: str, id_number: str) -> None:
    answered = _text(fields.get(ID_PARAMETER), f"{where}/{ID_PARAMETER}")
    if answered != id_number:
        raise ValueError(f"{where}/{ID_PARAMETER}: answered for {answered}, not for {id_number}")


def certificate_from_partner(element: Any, id_number: str) -> tuple[bytes, tuple[bytes, ...]]:
    """The certificate (DER) and chain from a QMZS element about `id_number`; ValueError naming the element."""
    fields = _fields(element, CERTIFICATE_ELEMENT, (ID_PARAMETER, _CERTIFICATE, _CHAIN))
    _same_resident(fields, CERTIFICATE_ELEMENT, id_number)
    return _certificates(fields, CERTIFICATE_ELEMENT)


def signature_from_partner(element: Any, id_number: str) -> CloudSignature:
    """The signature from a QMJG element about `id_number`; ValueError naming the element at fault."""
    where = SIGNATURE_ELEMENT
    fields = _fields(element, where, (ID_PARAMETER, ALGORITHM_PARAMETER, _SIGNATURE, _CERTIFICATE, _CHAIN))
    _same_resident(fields, where, id_number)
    algorithm = _text(fields.get(ALGORITHM_PARAMETER), f"{where}/{ALGORITHM_PARAMETER}")
    if algorithm != SIGNATURE_ALGORITHM:
        raise ValueError(f"{where}/{ALGORITHM_PARAMETER}: {algorithm!r} is not SM2 with SM3 ({SIGNATURE_ALGORITHM})")
    signature = _binary(fields.get(_SIGNATURE), f"{where}/{_SIGNATURE}")
    certificate, chain = _certificates(fields, where)
    return CloudSignature(signature, certificate, chain)
