"""The sandbox's trust material and sample documents.

Made under var/sandbox by `tongban run`, `tongban sandbox` and the tests, from the seeded data:

    pki/                      the demo PKI (trust._pki): CAs, issuers, seal platforms, consent services,
                              enterprise SM2 signers, CRLs and each city's signed trust list
    pki/<city>/status/        each city's Bitstring Status List of its licences (revocation)
    samples/<city>/*.{jws,xml,pdf,ofd,ses}
                              licences in the formats that city issues, and e-sealed documents:
                              good ones and deliberately bad ones (tampered, untrusted issuer,
                              withdrawn issuer, revoked or expired certificate, cancelled at the
                              registry, seal revoked at its platform)
    samples/index.json        each sample with what a verifier must answer (indication, sub-indication)

Each city's sandbox serves its public part (`PkiPublication`): /pki/trust-list.jws, /pki/crl/*.crl
and /pki/status/*.jws, exactly where the certificates, credentials and settings say.
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import catalogs
import trust
from adapters.licence_formats import XmlLicenceFormat, licence_formats
from catalogs.seed import CitySeed, SeedData
from gateway.canonical import Licence, Seal
from gateway.settings import SANDBOX_TRUST_LIST_PATH

__all__ = [
    "LICENCE_CASES",
    "PkiPublication",
    "Sample",
    "SandboxMaterial",
    "consent_token",
    "holder_city",
    "load_sandbox_pki",
    "licence_document",
    "prepare_sandbox",
]

STATUS_LIST_NAME: Final = "licences.jws"
STATUS_LIST_LIFETIME: Final = timedelta(days=1)
VC_CONTEXT: Final = ["https://www.w3.org/ns/credentials/v2"]
# GB/T 38540 seal types (印章类型) for the canonical ones
SES_SEAL_TYPES: Final = {
    "official": 1,
    "finance": 2,
    "invoice": 3,
    "contract": 4,
    "legal_representative": 5,
    "business": 99,
}
SEAL_PICTURE: Final = trust.SealPicture(
    "png",
    base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    ),
    40,
    40,
)


@dataclass(frozen=True)
class LicenceCase:
    """A way a licence document can be good or bad, and what a verifier must answer."""

    name: str
    signer: str  # demo PKI role, "{alg}" filled in per format
    indication: str
    sub_indication: str | None
    description: str
    when: str = "now"  # or "before-withdrawal"
    tamper: bool = False
    licence_status: str = "valid"  # the registry's status of the licence it carries


LICENCE_CASES: Final[tuple[LicenceCase, ...]] = (
    LicenceCase("valid", "licence-issuer-{alg}", "TOTAL_PASSED", None, "signed by the city's licence issuer"),
    LicenceCase(
        "tampered", "licence-issuer-{alg}", "TOTAL_FAILED", "HASH_FAILURE", "changed after signing", tamper=True
    ),
    LicenceCase(
        "untrusted-issuer",
        "licence-issuer-unlisted-{alg}",
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "signed under a CA that no trust list names",
    ),
    LicenceCase(
        "withdrawn-issuer-before",
        "licence-issuer-withdrawn-{alg}",
        "TOTAL_PASSED",
        None,
        "signed before the issuer's trust service was withdrawn",
        when="before-withdrawal",
    ),
    LicenceCase(
        "withdrawn-issuer-after",
        "licence-issuer-withdrawn-{alg}",
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "signed after the issuer's trust service was withdrawn",
    ),
    LicenceCase(
        "revoked-certificate",
        "licence-issuer-revoked-{alg}",
        "TOTAL_FAILED",
        "REVOKED",
        "signed with a certificate revoked before the signing time",
    ),
    LicenceCase(
        "expired-certificate",
        "licence-issuer-expired-{alg}",
        "TOTAL_FAILED",
        "EXPIRED",
        "signed after the signer's certificate expired",
    ),
    LicenceCase(
        "cancelled-at-registry",
        "licence-issuer-{alg}",
        "TOTAL_FAILED",
        "LICENCE_CANCELLED",
        "a sound signature on a licence its registry has since cancelled",
        licence_status="cancelled",
    ),
)

# The formats each city issues licences in, and the key algorithm it signs each with.
CITY_FORMATS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "440300": (("jws", "ec"), ("pdf", "ec"), ("ofd", "sm2")),
    "442000": (("xml", "ec"), ("pdf", "ec"), ("ofd", "sm2")),
    "150100": (("jws", "ec"), ("pdf", "ec"), ("ofd", "sm2")),
}


@dataclass(frozen=True)
class Sample:
    file: str  # relative to the samples directory
    city: str
    kind: str  # "licence" or "seal"
    format: str
    case: str
    expected_indication: str
    expected_sub_indication: str | None
    description: str
    subject: str  # the licence number or seal code it carries
    data_file: str | None = None  # for a bare SES signature: the signed data


@dataclass(frozen=True)
class SandboxMaterial:
    directory: Path
    pki: trust.DemoPki
    samples: tuple[Sample, ...]
    status_list_urls: Mapping[str, str]

    @property
    def samples_dir(self) -> Path:
        return self.directory / "samples"


# ---- serving the public part -------------------------------------------------------------------------------

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


class PkiPublication:
    """ASGI wrapper: /pki/trust-list.jws, /pki/crl/<name>.crl and /pki/status/<name>.jws from one
    city's PKI directory (never its keys); everything else goes to the city's sandbox."""

    def __init__(self, app: Any, city_directory: Path) -> None:
        self.app = app
        self.city_directory = city_directory

    def _file_for(self, path: str) -> tuple[Path, str] | None:
        if path == SANDBOX_TRUST_LIST_PATH:
            return self.city_directory / "trust-list.jws", "application/jose"
        for folder, suffix, media_type in (
            ("crl", ".crl", "application/pkix-crl"),
            ("status", ".jws", "application/vc+jwt"),
        ):
            prefix = f"/pki/{folder}/"
            if path.startswith(prefix):
                name = path[len(prefix) :]
                if name and "/" not in name and not name.startswith(".") and name.endswith(suffix):
                    return self.city_directory / folder / name, media_type
        return None

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/pki/"):
            await self.app(scope, receive, send)
            return
        found = self._file_for(scope["path"])
        status, media_type, body = 404, "text/plain", b"not found"
        if found is not None and found[0].is_file():
            status, media_type, body = 200, found[1], found[0].read_bytes()
        headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})


# ---- making it ---------------------------------------------------------------------------------------------


def _seal_holders(city: CitySeed) -> list[Seal]:
    """One valid and one revoked seal of different holders: the seal samples."""
    chosen: list[Seal] = []
    for status in ("valid", "revoked"):
        for seal in city.seals:
            if seal.status == status and all(seal.holder.id_number != other.holder.id_number for other in chosen):
                chosen.append(seal)
                break
    return chosen


def _licence_for(city: CitySeed, status: str) -> Licence:
    for licence in city.licences:
        if licence.status == status and licence.licence_type == "business_licence":
            return licence
    return next(licence for licence in city.licences if licence.status == status)


def _status_list(
    pki: trust.DemoPki, region: str, city: CitySeed, directory: Path, list_url: str, now: datetime
) -> None:
    """The city's revocation list: one bit per seeded licence (its position), set when revoked."""
    bits = trust.new_status_bitstring()
    for index, licence in enumerate(city.licences):
        if licence.status in ("revoked", "cancelled"):
            trust.set_status_bit(bits, index, True)
    issuer = pki.identity(region, "licence-issuer-ec")
    token = trust.make_status_list_credential(
        list_url=list_url,
        issuer=_issuer_id(region),
        status_purpose="revocation",
        bitstring=bits,
        private_key=_signing_key(issuer),
        certificate_chain=[issuer.der, *pki.chain(region, "licence-issuer-ec")],
        valid_from=now,
        valid_until=now + STATUS_LIST_LIFETIME,
    )
    path = directory / STATUS_LIST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token, encoding="ascii")


SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _signing_key(identity: trust.DemoIdentity) -> SigningKey:
    if not isinstance(identity.key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise TypeError(f"{identity.role} does not hold an ECDSA or Ed25519 key")
    return identity.key


def _sm2_key(identity: trust.DemoIdentity) -> trust.Sm2PrivateKey:
    if not isinstance(identity.key, trust.Sm2PrivateKey):
        raise TypeError(f"{identity.role} does not hold an SM2 key")
    return identity.key


def _issuer_id(region: str) -> str:
    return {"440300": "440300.szamr.licence", "442000": "442000.zsamr.licence", "150100": "150100.hhamr.licence"}[
        region
    ]


def _credential(
    region: str, record: dict[str, Any], licence: Licence, status_entry: dict[str, str] | None
) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": VC_CONTEXT,
        "type": ["VerifiableCredential", "ElectronicLicence"],
        "id": f"urn:tongban:licence:{region}:{licence.licence_number}",
        "issuer": _issuer_id(region),
        "validFrom": f"{licence.valid_from.isoformat()}T00:00:00+08:00",
        "credentialSubject": record,
    }
    if status_entry:
        credential["credentialStatus"] = status_entry
    if licence.valid_until is not None:
        credential["validUntil"] = f"{licence.valid_until.isoformat()}T23:59:59+08:00"
    return credential


