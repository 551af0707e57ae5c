"""The sandbox's demo PKI: per city, CAs, licence issuers, a seal platform, enterprises, CRLs and a signed trust list.

Generated on first use into a directory (the gateway passes ./var/sandbox/pki) and loaded thereafter:
keys and certificates never change once written; CRLs and trust lists are re-signed (next CRL number,
next list sequence) when they come within REISSUE_MARGIN of their nextUpdate, or when the services to
list changed (an enterprise added). Layout, for each city code C:

    manifest.json                     created_at (the epoch every demo date derives from), sequences
    C/<role>.crt  C/<role>.key        PEM; keys 0600 (PKCS#8; SM2 keys as OpenSSL 3 writes them)
    C/crl/C-<ca role>.crl             DER, served at <crl base URL of C>/C-<ca role>.crl
    C/trust-list.jws                  the city's signed trust list (trust._trustlist)

Roles: root-ec, root-sm2 (self-signed), issuing-ec, issuing-sm2 (under them); licence-issuer-ec,
-sm2, -ed25519 (the city's market regulator 市场监督管理局), seal-platform-sm2 (制章者),
consent-service-ec, credit-platform-ec, trust-list-operator (P-256, under root-ec), enterprise-<USCC>-sm2; and the
deliberate failures, each with an EC and an SM2 key (-ec, -sm2): licence-issuer-revoked-* (on its
issuing CA's CRL since `revoked_at`), licence-issuer-expired-*, licence-issuer-withdrawn-* (its
service withdrawn at `withdrawn_at`), and unlisted-ca-* with licence-issuer-unlisted-* (a CA on no
trust list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from trust._keyring import write_atomically
from trust._sm2 import Sm2PrivateKey
from trust._sm2_x509 import make_sm2_certificate, make_sm2_crl
from trust._trustlist import ServiceStatus, TrustList, TrustListSource, TrustService, parse_trust_list, sign_trust_list

__all__ = [
    "DemoEnterprise",
    "DemoIdentity",
    "DemoPki",
    "issue_certificate",
    "issue_crl",
    "load_or_create_demo_pki",
]

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | Sm2PrivateKey

DEMO_CITIES: Mapping[str, tuple[str, str]] = {  # code -> (name, short org prefix)
    "440300": ("深圳市", "sz"),
    "442000": ("中山市", "zs"),
    "150100": ("呼和浩特市", "hhht"),
}
LIST_LIFETIME = timedelta(days=30)
CRL_LIFETIME = timedelta(days=30)
REISSUE_MARGIN = timedelta(days=7)
CA_ROLES = ("root-ec", "root-sm2", "issuing-ec", "issuing-sm2", "unlisted-ca-ec", "unlisted-ca-sm2")
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class DemoEnterprise:
    uscc: str  # 统一社会信用代码
    name: str


# ---- issuing, for the demo PKI and for tests ------------------------------------------------------------


def _name(common_name: str, organisation: str | None, serial: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if serial:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, _fit(common_name, 64)))
    return x509.Name(attributes)


def _fit(text: str, limit: int) -> str:
    """The longest prefix of text within `limit` UTF-8 bytes (X.520 ub-common-name, as cryptography counts)."""
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def issue_certificate(
    subject: x509.Name,
    subject_key: PrivateKey,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    *,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    crl_url: str | None = None,
    key_usage: Sequence[str] | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for `subject_key`, signed by `issuer` (certificate, key), self-signed when None.

    SM2 issuers sign with SM2-with-SM3 (trust._sm2_x509) and issue SM2 keys only; ECDSA and Ed25519
    issuers sign through cryptography. key_usage takes cryptography's KeyUsage field names; the
    default is CA usage (keyCertSign, cRLSign) or signing usage (digitalSignature, contentCommitment).
    """
    serial = serial or x509.random_serial_number()
    usage = frozenset(
        key_usage or (("key_cert_sign", "crl_sign") if ca else ("digital_signature", "content_commitment"))
    )
    signing_key = subject_key if issuer is None else issuer[1]
    if isinstance(signing_key, Sm2PrivateKey):
        if not isinstance(subject_key, Sm2PrivateKey):
            raise TypeError("an SM2 CA issues certificates for SM2 keys")
        asn1_names = {"content_commitment": "non_repudiation", "key_cert_sign": "key_cert_sign"}
        der = make_sm2_certificate(
            subject.public_bytes(),
            None if issuer is None else _der(issuer[0]),
            signing_key,
            subject_key.public_key(),
            serial,
            not_before,
            not_after,
            is_ca=ca,
            key_usage=[asn1_names.get(name, name) for name in sorted(usage)],
            crl_url=crl_url,
        )
        return x509.load_der_x509_certificate(der)
    if isinstance(subject_key, Sm2PrivateKey):
        raise TypeError("SM2 keys are certified by SM2 CAs")
    public_key = subject_key.public_key()
    issuer_name = subject if issuer is None else issuer[0].subject
    issuer_public_key = public_key if issuer is None else issuer[0].public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_key_usage(usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if crl_url is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    digest = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signing_key, digest)


