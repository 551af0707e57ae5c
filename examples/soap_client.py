"""Call the Tongban gateway's SOAP face with zeep and WS-Security, and print the answer as JSON.

A member system's side in one file, to run or to copy: it needs zeep, xmlsec and cryptography
(`pip install "zeep[xmlsec]" cryptography`), nothing from Tongban itself. The member's certificate
(RSA or P-256) must be registered with the gateway first (`tongban members add`); the gateway
finds the caller by that certificate's key. With the gateway of `make run`:

    python examples/soap_client.py --key var/demo/soap/key.pem --cert var/demo/soap/cert.pem
    python examples/soap_client.py --key ... --cert ... ListServices allowed=true
    python examples/soap_client.py --key ... --cert ... GetAuditCheckpoint --soap12

The operations are the WSDL's (GET /soap?wsdl): ListMembers, ListServices, GetAuditCheckpoint,
GetAuditEntry, GetLicence, VerifyLicence, VerifySeal; NAME=VALUE pairs are their parameters.

What zeep does not do by itself and the gateway requires, all in one `Compose` (zeep takes a
single wsse object, not a list: a list signs the request but fails when the answer is checked):
1. a wsu:Timestamp in the Security header, signed with the Body: zeep adds none (`Timestamp`);
2. RSA-SHA256 or ECDSA-SHA256 with SHA-256 digests: zeep defaults to SHA-1, which is refused;
3. answers checked with the gateway's certificate: BinarySignature.verify would use the caller's
   own (`SignRequests` leaves that out, `GatewaySigned` does it). The certificate is the `x5c` of
   the gateway's /.well-known/jwks.json, or, better outside a demo, pinned with --gateway-cert.

Exit 0 with the answer on stdout; exit 1 with one line on stderr for a SOAP fault (its dotted
code, e.g. `auth.unknown_issuer`, and the exchange id), an answer whose signature fails or no
gateway answering; exit 2 for a mistake on the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault, SignatureVerificationFailed
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.compose import Compose
from zeep.wsse.signature import BinarySignature, MemorySignature
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

TONGBAN_NS = "urn:tongban:gateway:v1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"


class Timestamp:
    """wsu:Timestamp in the Security header; BinarySignature, applied after it, signs it with the Body."""

    def __init__(self, lifetime: int = 300) -> None:
        self.lifetime = lifetime

    def apply(self, envelope: Any, headers: Any) -> Any:
        created = datetime.now(UTC)
        get_security_header(envelope).append(
            WSU.Timestamp(
                WSU.Created(get_timestamp(created, zulu_timestamp=True)),
                WSU.Expires(get_timestamp(created + timedelta(seconds=self.lifetime), zulu_timestamp=True)),
            )
        )
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        return envelope


class SignRequests(BinarySignature):
    """zeep's BinarySignature (X.509 BinarySecurityToken), signing requests only."""

    def verify(self, envelope: Any) -> Any:
        return envelope


class GatewaySigned(MemorySignature):
    """Checks every answer, faults included, against the gateway's certificate; signs nothing."""

    def __init__(self, certificate_pem: bytes) -> None:
        super().__init__(key_data=None, cert_data=certificate_pem)

    def apply(self, envelope: Any, headers: Any) -> Any:
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        # zeep checks the references wherever their wsu:Id points: make sure the Body read is signed.
        body = envelope.find(f"{{{etree.QName(envelope).namespace}}}Body")
        body_id = None if body is None else body.get(f"{{{WSU_NS}}}Id")
        signed = {ref.get("URI") for ref in envelope.iterfind(f".//{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")}
        if body_id is None or f"#{body_id}" not in signed or envelope.xpath("count(//@*[. = $id])", id=body_id) != 1:
            raise SignatureVerificationFailed()
        return super().verify(envelope)