def licence_document(
    pki: trust.DemoPki,
    region: str,
    licence: Licence,
    document_format: str,
    signer_role: str,
    signing_time: datetime,
    *,
    status_entry: dict[str, str] | None = None,
) -> bytes:
    """A licence issued by `region` in `document_format`, signed by the demo PKI's `signer_role`."""
    formats = licence_formats()
    city_format = formats[region]
    signer = pki.identity(region, signer_role)
    chain = [signer.der, *pki.chain(region, signer_role)]
    record: dict[str, Any] | None = None
    if isinstance(city_format, XmlLicenceFormat):
        record_bytes, attachment = city_format.licence_xml(licence), "licence.xml"
    else:
        record = city_format.mapping.to_partner(licence)
        record_bytes, attachment = json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"), "licence.json"
    if document_format == "jws":
        if record is None:
            raise ValueError(f"city {region} does not issue JSON credentials")
        credential = _credential(region, record, licence, status_entry)
        return trust.sign_jws_credential(credential, _signing_key(signer), chain, signing_time).encode("ascii")
    if document_format == "xml":
        key = _signing_key(signer)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("signed XML licences are signed with ECDSA P-256")
        return trust.sign_xml(record_bytes, key, chain, signing_time)
    if document_format == "pdf":
        lines = [
            f"{licence.title}  {licence.licence_number}",
            f"{licence.holder.name}  {licence.holder.id_number}",
            f"{licence.issuer_name}  {licence.issued_on.isoformat()}",
        ]
        pdf = trust.make_licence_pdf(licence.title, lines, {attachment: record_bytes})
        return trust.sign_pdf(pdf, _signing_key(signer), chain, signing_time)
    if document_format == "ofd":
        maker = pki.identity(region, "seal-platform-sm2")
        seal = trust.make_seal(
            4,
            f"{region}{licence.issuer_code[-8:]}{signer_role[-3:].upper()}",
            f"{licence.issuer_name}电子证照专用章",
            1,
            [signer.der],
            signing_time - timedelta(days=30),
            signing_time + timedelta(days=3 * 365),
            SEAL_PICTURE,
            maker.der,
            _sm2_key(maker),
            created_at=signing_time - timedelta(days=30),
        )
        return trust.build_sealed_ofd({attachment: record_bytes}, seal, signer.der, _sm2_key(signer), signing_time)
    raise ValueError(f"unknown licence document format {document_format!r}")


