"""Bitstring Status List: the encoding (spec vector, bit order, bombs), list credentials and status checks."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from trust._jws import examine_jws, sign_jws_credential
from trust._report import Indication, SignatureEvidence, SignatureFailure, SubIndication
from trust._status_list import (
    MIN_STATUS_LIST_BITS,
    check_credential_status,
    decode_status_list,
    encode_status_list,
    make_status_list_credential,
    new_status_bitstring,
    read_status_bit,
    set_status_bit,
    status_list_entry,
)

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ISSUER = "did:web:amr.sz.gov.cn"
REVOCATION_URL = "https://licences.sz.example/status/1"
SUSPENSION_URL = "https://licences.sz.example/status/2"
# The all-zero 16 KiB list of the specification's examples (Bitstring Status List v1.0, §2.2).
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _self_signed(key: Any, name: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, digest)
        .public_bytes(Encoding.DER)
    )


class Issuer:
    def __init__(self, key: Any, name: str) -> None:
        self.key = key
        self.chain = [_self_signed(key, name)]

    def credential(self, *entries: dict[str, str], issuer: str = ISSUER) -> tuple[dict[str, Any], bytes]:
        payload = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": {"id": issuer, "name": "深圳市市场监督管理局"},
            "credentialSubject": {"id": "urn:uscc:91440300MA5XXXXX0X"},
            "credentialStatus": list(entries) if len(entries) != 1 else entries[0],
        }
        evidence = examine_jws(sign_jws_credential(payload, self.key, self.chain, NOW))
        return json.loads(evidence.signed_content), evidence.signer_certificate

    def status_list(self, url: str, purpose: str, *set_bits: int, **overrides: Any) -> bytes:
        bitstring = new_status_bitstring()
        for index in set_bits:
            set_status_bit(bitstring, index, True)
        arguments: dict[str, Any] = {
            "list_url": url,
            "issuer": ISSUER,
            "status_purpose": purpose,
            "bitstring": bitstring,
            "private_key": self.key,
            "certificate_chain": self.chain,
            "valid_from": NOW - timedelta(hours=1),
            "valid_until": NOW + timedelta(hours=1),
            **overrides,
        }
        return make_status_list_credential(**arguments).encode()


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer(ec.generate_private_key(ec.SECP256R1()), "440300.szamr.licence")


@pytest.fixture(scope="module")
def other_issuer() -> Issuer:
    return Issuer(ed25519.Ed25519PrivateKey.generate(), "442000.zsamr.licence")


class Server:
    """A fetcher over a dict of URL -> document, counting requests."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.requests: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.requests.append(url)
        return self.documents[url]


def _check(payload: dict[str, Any], fetch: Callable[[str], Any], signer: bytes, **options: Any) -> str:
    return asyncio.run(check_credential_status(payload, fetch, now=NOW, signer_certificate=signer, **options))


def _refused(sub_indication: SubIndication, payload: dict[str, Any], fetch: Any, signer: bytes, **options: Any) -> str:
    with pytest.raises(SignatureFailure) as caught:
        _check(payload, fetch, signer, **options)
    assert caught.value.sub_indication is sub_indication, str(caught.value)
    return str(caught.value)


# ---- the encoding ----------------------------------------------------------------------------------------


def test_the_specifications_example_list_decodes_to_16_kib_of_zeros() -> None:
    assert decode_status_list(SPEC_EMPTY_LIST) == bytes(16 * 1024)


def test_index_zero_is_the_left_most_bit() -> None:
    bitstring = new_status_bitstring()
    set_status_bit(bitstring, 0, True)
    set_status_bit(bitstring, 15, True)
    assert bitstring[:2] == b"\x80\x01"
    decoded = decode_status_list(encode_status_list(bitstring))
    assert [read_status_bit(decoded, i) for i in range(16)] == [True] + [False] * 14 + [True]
    set_status_bit(bitstring, 0, False)
    assert bitstring[0] == 0


def test_the_encoding_is_gzip_in_multibase_base64url() -> None:
    bitstring = new_status_bitstring()
    set_status_bit(bitstring, 94567, True)
    encoded = encode_status_list(bitstring)
    assert encoded.startswith("u") and "=" not in encoded
    assert gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "==")) == bytes(bitstring)
    assert encode_status_list(bitstring) == encoded  # reproducible: no time in the GZIP header


@given(st.sets(st.integers(0, MIN_STATUS_LIST_BITS - 1), max_size=50))
def test_bits_survive_the_round_trip(indexes: set[int]) -> None:
    bitstring = new_status_bitstring()
    for index in indexes:
        set_status_bit(bitstring, index, True)
    decoded = decode_status_list(encode_status_list(bitstring))
    set_bits = {
        bit
        for position, byte in enumerate(decoded)
        if byte
        for bit in range(position * 8, position * 8 + 8)
        if read_status_bit(decoded, bit)
    }
    assert set_bits == indexes


