"""Signed trust lists: signature by the pinned operator, sequence, status history, and the fail-closed store."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from trust._errors import InvalidCertificate, TrustError
from trust._jwk import b64url, b64url_decode
from trust._pki import issue_certificate
from trust._trustlist import (
    REJECTION_REASONS,
    ServiceStatus,
    TrustList,
    TrustListExpired,
    TrustListInvalid,
    TrustLists,
    TrustListSource,
    TrustListUnavailable,
    TrustService,
    parse_trust_list,
    sign_trust_list,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CITY = "440300"
URL = "http://127.0.0.1:9/pki/trust-list.jws"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _operator(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(
        _name(common_name), key, None, not_before=NOW - timedelta(days=365), not_after=NOW + timedelta(days=365)
    )
    return key, certificate.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def operator() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    return _operator("深圳市信任列表运营者")


@pytest.fixture(scope="module")
def other_operator() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    return _operator("中山市信任列表运营者")


@pytest.fixture(scope="module")
def trust_list(operator: tuple[ec.EllipticCurvePrivateKey, bytes]) -> TrustList:
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer = issue_certificate(
        _name("深圳市市场监督管理局"),
        issuer_key,
        None,
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=30),
    )
    service = TrustService(
        "深圳市市场监督管理局",
        "licence-issuer",
        "440300.szamr.licence",
        (issuer.public_bytes(Encoding.DER),),
        (ServiceStatus("granted", NOW - timedelta(days=30)), ServiceStatus("withdrawn", NOW - timedelta(days=2))),
    )
    return TrustList("深圳市政务服务数据管理局", CITY, 5, NOW - timedelta(hours=1), NOW + timedelta(days=1), (service,))


def _resign(signed: bytes, payload: dict[str, object], key: ec.EllipticCurvePrivateKey) -> bytes:
    """The same header, another payload, a valid signature by `key`: what a forger with a key would send."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header_part = signed.split(b".")[0].decode()
    signing_input = f"{header_part}.{b64url(rfc8785.dumps(payload))}".encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return signing_input + b"." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")).encode()


def test_a_signed_list_parses_back_to_itself(trust_list: TrustList, operator: tuple) -> None:
    key, certificate = operator
    signed = sign_trust_list(trust_list, key, certificate)
    assert parse_trust_list(signed, certificate, city=CITY) == trust_list
    header = json.loads(b64url_decode(signed.split(b".")[0].decode()))
    assert header["alg"] == "ES256" and header["x5c"] == [base64.b64encode(certificate).decode()]


def test_a_list_signed_by_another_operator_is_refused(
    trust_list: TrustList, operator: tuple, other_operator: tuple
) -> None:
    other_key, other_certificate = other_operator
    signed = sign_trust_list(trust_list, other_key, other_certificate)
    with pytest.raises(TrustListInvalid, match="another operator"):
        parse_trust_list(signed, operator[1])


def test_a_list_naming_the_operator_but_signed_with_another_key_is_refused(
    trust_list: TrustList, operator: tuple, other_operator: tuple
) -> None:
    signed = sign_trust_list(trust_list, other_operator[0], operator[1])  # x5c says the right operator
    with pytest.raises(TrustListInvalid, match="does not verify"):
        parse_trust_list(signed, operator[1])


def test_a_tampered_list_is_refused(trust_list: TrustList, operator: tuple) -> None:
    signed = sign_trust_list(trust_list, *operator)
    header, payload, signature = signed.split(b".")
    document = json.loads(b64url_decode(payload.decode()))
    document["services"][0]["history"] = document["services"][0]["history"][:1]  # hide the withdrawal
    forged = b".".join([header, b64url(rfc8785.dumps(document)).encode(), signature])
    with pytest.raises(TrustListInvalid, match="does not verify"):
        parse_trust_list(forged, operator[1])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_changing_any_character_of_the_jws_is_refused(data: st.DataObject) -> None:
    key, certificate = _MODULE_OPERATOR
    signed = sign_trust_list(_MODULE_LIST, key, certificate)
    position = data.draw(st.integers(0, len(signed) - 1))
    replacement = data.draw(st.sampled_from(b"AQgw-_.x0"))
    tampered = signed[:position] + bytes([replacement]) + signed[position + 1 :]
    if tampered == signed:
        return
    with pytest.raises(TrustListInvalid):
        parse_trust_list(tampered, certificate)


_MODULE_OPERATOR = _operator("hypothesis operator")
_MODULE_LIST = TrustList(
    "operator",
    CITY,
    1,
    NOW,
    NOW + timedelta(days=1),
    (
        TrustService(
            "ca",
            "ca",
            "440300.szca.pki",
            (_MODULE_OPERATOR[1],),
            (ServiceStatus("granted", NOW - timedelta(days=1)),),
        ),
    ),
)