def _key_usage(usage: frozenset[str]) -> x509.KeyUsage:
    fields = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    )
    unknown = usage - set(fields)
    if unknown:
        raise ValueError(f"unknown key usage {sorted(unknown)}")
    flags = {name: name in usage for name in fields}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


def issue_crl(
    issuer: tuple[x509.Certificate, PrivateKey],
    revoked: Sequence[tuple[int, datetime]],
    *,
    this_update: datetime,
    next_update: datetime,
    number: int = 1,
) -> bytes:
    """A DER CRL of `issuer` listing (serial, revocation time) pairs."""
    certificate, key = issuer
    if isinstance(key, Sm2PrivateKey):
        return make_sm2_crl(_der(certificate), key, revoked, this_update, next_update, crl_number=number)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at).build()
        )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest).public_bytes(serialization.Encoding.DER)


# ---- the demo PKI -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoIdentity:
    city: str
    role: str
    certificate: x509.Certificate
    key: PrivateKey
    certificate_path: Path
    key_path: Path
    issuer_role: str | None  # None for a self-signed root

    @property
    def der(self) -> bytes:
        return _der(self.certificate)


@dataclass(frozen=True)
class _Spec:
    role: str
    common_name: str
    organisation: str
    algorithm: str  # "ec", "ed25519", "sm2"
    issuer_role: str | None
    ca: bool = False
    validity: str = "current"  # "current", "expired", "long"
    serial_attribute: str | None = None


@dataclass(frozen=True)
class DemoPki:
    """Paths and loaded keys and certificates of the demo PKI, by city and role."""

    directory: Path
    created_at: datetime
    identities: Mapping[tuple[str, str], DemoIdentity]
    crl_urls: Mapping[tuple[str, str], str]  # (city, CA role) -> URL in the certificates it issued

    @property
    def revoked_at(self) -> datetime:
        """When licence-issuer-revoked-ec was revoked (in every city)."""
        return self.created_at - timedelta(days=20)

    @property
    def withdrawn_at(self) -> datetime:
        """When licence-issuer-withdrawn-ec's service was withdrawn from its city's list."""
        return self.created_at - timedelta(days=30)

    @property
    def cities(self) -> tuple[str, ...]:
        return tuple(sorted({city for city, _ in self.identities}))

    def identity(self, city: str, role: str) -> DemoIdentity:
        return self.identities[(city, role)]

    def chain(self, city: str, role: str) -> tuple[bytes, ...]:
        """DER of the issuers above `role`, nearest first, the root last."""
        ders = []
        issuer_role = self.identity(city, role).issuer_role
        while issuer_role is not None:
            issuer = self.identity(city, issuer_role)
            ders.append(issuer.der)
            issuer_role = issuer.issuer_role
        return tuple(ders)

    def crl_path(self, city: str, ca_role: str) -> Path:
        return self.directory / city / "crl" / f"{city}-{ca_role}.crl"

    def trust_list_path(self, city: str) -> Path:
        return self.directory / city / "trust-list.jws"

    def operator_certificate(self, city: str) -> bytes:
        return self.identity(city, "trust-list-operator").der

    def trust_list_sources(self, urls: Mapping[str, str]) -> tuple[TrustListSource, ...]:
        """One source per city in `urls` (city -> where its list is served), pinned to its operator."""
        return tuple(TrustListSource(city, url, self.operator_certificate(city)) for city, url in sorted(urls.items()))


