"""Members, the services they publish, and who may call what."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.errors import AlreadyRegistered, InvalidContent, UnknownMember, UnknownService
from gateway.storage import access_rights, members, registry_version, services
from trust import InvalidCertificate, MemberCertificate, UnsupportedKey, load_member_certificate

__all__ = [
    "GATEWAY_OPERATIONS",
    "gateway_rights",
    "Member",
    "Service",
    "add_member",
    "add_service",
    "allowed_service_ids",
    "find_member",
    "find_member_by_key",
    "find_service",
    "get_member",
    "get_service",
    "grant",
    "has_right",
    "list_members",
    "list_services",
    "parse_member_id",
    "registry_version_of",
    "revoke",
    "right_named",
]

MEMBER_ID = re.compile(r"^(?P<city>[1-8]\d{5})\.(?P<org>[a-z0-9][a-z0-9-]{0,62})\.(?P<system>[a-z0-9][a-z0-9-]{0,62})$")
SERVICE_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")

# Rights that name one of the gateway's own operations rather than a relayed service; the domain
# services add theirs (gateway_rights()).
GATEWAY_OPERATIONS: dict[str, str] = {
    "audit.read": "read the audit entries and evidence of any exchange (supervisors)",
    "audit.witness": "countersign this gateway's audit checkpoints (another city's gateway)",
}


def gateway_rights() -> dict[str, str]:
    """Every right that names an operation of the gateway: its own and its domain services'."""
    from gateway.services import service_rights  # the services import this module

    return GATEWAY_OPERATIONS | service_rights()


@dataclass(frozen=True)
class Member:
    id: str
    city: str
    name: str
    certificate: MemberCertificate
    created_at: datetime


@dataclass(frozen=True)
class Service:
    id: str
    provider_id: str
    code: str
    url: str
    protocol: Literal["rest", "soap"]
    title: str
    purpose_required: bool
    max_body_bytes: int | None
    timeout_seconds: float | None
    response_signature: Literal["optional", "required"]
    created_at: datetime


def parse_member_id(member_id: str) -> tuple[str, str, str]:
    """Split `<city>.<org>.<system>`; raises InvalidContent with the expected form."""
    match = MEMBER_ID.match(member_id)
    if not match:
        raise InvalidContent(
            f"member id {member_id!r} is not <city>.<org>.<system> "
            "(six-digit GB/T 2260 city code, lowercase letters, digits and '-'), e.g. 442000.zsgov.window"
        )
    return match["city"], match["org"], match["system"]


def _changed(connection: Connection) -> None:
    """Every change to members, services or rights counts here, in its own transaction: the
    processes' in-memory copies (gateway.registry_cache) reload when the number moves."""
    connection.execute(
        update(registry_version).where(registry_version.c.id == 1).values(version=registry_version.c.version + 1)
    )


def registry_version_of(connection: Connection) -> int:
    return int(connection.execute(select(registry_version.c.version).where(registry_version.c.id == 1)).scalar_one())