def test_lists_are_at_least_16_kib() -> None:
    with pytest.raises(ValueError):
        new_status_bitstring(1000)
    with pytest.raises(ValueError):
        encode_status_list(bytes(100))
    with pytest.raises(IndexError):
        read_status_bit(new_status_bitstring(), MIN_STATUS_LIST_BITS)
    with pytest.raises(IndexError):
        set_status_bit(new_status_bitstring(), -1, True)


def _gzip_b64(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(data)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "encoded",
    [
        SPEC_EMPTY_LIST[1:],  # no multibase prefix
        "z" + SPEC_EMPTY_LIST[1:],
        "u" + base64.b64encode(gzip.compress(bytes(16384))).decode(),  # padded standard base64
        "uAAAA",
        "u" + base64.urlsafe_b64encode(b"not gzip at all").rstrip(b"=").decode(),
        _gzip_b64(bytes(1000)),  # too short
        _gzip_b64(bytes(16384)) + "AAAA",  # trailing data
        "u" + base64.urlsafe_b64encode(gzip.compress(bytes(16384))[:-6]).rstrip(b"=").decode(),  # truncated
        42,
    ],
    ids=repr,
)
def test_malformed_lists_are_format_failures(encoded: Any) -> None:
    with pytest.raises(SignatureFailure) as caught:
        decode_status_list(encoded)
    assert caught.value.sub_indication is SubIndication.FORMAT_FAILURE


def test_a_compression_bomb_is_refused_without_inflating_it() -> None:
    with pytest.raises(SignatureFailure, match="inflates"):
        decode_status_list(_gzip_b64(bytes(10 * 1024 * 1024)), max_bytes=1024 * 1024)


# ---- status checks ---------------------------------------------------------------------------------------


def test_a_credential_that_is_not_listed_is_valid(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 94567, "revocation"))
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", 94566, 94568)})
    assert _check(payload, server, signer) == "valid"


def test_a_revoked_credential_is_revoked(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 94567, "revocation"))
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", 94567)})
    assert _check(payload, server, signer) == "revoked"


def test_suspension_and_revocation_lists_are_read_together(issuer: Issuer) -> None:
    payload, signer = issuer.credential(
        status_list_entry(REVOCATION_URL, 7, "revocation"), status_list_entry(SUSPENSION_URL, 7, "suspension")
    )
    suspended = {
        REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation"),
        SUSPENSION_URL: issuer.status_list(SUSPENSION_URL, "suspension", 7),
    }
    assert _check(payload, Server(suspended), signer) == "suspended"
    both = {**suspended, REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", 7)}
    assert _check(payload, Server(both), signer) == "revoked"


def test_the_examined_credential_can_be_passed_as_it_is(issuer: Issuer) -> None:
    payload = {
        "issuer": ISSUER,
        "credentialStatus": status_list_entry(REVOCATION_URL, 94567, "revocation"),
    }
    evidence = examine_jws(sign_jws_credential(payload, issuer.key, issuer.chain, NOW))
    assert evidence.details["credential_status"] == payload["credentialStatus"]
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", 94567)})
    assert asyncio.run(check_credential_status(evidence, server, now=NOW)) == "revoked"
    with pytest.raises(ValueError, match="certificate"):
        asyncio.run(check_credential_status(payload, server, now=NOW))


def test_each_list_is_fetched_once_and_async_fetchers_work(issuer: Issuer) -> None:
    document = issuer.status_list(REVOCATION_URL, "revocation", 3)
    payload, signer = issuer.credential(
        status_list_entry(REVOCATION_URL, 3, "revocation"), status_list_entry(REVOCATION_URL, 4, "revocation")
    )
    requests: list[str] = []

    async def fetch(url: str) -> bytes:
        requests.append(url)
        await asyncio.sleep(0)
        return document

    assert _check(payload, fetch, signer) == "revoked"
    assert requests == [REVOCATION_URL]


def test_an_unreachable_list_means_try_later(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))

    def unreachable(url: str) -> bytes:
        raise ConnectionError("no route to host")

    async def not_bytes(url: str) -> Awaitable[Any]:
        return None  # type: ignore[return-value]

    for fetch in (unreachable, Server({}), not_bytes):
        _refused(SubIndication.TRY_LATER, payload, fetch, signer)