def _specs(city: str, enterprises: Sequence[DemoEnterprise]) -> list[_Spec]:
    city_name, _ = DEMO_CITIES[city]
    operator = f"{city_name}政务服务数据管理局"
    regulator = f"{city_name}市场监督管理局"
    specs = [
        _Spec("root-ec", f"{city_name}电子证照根CA", operator, "ec", None, ca=True),
        _Spec("root-sm2", f"{city_name}电子证照SM2根CA", operator, "sm2", None, ca=True),
        _Spec("issuing-ec", f"{city_name}电子证照签发CA", operator, "ec", "root-ec", ca=True),
        _Spec("issuing-sm2", f"{city_name}电子证照SM2签发CA", operator, "sm2", "root-sm2", ca=True),
        _Spec("trust-list-operator", f"{city_name}信任列表运营者", operator, "ec", "root-ec"),
        _Spec("licence-issuer-ec", f"{regulator} EC", regulator, "ec", "issuing-ec"),
        _Spec("licence-issuer-sm2", f"{regulator} SM2", regulator, "sm2", "issuing-sm2"),
        _Spec("licence-issuer-ed25519", f"{regulator} Ed25519", regulator, "ed25519", "issuing-ec"),
        _Spec(
            "seal-platform-sm2",
            f"{city_name}电子印章平台制章者",
            f"{city_name}电子印章平台",
            "sm2",
            "issuing-sm2",
            validity="long",
        ),
        _Spec("consent-service-ec", f"{city_name}授权同意服务", operator, "ec", "issuing-ec"),
        _Spec("credit-platform-ec", f"{city_name}公共信用信息平台", f"{city_name}发展和改革委员会", "ec", "issuing-ec"),
        _Spec("licence-issuer-revoked-ec", f"{regulator}(已吊销)", regulator, "ec", "issuing-ec"),
        _Spec(
            "licence-issuer-expired-ec",
            f"{regulator}(已过期)",
            regulator,
            "ec",
            "issuing-ec",
            validity="expired",
        ),
        _Spec("licence-issuer-withdrawn-ec", f"{regulator}旧系统", regulator, "ec", "issuing-ec"),
        _Spec("unlisted-ca-ec", f"{city_name}未登记CA", "未登记机构", "ec", None, ca=True),
        _Spec("licence-issuer-unlisted-ec", f"{regulator}(未登记)", regulator, "ec", "unlisted-ca-ec"),
        # The same planted cases with SM2 keys, for OFD/SES documents.
        _Spec("licence-issuer-revoked-sm2", f"{regulator}(已吊销) SM2", regulator, "sm2", "issuing-sm2"),
        _Spec(
            "licence-issuer-expired-sm2",
            f"{regulator}(已过期) SM2",
            regulator,
            "sm2",
            "issuing-sm2",
            validity="expired",
        ),
        _Spec("licence-issuer-withdrawn-sm2", f"{regulator}旧系统 SM2", regulator, "sm2", "issuing-sm2"),
        _Spec("unlisted-ca-sm2", f"{city_name}未登记SM2 CA", "未登记机构", "sm2", None, ca=True),
        _Spec("licence-issuer-unlisted-sm2", f"{regulator}(未登记) SM2", regulator, "sm2", "unlisted-ca-sm2"),
    ]
    specs.extend(
        _Spec(f"enterprise-{item.uscc}-sm2", item.name, item.name, "sm2", "issuing-sm2", serial_attribute=item.uscc)
        for item in enterprises
    )
    return specs


def _validity(spec: _Spec, epoch: datetime) -> tuple[datetime, datetime]:
    if spec.ca:
        return epoch - timedelta(days=3 * 365), epoch + timedelta(days=20 * 365)
    if spec.validity == "long":  # a seal maker certifies seals made years ago that are still in use
        return epoch - timedelta(days=3 * 365), epoch + timedelta(days=10 * 365)
    if spec.validity == "expired":
        return epoch - timedelta(days=800), epoch - timedelta(days=30)
    return epoch - timedelta(days=400), epoch + timedelta(days=730)


def _new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return Sm2PrivateKey.generate()


def _key_pem(key: PrivateKey) -> bytes:
    if isinstance(key, Sm2PrivateKey):
        return key.to_pem()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(data: bytes, algorithm: str) -> PrivateKey:
    if algorithm == "sm2":
        return Sm2PrivateKey.from_pem(data)
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise TypeError(f"unexpected key type {type(key).__name__}")
    return key


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file; keys 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, 0o600 if private else 0o644)


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return bytes(pem.armor("CERTIFICATE", _der(certificate)))