def gateway_certificate(session: requests.Session, gateway_url: str) -> bytes:
    """The gateway's WS-Security certificate (PEM): the `x5c` in its JWKS."""
    response = session.get(f"{gateway_url}/.well-known/jwks.json", timeout=10)
    response.raise_for_status()
    der = next(key["x5c"][0] for key in response.json()["keys"] if "x5c" in key)
    lines = "\n".join(textwrap.wrap(der, 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n".encode("ascii")


def signature_method(certificate_pem: bytes) -> Any:
    """RSA-SHA256 or ECDSA-SHA256, after the member's key (zeep's default is RSA-SHA1)."""
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return xmlsec.Transform.RSA_SHA256  # type: ignore[attr-defined]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return xmlsec.Transform.ECDSA_SHA256  # type: ignore[attr-defined]
    raise SystemExit("soap_client: WS-Security takes an RSA or P-256 certificate (Ed25519 is REST-only)")


def soap_client(gateway_url: str, key_file: str, cert_file: str, gateway_cert_file: str | None) -> Any:
    """A zeep client for the gateway's WSDL whose requests are signed and whose answers are checked."""
    session = requests.Session()
    with open(cert_file, "rb") as file:
        member_certificate = file.read()
    if gateway_cert_file:
        with open(gateway_cert_file, "rb") as file:
            gateway_pem = file.read()
    else:
        gateway_pem = gateway_certificate(session, gateway_url)
    wsse = Compose(
        [
            Timestamp(),  # first, so that the signature covers it
            SignRequests(
                key_file,
                cert_file,
                signature_method=signature_method(member_certificate),
                digest_method=xmlsec.Transform.SHA256,  # type: ignore[attr-defined]
            ),
            GatewaySigned(gateway_pem),
        ]
    )
    settings = Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return Client(f"{gateway_url}/soap?wsdl", wsse=wsse, transport=Transport(session=session), settings=settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--gateway", default="http://127.0.0.1:8080", metavar="URL", help="the gateway's URL (default: %(default)s)"
    )
    parser.add_argument("--key", required=True, metavar="PEM", help="the member's private key")
    parser.add_argument("--cert", required=True, metavar="PEM", help="the member's registered certificate")
    parser.add_argument("--gateway-cert", metavar="PEM", help="pin the gateway's SOAP certificate (default: JWKS x5c)")
    parser.add_argument("--soap12", action="store_true", help="SOAP 1.2 instead of 1.1")
    parser.add_argument("operation", nargs="?", default="ListMembers", help="a WSDL operation (default: %(default)s)")
    parser.add_argument("parameters", nargs="*", metavar="NAME=VALUE", help="the operation's parameters")
    args = parser.parse_args(argv)
    parameters = dict(parameter.split("=", 1) for parameter in args.parameters if "=" in parameter)
    if len(parameters) != len(args.parameters):
        parser.error("parameters are NAME=VALUE")

    gateway_url = args.gateway.rstrip("/")
    try:
        client = soap_client(gateway_url, args.key, args.cert, args.gateway_cert)
        service = client.bind("Tongban", "TongbanSoap12" if args.soap12 else "TongbanSoap11")
        operation = getattr(service, args.operation, None)
        if operation is None:
            print(f"soap_client: no operation {args.operation!r}; see {gateway_url}/soap?wsdl", file=sys.stderr)
            return 2
        answer = operation(**parameters)
    except requests.RequestException as exc:
        print(f"soap_client: no answer from the gateway at {gateway_url} ({exc.__class__.__name__})", file=sys.stderr)
        return 1
    except Fault as fault:  # the gateway's faults carry its dotted code and the exchange id
        detail = fault.detail.find(f"{{{TONGBAN_NS}}}Fault") if fault.detail is not None else None
        exchange = detail.findtext(f"{{{TONGBAN_NS}}}exchangeId") if detail is not None else None
        print(f"soap_client: {fault.message} (exchange {exchange})", file=sys.stderr)
        return 1
    except SignatureVerificationFailed:
        print("soap_client: the answer's signature does not verify with the gateway's certificate", file=sys.stderr)
        return 1
    answer = serialize_object(answer, dict)  # an operation with one answer element gives just its value
    print(answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