def test_sequence_going_backwards_is_refused(trust_list: TrustList, operator: tuple) -> None:
    older = sign_trust_list(replace(trust_list, sequence=4), *operator)
    with pytest.raises(TrustListInvalid, match="backwards"):
        parse_trust_list(older, operator[1], previous=trust_list)
    same_number_other_content = sign_trust_list(replace(trust_list, next_update=NOW + timedelta(days=2)), *operator)
    with pytest.raises(TrustListInvalid, match="re-used"):
        parse_trust_list(same_number_other_content, operator[1], previous=trust_list)
    assert parse_trust_list(sign_trust_list(trust_list, *operator), operator[1], previous=trust_list) == trust_list
    newer = replace(trust_list, sequence=6)
    assert parse_trust_list(sign_trust_list(newer, *operator), operator[1], previous=trust_list) == newer


def test_a_list_of_another_city_is_refused(trust_list: TrustList, operator: tuple) -> None:
    signed = sign_trust_list(trust_list, *operator)
    with pytest.raises(TrustListInvalid, match="expected 442000"):
        parse_trust_list(signed, operator[1], city="442000")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda doc: doc["services"][0].update(type="astrologer"), "unknown service type"),
        (lambda doc: doc["services"][0].update(party_id="szamr"), "party id"),
        (lambda doc: doc["services"][0]["history"].reverse(), "time order"),
        (lambda doc: doc["services"][0]["history"][0].update(status="maybe"), "status must be"),
        (lambda doc: doc["services"][0].update(certificates=["bm90IGEgY2VydA=="]), "not base64 DER"),
        (lambda doc: doc.update(next_update=doc["issued_at"]), "next_update must come after"),
        (lambda doc: doc.update(issued_at="2026-12-01T08:00:00"), "without offset"),
        (lambda doc: doc.pop("sequence"), "malformed"),
        (lambda doc: doc["scheme_operator"].update(city="Shenzhen"), "GB/T 2260"),
    ],
)
def test_malformed_lists_are_refused_even_when_signed(trust_list: TrustList, operator: tuple, change, message) -> None:
    document = trust_list.to_json()
    change(document)
    signed = _resign(sign_trust_list(trust_list, *operator), document, operator[0])
    with pytest.raises(TrustListInvalid, match=message):
        parse_trust_list(signed, operator[1])


def test_garbage_is_refused(operator: tuple) -> None:
    for data in (b"", b"not a jws", b"a.b.c", "中.文.字".encode()):
        with pytest.raises(TrustListInvalid):
            parse_trust_list(data, operator[1])


def test_status_at_follows_the_history(trust_list: TrustList) -> None:
    service = trust_list.services[0]
    assert service.status_at(NOW - timedelta(days=31)) is None  # not yet listed
    granted = service.status_at(NOW - timedelta(days=3))
    assert granted is not None and granted.status == "granted" and granted.since == NOW - timedelta(days=30)
    withdrawn = service.status_at(NOW)
    assert withdrawn is not None and withdrawn.status == "withdrawn" and withdrawn.since == NOW - timedelta(days=2)
    exactly = service.status_at(NOW - timedelta(days=2))
    assert exactly is not None and exactly.status == "withdrawn"


class Server:
    """What the injected fetch reaches: the bytes currently published, or an outage."""

    def __init__(self) -> None:
        self.published: dict[str, bytes] = {}
        self.down = False
        self.calls = 0

    async def fetch(self, url: str) -> bytes:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")
        return self.published[url]