def sealed_document(
    pki: trust.DemoPki, region: str, seal: Seal, signing_time: datetime, content: bytes, *, bare: bool = False
) -> bytes:
    """An enterprise's contract sealed with its e-seal (OFD), or the bare SES signature over `content`."""
    maker = pki.identity(region, "seal-platform-sm2")
    signer = pki.identity(region, f"enterprise-{seal.holder.id_number}-sm2")
    valid_from = datetime.combine(seal.valid_from, datetime.min.time(), UTC)
    valid_until = datetime.combine(
        seal.valid_until or (seal.valid_from + timedelta(days=3650)), datetime.min.time(), UTC
    )
    seal_der = trust.make_seal(
        4,
        seal.seal_code,
        seal.name,
        SES_SEAL_TYPES.get(seal.seal_type, 99),
        [signer.der],
        valid_from,
        valid_until,
        SEAL_PICTURE,
        maker.der,
        _sm2_key(maker),
        created_at=valid_from,
    )
    if bare:
        return trust.sign_ses(4, seal_der, content, signer.der, _sm2_key(signer), signing_time, "contract.txt")
    return trust.build_sealed_ofd(
        {"contract.txt": content},
        seal_der,
        signer.der,
        _sm2_key(signer),
        signing_time,
        page_text="合同 / contract",
    )


def tamper(document_format: str, document: bytes) -> bytes:
    """The same document with its signed content changed and its signature left as it was."""
    if document_format == "jws":
        header, payload, signature = document.split(b".")
        decoded = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        decoded["id"] = decoded.get("id", "") + "-forged"
        changed = base64.urlsafe_b64encode(json.dumps(decoded, separators=(",", ":")).encode()).rstrip(b"=")
        return b".".join((header, changed, signature))
    if document_format == "xml":
        head, marker, tail = document.partition(b"<ZZMC>")
        return head + marker + "伪造".encode() + tail
    if document_format == "pdf":
        at = document.index(b"stream", document.index(b"/EmbeddedFile")) + 40
        return document[:at] + bytes([document[at] ^ 0x01]) + document[at + 1 :]
    if document_format == "ofd":
        source = zipfile.ZipFile(io.BytesIO(document))
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename.rpartition("/")[2] in ("licence.json", "licence.xml", "contract.txt"):
                    data = data.replace("有限公司".encode(), "无限公司".encode()) + b" "
                target.writestr(info, data)
        return output.getvalue()
    raise ValueError(f"cannot tamper with {document_format!r}")


def load_sandbox_pki(directory: Path, now: datetime) -> trust.DemoPki:
    """The PKI an earlier prepare_sandbox made under `directory` (its pki/ folder), as it was made."""
    manifest = directory / "pki" / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"no sandbox PKI under {directory / 'pki'}: `tongban sandbox` or `make run` makes it")
    bases = json.loads(manifest.read_text(encoding="utf-8")).get("crl_base_urls", {})
    return trust.load_or_create_demo_pki(directory / "pki", now=now, crl_base_urls=bases)


def holder_city(holder_id: str) -> str:
    """The sandbox city whose consent service speaks for a holder: from the region in its code."""
    region = catalogs.holder_region(holder_id)
    cities = [city.region for city in catalogs.cities()]
    for city in cities:
        if region[:4] == city[:4]:
            return city
    raise catalogs.InvalidCode(f"{holder_id} is not registered in a sandbox city ({', '.join(cities)})")