def _ensure_identity(
    directory: Path,
    city: str,
    spec: _Spec,
    epoch: datetime,
    known: Mapping[tuple[str, str], DemoIdentity],
    crl_url: Any,
) -> DemoIdentity:
    certificate_path = directory / city / f"{spec.role}.crt"
    key_path = directory / city / f"{spec.role}.key"
    if certificate_path.exists() and key_path.exists():
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        key = _load_key(key_path.read_bytes(), spec.algorithm)
        return DemoIdentity(city, spec.role, certificate, key, certificate_path, key_path, spec.issuer_role)
    key = _new_key(spec.algorithm)
    issuer = None
    if spec.issuer_role is not None:
        parent = known[(city, spec.issuer_role)]
        issuer = (parent.certificate, parent.key)
    not_before, not_after = _validity(spec, epoch)
    certificate = issue_certificate(
        _name(spec.common_name, spec.organisation, spec.serial_attribute),
        key,
        issuer,
        not_before=not_before,
        not_after=not_after,
        ca=spec.ca,
        crl_url=None if spec.issuer_role is None else crl_url(city, spec.issuer_role),
    )
    _write(key_path, _key_pem(key), private=True)
    _write(certificate_path, _certificate_pem(certificate))
    return DemoIdentity(city, spec.role, certificate, key, certificate_path, key_path, spec.issuer_role)


def _services(pki: DemoPki, city: str) -> tuple[TrustService, ...]:
    city_name, short = DEMO_CITIES[city]

    def ders(*roles: str) -> tuple[bytes, ...]:
        return tuple(pki.identity(city, role).der for role in roles)

    def granted(*roles: str) -> tuple[ServiceStatus, ...]:
        since = min(pki.identity(city, role).certificate.not_valid_before_utc for role in roles)
        return (ServiceStatus("granted", since),)

    ca_roles = ("root-ec", "root-sm2", "issuing-ec", "issuing-sm2")
    issuer_roles = (
        "licence-issuer-ec",
        "licence-issuer-sm2",
        "licence-issuer-ed25519",
        "licence-issuer-revoked-ec",
        "licence-issuer-expired-ec",
        "licence-issuer-revoked-sm2",
        "licence-issuer-expired-sm2",
    )
    withdrawn = ("licence-issuer-withdrawn-ec", "licence-issuer-withdrawn-sm2")
    return (
        TrustService(f"{city_name}电子证照CA", "ca", f"{city}.{short}ca.pki", ders(*ca_roles), granted(*ca_roles)),
        TrustService(
            f"{city_name}市场监督管理局",
            "licence-issuer",
            f"{city}.{short}amr.licence",
            ders(*issuer_roles),
            granted(*issuer_roles),
        ),
        TrustService(
            f"{city_name}市场监督管理局旧发证系统",
            "licence-issuer",
            f"{city}.{short}amr.legacy",
            ders(*withdrawn),
            (*granted(*withdrawn), ServiceStatus("withdrawn", pki.withdrawn_at)),
        ),
        TrustService(
            f"{city_name}电子印章平台",
            "seal-platform",
            f"{city}.{short}seal.platform",
            ders("seal-platform-sm2"),
            granted("seal-platform-sm2"),
        ),
        TrustService(
            f"{city_name}授权同意服务",
            "consent-service",
            f"{city}.{short}gov.consent",
            ders("consent-service-ec"),
            granted("consent-service-ec"),
        ),
        TrustService(
            f"{city_name}公共信用信息平台",
            "credit-platform",
            f"{city}.{short}credit.platform",
            ders("credit-platform-ec"),
            granted("credit-platform-ec"),
        ),
    )


def _due(next_update_text: str | None, now: datetime) -> bool:
    return next_update_text is None or now >= datetime.fromisoformat(next_update_text) - REISSUE_MARGIN


