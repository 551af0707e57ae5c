"""The member registry: one key belongs to one member, since the SOAP face finds callers by key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from sqlalchemy import Connection

from gateway.client import make_member_certificate
from gateway.errors import AlreadyRegistered, Conflict
from gateway.registry import add_member, find_member_by_key, list_members
from gateway.storage import Database
from trust import self_signed_certificate

NOW = datetime(2026, 3, 1, tzinfo=UTC)
FIRST = "442000.zsgov.window"
SECOND = "440300.szgov.window"


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    database = Database(database_url)
    database.migrate()
    try:
        with database.write() as connection:
            yield connection
    finally:
        database.dispose()


def test_a_key_registered_to_one_member_is_refused_for_another_naming_the_holder(connection: Connection) -> None:
    _key, cert = make_member_certificate(FIRST)
    first = add_member(connection, FIRST, cert, now=NOW)
    with pytest.raises(AlreadyRegistered) as refused:
        add_member(connection, SECOND, cert, now=NOW)
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert f"already registered to member {FIRST}" in refused.value.detail
    assert [member.id for member in list_members(connection)] == [FIRST]
    assert find_member_by_key(connection, first.certificate.key_thumbprint) == first


def test_another_certificate_for_the_same_key_is_refused_too(connection: Connection) -> None:
    key_pem, cert = make_member_certificate(FIRST)
    add_member(connection, FIRST, cert, now=NOW)
    key = load_pem_private_key(key_pem, password=None)
    reissued = self_signed_certificate(key, SECOND, now=NOW).public_bytes(Encoding.PEM)  # type: ignore[arg-type]
    with pytest.raises(AlreadyRegistered, match=FIRST):
        add_member(connection, SECOND, reissued, now=NOW)


def test_replacing_a_certificate_with_another_members_key_is_refused(connection: Connection) -> None:
    _key, first_cert = make_member_certificate(FIRST)
    _key, second_cert = make_member_certificate(SECOND)
    add_member(connection, FIRST, first_cert, now=NOW)
    add_member(connection, SECOND, second_cert, now=NOW)
    with pytest.raises(AlreadyRegistered, match=FIRST):
        add_member(connection, SECOND, first_cert, now=NOW, replace=True)


def test_a_member_may_be_registered_again_with_its_own_key(connection: Connection) -> None:
    _key, cert = make_member_certificate(FIRST)
    add_member(connection, FIRST, cert, now=NOW)
    again = add_member(connection, FIRST, cert, now=NOW, replace=True)
    assert again.id == FIRST
    with pytest.raises(AlreadyRegistered, match="use --replace"):
        add_member(connection, FIRST, cert, now=NOW)


def test_the_contracts_credit_report_right_grants_the_credit_services_query_right(connection: Connection) -> None:
    """CONTRACT.md names `credit.report` as a gateway operation `access grant` takes: it is stored as
    the credit service's `credit.query`, and revoked by either name."""
    from gateway.registry import grant, has_right, revoke

    _key, cert = make_member_certificate(FIRST)
    add_member(connection, FIRST, cert, now=NOW)
    assert grant(connection, FIRST, "credit.report", now=NOW)
    assert has_right(connection, FIRST, "credit.query")
    assert not grant(connection, FIRST, "credit.query", now=NOW)  # the same right
    assert revoke(connection, FIRST, "credit.report")
    assert not has_right(connection, FIRST, "credit.query")