def test_a_tampered_list_means_try_later(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    header, body, signature = issuer.status_list(REVOCATION_URL, "revocation", 3).decode().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["credentialSubject"]["encodedList"] = encode_status_list(new_status_bitstring())
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    message = _refused(
        SubIndication.TRY_LATER, payload, Server({REVOCATION_URL: f"{header}.{forged}.{signature}".encode()}), signer
    )
    assert "signature" in message
    with pytest.raises(SignatureFailure) as caught:
        _check(payload, Server({REVOCATION_URL: b"garbage"}), signer)
    assert caught.value.indication is Indication.INDETERMINATE


def test_a_list_by_another_signer_is_not_believed(issuer: Issuer, other_issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    server = Server({REVOCATION_URL: other_issuer.status_list(REVOCATION_URL, "revocation")})
    _refused(SubIndication.TRY_LATER, payload, server, signer)

    seen: list[SignatureEvidence] = []
    assert _check(payload, server, signer, accept_list_signer=seen.append) == "valid"
    assert seen[0].signer_certificate == other_issuer.chain[0]

    def refuse(evidence: SignatureEvidence) -> None:
        raise SignatureFailure(SubIndication.CHAIN_CONSTRAINTS_FAILURE, "not the issuer's status service")

    _refused(SubIndication.CHAIN_CONSTRAINTS_FAILURE, payload, server, signer, accept_list_signer=refuse)


def test_a_list_of_another_issuer_is_not_believed(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"), issuer="did:web:other")
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", 3)})
    _refused(SubIndication.TRY_LATER, payload, server, signer)


@pytest.mark.parametrize(
    "overrides",
    [
        {"valid_from": NOW - timedelta(days=2), "valid_until": NOW - timedelta(days=1)},
        {"valid_from": NOW + timedelta(minutes=1), "valid_until": NOW + timedelta(days=1)},
        {"list_url": SUSPENSION_URL},  # another list served at this URL
        {"valid_from": NOW - timedelta(days=8), "valid_until": None},  # open-ended and old: may be a replay
    ],
    ids=["expired", "not yet valid", "another list", "open-ended and old"],
)
def test_stale_or_substituted_lists_mean_try_later(issuer: Issuer, overrides: dict[str, Any]) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation", **overrides)})
    _refused(SubIndication.TRY_LATER, payload, server, signer)


def test_a_list_of_the_other_purpose_is_a_format_failure(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "suspension", 3)})
    _refused(SubIndication.FORMAT_FAILURE, payload, server, signer)


def test_an_index_beyond_the_list_is_a_format_failure(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, MIN_STATUS_LIST_BITS, "revocation"))
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation")})
    _refused(SubIndication.FORMAT_FAILURE, payload, server, signer)


def test_a_signed_list_with_a_malformed_encoded_list_is_a_format_failure(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    list_payload = json.loads(examine_jws(issuer.status_list(REVOCATION_URL, "revocation")).signed_content)
    list_payload["credentialSubject"]["encodedList"] = "uAAAA"
    document = sign_jws_credential(list_payload, issuer.key, issuer.chain, NOW).encode()
    _refused(SubIndication.FORMAT_FAILURE, payload, Server({REVOCATION_URL: document}), signer)


@pytest.mark.parametrize(
    "status",
    [
        None,
        "revocation",
        [7],
        {"type": "StatusList2021Entry", "statusPurpose": "revocation"},
        {**status_list_entry(REVOCATION_URL, 3, "revocation"), "statusListIndex": 3},
        {**status_list_entry(REVOCATION_URL, 3, "revocation"), "statusListIndex": "-3"},
        {**status_list_entry(REVOCATION_URL, 3, "revocation"), "statusListIndex": "3\n"},
        {**status_list_entry(REVOCATION_URL, 3, "revocation"), "statusSize": 2},
        {**status_list_entry(REVOCATION_URL, 3, "revocation"), "statusListCredential": ""},
    ],
    ids=repr,
)
def test_malformed_status_entries_are_format_failures(status: Any, issuer: Issuer) -> None:
    payload = {"issuer": ISSUER, "credentialStatus": status}
    if status is None:
        del payload["credentialStatus"]
    server = Server({REVOCATION_URL: issuer.status_list(REVOCATION_URL, "revocation")})
    _refused(SubIndication.FORMAT_FAILURE, payload, server, issuer.chain[0])
    assert server.requests == []


def test_builders_refuse_what_the_specification_does_not_allow(issuer: Issuer) -> None:
    with pytest.raises(ValueError):
        status_list_entry(REVOCATION_URL, 1, "message")
    with pytest.raises(ValueError):
        status_list_entry(REVOCATION_URL, -1, "revocation")
    with pytest.raises(ValueError):
        issuer.status_list(REVOCATION_URL, "refresh")
    with pytest.raises(ValueError):
        issuer.status_list(REVOCATION_URL, "revocation", valid_until=NOW - timedelta(days=1))
    with pytest.raises(ValueError):
        asyncio.run(check_credential_status({}, Server({}), now=NOW.replace(tzinfo=None), signer_certificate=b""))


def test_an_open_ended_list_is_believed_while_fresh(issuer: Issuer) -> None:
    payload, signer = issuer.credential(status_list_entry(REVOCATION_URL, 3, "revocation"))
    fresh = issuer.status_list(REVOCATION_URL, "revocation", 3, valid_from=NOW - timedelta(days=6), valid_until=None)
    assert _check(payload, Server({REVOCATION_URL: fresh}), signer) == "revoked"