def load_or_create_demo_pki(
    directory: Path,
    *,
    now: datetime,
    crl_base_urls: Mapping[str, str],
    enterprises: Mapping[str, Sequence[DemoEnterprise]] | None = None,
) -> DemoPki:
    """Load the demo PKI from `directory`, creating what is missing and re-signing what is due.

    `crl_base_urls` maps each city to the URL prefix its sandbox serves C/crl/ under (for example
    "http://127.0.0.1:8081/pki/crl"); its keys choose the cities (of 440300, 442000, 150100). A city
    keeps the base it was first made with (the URL is inside its certificates); see DemoPki.crl_urls.
    `enterprises` lists, per city, the enterprises to give an SM2 signer certificate.
    """
    unknown = set(crl_base_urls) - set(DEMO_CITIES)
    if unknown:
        raise ValueError(f"no demo PKI for cities {sorted(unknown)}; known: {sorted(DEMO_CITIES)}")
    now = now.astimezone(UTC).replace(microsecond=0)
    manifest_path = directory / "manifest.json"
    manifest: dict[str, Any] = (
        json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest_path.exists()
        else {"version": MANIFEST_VERSION, "created_at": now.isoformat(), "cities": {}}
    )
    epoch = datetime.fromisoformat(manifest["created_at"])

    # The URLs are baked into the certificates: a city keeps the base it was first made with.
    bases = manifest.setdefault("crl_base_urls", {})
    for city, base in crl_base_urls.items():
        bases.setdefault(city, base.rstrip("/"))

    def crl_url(city: str, ca_role: str) -> str:
        return f"{bases[city]}/{city}-{ca_role}.crl"

    identities: dict[tuple[str, str], DemoIdentity] = {}
    for city in sorted(crl_base_urls):
        for spec in _specs(city, (enterprises or {}).get(city, ())):
            identities[(city, spec.role)] = _ensure_identity(directory, city, spec, epoch, identities, crl_url)
    urls = {(city, role): crl_url(city, role) for city in crl_base_urls for role in CA_ROLES}
    pki = DemoPki(directory, epoch, identities, urls)

    for city in sorted(crl_base_urls):
        state = manifest["cities"].setdefault(city, {"crls": {}, "trust_list": {}})
        _ensure_crls(pki, city, state, now)
        _ensure_trust_list(pki, city, state, now)
    if not manifest_path.exists() or json.loads(manifest_path.read_text(encoding="utf-8")) != manifest:
        _write(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))
    return pki


def _ensure_crls(pki: DemoPki, city: str, state: dict[str, Any], now: datetime) -> None:
    revoked_by_ca = {
        "issuing-ec": pki.identity(city, "licence-issuer-revoked-ec").certificate,
        "issuing-sm2": pki.identity(city, "licence-issuer-revoked-sm2").certificate,
    }
    for ca_role in CA_ROLES:
        entry = state["crls"].get(ca_role, {})
        path = pki.crl_path(city, ca_role)
        if path.exists() and not _due(entry.get("next_update"), now):
            continue
        revoked_certificate = revoked_by_ca.get(ca_role)
        revoked = [(revoked_certificate.serial_number, pki.revoked_at)] if revoked_certificate is not None else []
        number = int(entry.get("number", 0)) + 1
        identity = pki.identity(city, ca_role)
        data = issue_crl(
            (identity.certificate, identity.key),
            revoked,
            this_update=now,
            next_update=now + CRL_LIFETIME,
            number=number,
        )
        _write(path, data)
        state["crls"][ca_role] = {"number": number, "next_update": (now + CRL_LIFETIME).isoformat()}


def _ensure_trust_list(pki: DemoPki, city: str, state: dict[str, Any], now: datetime) -> None:
    path = pki.trust_list_path(city)
    services = _services(pki, city)
    operator = pki.identity(city, "trust-list-operator")
    held = None
    if path.exists():
        held = parse_trust_list(path.read_bytes(), operator.der, city=city)
        if held.services == services and now < held.next_update - REISSUE_MARGIN:
            return
    city_name, _ = DEMO_CITIES[city]
    trust_list = TrustList(
        operator_name=f"{city_name}政务服务数据管理局",
        city=city,
        sequence=1 if held is None else held.sequence + 1,
        issued_at=now,
        next_update=now + LIST_LIFETIME,
        services=services,
    )
    if not isinstance(operator.key, ec.EllipticCurvePrivateKey):
        raise TypeError("the trust-list operator key is P-256")
    _write(path, sign_trust_list(trust_list, operator.key, operator.der))
    state["trust_list"] = {"sequence": trust_list.sequence, "next_update": trust_list.next_update.isoformat()}