def test_refresh_keeps_the_last_good_list(
    trust_list: TrustList, operator: tuple, other_operator: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    lists = TrustLists([TrustListSource(CITY, URL, operator[1])])
    server = Server()
    server.published[URL] = sign_trust_list(trust_list, *operator)
    (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    assert (result.outcome, result.sequence) == ("accepted", 5)
    assert lists.list_for(CITY, NOW) == trust_list

    (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    assert result.outcome == "unchanged"

    server.down = True
    with caplog.at_level("WARNING", logger="tongban.trust.trustlist"):
        (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    # The detail is shown on a public endpoint: a fixed phrase; the fetcher's words go to the log.
    assert (result.outcome, result.detail) == ("fetch_failed", "fetch failed")
    assert any("ConnectionError: connection refused" in record.getMessage() for record in caplog.records)
    assert lists.list_for(CITY, NOW) == trust_list

    server.down = False
    server.published[URL] = sign_trust_list(replace(trust_list, sequence=6), *other_operator)
    (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    assert (result.outcome, result.detail, result.sequence) == ("rejected", "signed by another operator", 5)
    assert lists.list_for(CITY, NOW) == trust_list

    server.published[URL] = sign_trust_list(replace(trust_list, sequence=6), other_operator[0], operator[1])
    (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    assert (result.outcome, result.detail) == ("rejected", "bad signature")

    server.published[URL] = sign_trust_list(replace(trust_list, sequence=3), *operator)  # a replayed old list
    caplog.clear()
    with caplog.at_level("WARNING", logger="tongban.trust.trustlist"):
        (result,) = asyncio.run(lists.refresh(server.fetch, now=NOW))
    assert (result.outcome, result.detail) == ("rejected", "sequence went backwards")
    assert any("3 after 5" in record.getMessage() for record in caplog.records)
    assert lists.list_for(CITY, NOW).sequence == 5

    snapshot = lists.snapshot(NOW)["cities"][CITY]
    assert snapshot["sequence"] == 5 and snapshot["state"] == "current"
    assert snapshot["last_refresh"]["outcome"] == "rejected"
    assert snapshot["next_update"] == "2026-12-02T08:00:00Z"


def test_a_list_from_the_future_is_refused(trust_list: TrustList, operator: tuple) -> None:
    lists = TrustLists([TrustListSource(CITY, URL, operator[1])])
    future = replace(trust_list, issued_at=NOW + timedelta(hours=1), next_update=NOW + timedelta(days=2))
    with pytest.raises(TrustListInvalid, match="future"):
        lists.accept(CITY, sign_trust_list(future, *operator), now=NOW)


def test_lookups_fail_closed(trust_list: TrustList, operator: tuple) -> None:
    lists = TrustLists([TrustListSource(CITY, URL, operator[1]), TrustListSource("442000", URL + "?zs", operator[1])])
    with pytest.raises(TrustListUnavailable) as unavailable:
        lists.list_for(CITY, NOW)
    assert unavailable.value.city == CITY
    lists.accept(CITY, sign_trust_list(trust_list, *operator), now=NOW)
    assert lists.list_for(CITY, trust_list.next_update - timedelta(seconds=1)) == trust_list
    with pytest.raises(TrustListExpired) as expired:
        lists.list_for(CITY, trust_list.next_update)
    assert (expired.value.city, expired.value.next_update) == (CITY, trust_list.next_update)
    assert isinstance(expired.value, TrustError)
    with pytest.raises(TrustListUnavailable):
        lists.list_for("150100", NOW)  # not configured at all
    snapshot = lists.snapshot(trust_list.next_update)["cities"]
    assert snapshot[CITY]["state"] == "expired" and snapshot["442000"]["state"] == "unavailable"


def test_a_misconfigured_operator_certificate_fails_at_start_up() -> None:
    with pytest.raises(InvalidCertificate, match="440300"):
        TrustLists([TrustListSource(CITY, URL, b"-----BEGIN CERTIFICATE-----")])


def test_refusals_name_a_fixed_reason(trust_list: TrustList, operator: tuple) -> None:
    refusals = {
        "malformed": b"not a jws",
        "wrong city": sign_trust_list(replace(trust_list, city="442000"), *operator),
        "issued in the future": sign_trust_list(
            replace(trust_list, sequence=9, issued_at=NOW + timedelta(hours=1), next_update=NOW + timedelta(days=2)),
            *operator,
        ),
    }
    for reason, data in refusals.items():
        lists = TrustLists([TrustListSource(CITY, URL, operator[1])])
        with pytest.raises(TrustListInvalid) as refused:
            lists.accept(CITY, data, now=NOW)
        assert refused.value.reason == reason and reason in REJECTION_REASONS


def test_an_accepted_list_already_past_its_next_update_says_so(trust_list: TrustList, operator: tuple) -> None:
    lists = TrustLists([TrustListSource(CITY, URL, operator[1])])
    server = Server()
    server.published[URL] = sign_trust_list(trust_list, *operator)
    (result,) = asyncio.run(lists.refresh(server.fetch, now=trust_list.next_update))
    assert (result.outcome, result.detail) == ("accepted", "sequence 5, expired")
    with pytest.raises(TrustListExpired):
        lists.list_for(CITY, trust_list.next_update)


def test_a_city_whose_fetch_hangs_does_not_hold_up_the_others(trust_list: TrustList, operator: tuple) -> None:
    hanging = "http://127.0.0.1:9/hangs.jws"
    lists = TrustLists([TrustListSource(CITY, URL, operator[1]), TrustListSource("442000", hanging, operator[1])])
    published = {URL: sign_trust_list(trust_list, *operator)}

    async def fetch(url: str) -> bytes:
        if url == hanging:
            await asyncio.Event().wait()  # never answers
        return published[url]

    results = asyncio.run(lists.refresh(fetch, now=NOW, fetch_timeout_seconds=0.05))
    outcomes = {result.city: (result.outcome, result.detail) for result in results}
    assert outcomes == {CITY: ("accepted", "sequence 5"), "442000": ("fetch_failed", "fetch timed out")}
    assert lists.snapshot(NOW)["cities"]["442000"]["last_refresh"]["detail"] == "fetch timed out"