def consent_token(
    pki: trust.DemoPki,
    holder_city: str,
    *,
    holder_id: str,
    requester: str,
    audience: str,
    purposes: list[str],
    licence_types: list[str] | None,
    now: datetime,
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    """The holder's consent, as the city's consent service (授权同意服务) signs it after the holder agreed."""
    service = pki.identity(holder_city, "consent-service-ec")
    claims: dict[str, Any] = {
        "iss": f"{holder_city}.consent",
        "sub": holder_id,
        "aud": audience,
        "requester": requester,
        "purposes": purposes,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": base64.urlsafe_b64encode(os.urandom(12)).decode("ascii"),
    }
    if licence_types is not None:
        claims["licence_types"] = licence_types
    chain = [service.der, *pki.chain(holder_city, "consent-service-ec")]
    return trust.sign_jws_credential(claims, _signing_key(service), chain, now)


def prepare_sandbox(
    directory: Path,
    base_urls: Mapping[str, str],
    *,
    data: SeedData,
    now: datetime | None = None,
) -> SandboxMaterial:
    """Make (or load) the PKI, refresh the status lists and write the samples (if missing).

    `base_urls` maps GB/T 2260 city codes to where that city's sandbox answers."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    enterprises = {
        region: [
            trust.DemoEnterprise(seal.holder.id_number, seal.holder.name) for seal in _seal_holders(data.city(region))
        ]
        for region in base_urls
    }
    pki = trust.load_or_create_demo_pki(
        directory / "pki",
        now=now,
        crl_base_urls={region: f"{url.rstrip('/')}/pki/crl" for region, url in base_urls.items()},
        enterprises=enterprises,
    )
    status_urls = {region: f"{url.rstrip('/')}/pki/status/{STATUS_LIST_NAME}" for region, url in base_urls.items()}
    for region in base_urls:
        _status_list(pki, region, data.city(region), directory / "pki" / region / "status", status_urls[region], now)
    index = directory / "samples" / "index.json"
    if not index.exists():
        made = _write_samples(pki, directory / "samples", data, base_urls, status_urls, now)
        index.write_text(
            json.dumps([asdict(sample) for sample in made], ensure_ascii=False, indent=1), encoding="utf-8"
        )
    listed = json.loads(index.read_text(encoding="utf-8"))
    return SandboxMaterial(directory, pki, tuple(Sample(**item) for item in listed), status_urls)


def _write_samples(
    pki: trust.DemoPki,
    directory: Path,
    data: SeedData,
    base_urls: Mapping[str, str],
    status_urls: Mapping[str, str],
    now: datetime,
) -> list[Sample]:
    made: list[Sample] = []
    for region in base_urls:
        city = data.city(region)
        folder = directory / region
        folder.mkdir(parents=True, exist_ok=True)
        for document_format, algorithm in CITY_FORMATS[region]:
            for case in LICENCE_CASES:
                licence = _licence_for(city, case.licence_status)
                index = city.licences.index(licence)
                entry = trust.status_list_entry(status_urls[region], index, "revocation")
                when = now if case.when == "now" else pki.withdrawn_at - timedelta(days=2)
                document = licence_document(
                    pki, region, licence, document_format, case.signer.format(alg=algorithm), when, status_entry=entry
                )
                if case.tamper:
                    document = tamper(document_format, document)
                expected_sub = case.sub_indication
                if case.tamper and document_format == "jws":
                    expected_sub = "SIG_CRYPTO_FAILURE"  # a JWS has no separate digest to fail first
                name = f"licence-{case.name}.{document_format}"  # the format is the file's extension
                (folder / name).write_bytes(document)
                made.append(
                    Sample(
                        f"{region}/{name}",
                        region,
                        "licence",
                        document_format,
                        case.name,
                        case.indication,
                        expected_sub,
                        f"{catalogs.city(region).name} {licence.title}: {case.description}",
                        licence.licence_number,
                    )
                )
        for seal in _seal_holders(city):
            content = f"{seal.holder.name} 与 甲方 签订的合同（示例）\n".encode()
            case_name = "valid" if seal.status == "valid" else f"{seal.status}-at-platform"
            expected = ("TOTAL_PASSED", None) if seal.status == "valid" else ("TOTAL_FAILED", "SEAL_NOT_VALID")
            for bare in (False, True):
                document = sealed_document(pki, region, seal, now, content, bare=bare)
                extension = "ses" if bare else "ofd"
                name = f"seal-{case_name}.{extension}"
                (folder / name).write_bytes(document)
                data_file = None
                if bare:
                    data_file = f"{region}/seal-{case_name}.data"
                    (directory / data_file).write_bytes(content)
                made.append(
                    Sample(
                        f"{region}/{name}",
                        region,
                        "seal",
                        extension,
                        case_name,
                        expected[0],
                        expected[1],
                        f"{seal.holder.name}「{seal.name}」({seal.status} at the seal platform)",
                        seal.seal_code,
                        data_file,
                    )
                )
            if seal.status == "valid":
                document = tamper("ofd", sealed_document(pki, region, seal, now, content))
                (folder / "seal-tampered.ofd").write_bytes(document)
                made.append(
                    Sample(
                        f"{region}/seal-tampered.ofd",
                        region,
                        "seal",
                        "ofd",
                        "tampered",
                        "TOTAL_FAILED",
                        "HASH_FAILURE",
                        f"{seal.holder.name}「{seal.name}」: the contract changed after sealing",
                        seal.seal_code,
                    )
                )
    return made