def _member_from_row(row: object) -> Member:
    return Member(
        id=row.id,  # type: ignore[attr-defined]
        city=row.city,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        certificate=load_member_certificate(row.certificate_pem),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


def add_member(
    connection: Connection,
    member_id: str,
    certificate_pem: bytes,
    *,
    name: str = "",
    now: datetime,
    replace: bool = False,
) -> Member:
    """Register a member with its certificate, or with replace change the certificate of one.

    AlreadyRegistered (409) when the id is taken (without replace), or when another member
    already holds the certificate's key."""
    city, _org, _system = parse_member_id(member_id)
    try:
        certificate = load_member_certificate(certificate_pem)
    except (InvalidCertificate, UnsupportedKey) as exc:
        raise InvalidContent(f"certificate for {member_id}: {exc}") from exc
    values = {
        "city": city,
        "name": name,
        "certificate_pem": certificate.pem,
        "key_algorithm": certificate.kind.jose_alg,
        "key_thumbprint": certificate.key_thumbprint,
    }
    existing = connection.execute(select(members.c.id).where(members.c.id == member_id)).first()
    if existing and not replace:
        raise AlreadyRegistered(f"member {member_id} is already registered; use --replace to change its certificate")
    # One key, one member: the SOAP face knows a caller only by its certificate's key.
    holder = connection.execute(
        select(members.c.id).where(members.c.key_thumbprint == certificate.key_thumbprint, members.c.id != member_id)
    ).first()
    if holder is not None:
        raise AlreadyRegistered(
            f"the key of this certificate is already registered to member {holder.id}; "
            f"{member_id} needs a key of its own"
        )
    if existing:
        connection.execute(members.update().where(members.c.id == member_id).values(**values))
    else:
        connection.execute(insert(members).values(id=member_id, created_at=now, **values))
    _changed(connection)
    return get_member(connection, member_id)


def get_member(connection: Connection, member_id: str) -> Member:
    row = connection.execute(select(members).where(members.c.id == member_id)).first()
    if row is None:
        raise UnknownMember(f"no member {member_id}")
    return _member_from_row(row)


def find_member(connection: Connection, member_id: str) -> Member | None:
    row = connection.execute(select(members).where(members.c.id == member_id)).first()
    return None if row is None else _member_from_row(row)


def find_member_by_key(connection: Connection, key_thumbprint: str) -> Member | None:
    """The member whose registered certificate carries this key (RFC 7638 thumbprint)."""
    row = connection.execute(select(members).where(members.c.key_thumbprint == key_thumbprint)).first()
    return None if row is None else _member_from_row(row)


def list_members(connection: Connection) -> list[Member]:
    return [_member_from_row(row) for row in connection.execute(select(members).order_by(members.c.id))]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a DNS name: whatever it resolves to, it is not known to stay on this machine
        return False


def _check_service_url(url: str, *, allow_plain_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidContent(f"service URL {url!r} must be an absolute http(s) URL")
    loopback = _is_loopback(parts.hostname)
    if parts.scheme == "http" and not loopback and not allow_plain_http:
        raise InvalidContent(
            f"service URL {url!r} is plain http; use https, or set TONGBAN_ALLOW_PLAIN_HTTP_UPSTREAMS=true"
        )


def add_service(
    connection: Connection,
    provider_id: str,
    code: str,
    *,
    url: str,
    protocol: str = "rest",
    title: str = "",
    purpose_required: bool = False,
    max_body_bytes: int | None = None,
    timeout_seconds: float | None = None,
    response_signature: str = "optional",
    allow_plain_http: bool = False,
    now: datetime,
    replace: bool = False,
) -> Service:
    get_member(connection, provider_id)
    if not SERVICE_CODE.match(code):
        raise InvalidContent(f"service code {code!r} must be lowercase letters, digits, '.', '_' or '-'")
    if protocol not in ("rest", "soap"):
        raise InvalidContent(f"protocol {protocol!r} must be rest or soap")
    if response_signature not in ("optional", "required"):
        raise InvalidContent("response_signature must be optional or required")
    _check_service_url(url, allow_plain_http=allow_plain_http)
    service_id = f"{provider_id}/{code}"
    values = {
        "provider_id": provider_id,
        "code": code,
        "url": url.rstrip("/"),
        "protocol": protocol,
        "title": title,
        "purpose_required": purpose_required,
        "max_body_bytes": max_body_bytes,
        "timeout_seconds": timeout_seconds,
        "response_signature": response_signature,
    }
    exists = connection.execute(select(services.c.id).where(services.c.id == service_id)).first()
    if exists and not replace:
        raise AlreadyRegistered(f"service {service_id} is already published; use --replace to change it")
    if exists:
        connection.execute(services.update().where(services.c.id == service_id).values(**values))
    else:
        connection.execute(insert(services).values(id=service_id, created_at=now, **values))
    _changed(connection)
    return get_service(connection, service_id)


def _service_from_row(row: object) -> Service:
    return Service(**{column.name: getattr(row, column.name) for column in services.columns})


def find_service(connection: Connection, service_id: str) -> Service | None:
    row = connection.execute(select(services).where(services.c.id == service_id)).first()
    return None if row is None else _service_from_row(row)


def get_service(connection: Connection, service_id: str) -> Service:
    service = find_service(connection, service_id)
    if service is None:
        raise UnknownService(f"no service {service_id}")
    return service


def list_services(connection: Connection) -> list[Service]:
    return [_service_from_row(row) for row in connection.execute(select(services).order_by(services.c.id))]


def right_named(service_id: str) -> str:
    """The right a name grants: itself, or the right an alias stands for (the contract's
    `credit.report` is the credit service's `credit.query`)."""
    if "/" in service_id:
        return service_id
    from gateway.services import service_right_aliases  # the services import this module

    return service_right_aliases().get(service_id, service_id)


def _check_right_target(connection: Connection, service_id: str) -> None:
    rights = gateway_rights()
    if service_id in rights:
        return
    if "/" not in service_id:
        known = ", ".join(sorted(rights))
        raise UnknownService(f"{service_id!r} is neither PROVIDER_ID/SERVICE_CODE nor a gateway operation ({known})")
    get_service(connection, service_id)


def grant(connection: Connection, client_id: str, service_id: str, *, now: datetime) -> bool:
    """Give a member the right to call a service; False when it already had it."""
    get_member(connection, client_id)
    service_id = right_named(service_id)
    _check_right_target(connection, service_id)
    try:
        with connection.begin_nested():
            connection.execute(insert(access_rights).values(client_id=client_id, service_id=service_id, granted_at=now))
    except IntegrityError:
        return False
    _changed(connection)
    return True


def revoke(connection: Connection, client_id: str, service_id: str) -> bool:
    """Take a right away; False when the member did not have it."""
    service_id = right_named(service_id)
    result = connection.execute(
        delete(access_rights).where(access_rights.c.client_id == client_id, access_rights.c.service_id == service_id)
    )
    if result.rowcount:
        _changed(connection)
    return bool(result.rowcount)


def has_right(connection: Connection, client_id: str, service_id: str) -> bool:
    row = connection.execute(
        select(access_rights.c.client_id).where(
            access_rights.c.client_id == client_id, access_rights.c.service_id == service_id
        )
    ).first()
    return row is not None


def allowed_service_ids(connection: Connection, client_id: str) -> set[str]:
    rows = connection.execute(select(access_rights.c.service_id).where(access_rights.c.client_id == client_id))
    return {row.service_id for row in rows}
