"""JWS licence credentials: round trips, joserfc interop both ways, every refusal, and random tampering."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey
from joserfc.registry import HeaderParameter

from trust._errors import UnsupportedKey
from trust._jws import examine_jws, sign_jws_credential
from trust._report import Indication, SignatureFailure, SubIndication

NOW = datetime(2026, 3, 1, 8, 0, 7, 123456, tzinfo=UTC)
CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential", "BusinessLicenceCredential"],
    "issuer": "did:web:amr.sz.gov.cn",
    "validFrom": "2026-03-01T00:00:00Z",
    "credentialSubject": {"id": "urn:uscc:91440300MA5XXXXX0X", "name": "深圳市示例科技有限公司"},
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> bytes:
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, digest)
    )
    return certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class Signer:
    key: Any
    chain: list[bytes]  # leaf first, then the issuing CA


@pytest.fixture(scope="module")
def ca() -> tuple[Any, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate("Test Licence CA", key, "Test Licence CA", key, ca=True)


def _signer(ca: tuple[Any, bytes], key: Any, name: str) -> Signer:
    ca_key, ca_der = ca
    return Signer(key, [_certificate(name, key, "Test Licence CA", ca_key, ca=False), ca_der])


@pytest.fixture(scope="module")
def p256(ca: tuple[Any, bytes]) -> Signer:
    return _signer(ca, ec.generate_private_key(ec.SECP256R1()), "440300.szamr.licence")


@pytest.fixture(scope="module")
def ed(ca: tuple[Any, bytes]) -> Signer:
    return _signer(ca, ed25519.Ed25519PrivateKey.generate(), "442000.zsamr.licence")


@pytest.fixture(scope="module")
def token(p256: Signer) -> str:
    return sign_jws_credential(CREDENTIAL, p256.key, p256.chain, NOW)


def _raw_token(header: dict[str, Any], payload: bytes, key: Any) -> str:
    """A token with any header we like, correctly signed, to reach the check we mean to test."""
    signing_input = (_b64url(json.dumps(header).encode()) + "." + _b64url(payload)).encode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(signing_input)
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input.decode() + "." + _b64url(signature)


def _header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _refused(token: str | bytes, sub_indication: SubIndication) -> SignatureFailure:
    with pytest.raises(SignatureFailure) as caught:
        examine_jws(token)
    assert caught.value.sub_indication is sub_indication, str(caught.value)
    return caught.value


# ---- round trips -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("signer_name", "algorithm"), [("p256", "ES256"), ("ed", "EdDSA")])
def test_a_signed_credential_is_examined(signer_name: str, algorithm: str, request: pytest.FixtureRequest) -> None:
    signer: Signer = request.getfixturevalue(signer_name)
    token = sign_jws_credential(CREDENTIAL, signer.key, signer.chain, NOW)
    evidence = examine_jws(token)
    assert evidence.format == "JAdES/JWS"
    assert evidence.signature_algorithm == algorithm
    assert evidence.signer_certificate == signer.chain[0]
    assert evidence.certificates == (signer.chain[1],)
    assert evidence.claimed_signing_time == NOW.replace(microsecond=0)
    assert evidence.content_type == "application/json"
    assert json.loads(evidence.signed_content) == CREDENTIAL
    assert evidence.details["typ"] == "vc+jwt"
    assert examine_jws(token.encode()) == evidence


def test_the_header_names_the_signer_and_the_claimed_time(token: str, p256: Signer) -> None:
    header = _header(token)
    assert header["alg"] == "ES256"
    assert header["x5c"] == [base64.b64encode(der).decode() for der in p256.chain]
    assert header["x5t#S256"] == _b64url(hashlib.sha256(p256.chain[0]).digest())
    assert header["sigT"] == "2026-03-01T08:00:07Z"
    assert header["crit"] == ["sigT"]


def test_the_payload_is_canonical_json(p256: Signer) -> None:
    reordered = dict(reversed(list(CREDENTIAL.items())))
    first = sign_jws_credential(CREDENTIAL, p256.key, p256.chain, NOW)
    second = sign_jws_credential(reordered, p256.key, p256.chain, NOW)
    assert first.split(".")[1] == second.split(".")[1]
    payload = base64.urlsafe_b64decode(first.split(".")[1] + "==")
    assert payload == json.dumps(CREDENTIAL, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_joserfc_verifies_what_we_sign(p256: Signer, ed: Signer) -> None:
    for signer, key_class in ((p256, ECKey), (ed, OKPKey)):
        token = sign_jws_credential(CREDENTIAL, signer.key, signer.chain, NOW)
        public = key_class.import_key(x509.load_der_x509_certificate(signer.chain[0]).public_key())
        algorithm = _header(token)["alg"]
        # joserfc refuses unknown crit members unless told they are understood; sigT is JAdES's.
        registry = jws.JWSRegistry(
            header_registry={"sigT": HeaderParameter("Claimed signing time", "str")}, algorithms=[algorithm]
        )
        registry.max_header_length = 8192  # x5c holds two certificates
        compact = jws.deserialize_compact(token, public, algorithms=[algorithm], registry=registry)
        assert json.loads(compact.payload) == CREDENTIAL


def test_we_examine_what_joserfc_signs(p256: Signer) -> None:
    payload = {**CREDENTIAL, "iat": 1772352000}
    header = {"alg": "ES256", "typ": "vc+jwt", "x5c": [base64.b64encode(der).decode() for der in p256.chain]}
    token = jws.serialize_compact(header, json.dumps(payload).encode(), ECKey.import_key(p256.key))
    evidence = examine_jws(token)
    assert evidence.claimed_signing_time == datetime.fromtimestamp(1772352000, UTC)
    assert json.loads(evidence.signed_content) == payload


# ---- signing refusals ------------------------------------------------------------------------------------


def test_signing_needs_the_keys_own_certificate(p256: Signer, ed: Signer) -> None:
    with pytest.raises(ValueError, match="not the private key's"):
        sign_jws_credential(CREDENTIAL, p256.key, ed.chain, NOW)
    with pytest.raises(ValueError, match="timezone"):
        sign_jws_credential(CREDENTIAL, p256.key, p256.chain, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="at least"):
        sign_jws_credential(CREDENTIAL, p256.key, [], NOW)


def test_other_keys_are_not_used_for_signing(ca: tuple[Any, bytes]) -> None:
    for key in (rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())):
        signer = _signer(ca, key, "other")
        with pytest.raises(UnsupportedKey):
            sign_jws_credential(CREDENTIAL, key, signer.chain, NOW)  # type: ignore[arg-type]


# ---- tampering -------------------------------------------------------------------------------------------


def test_a_changed_payload_fails_the_signature(token: str) -> None:
    header, _, signature = token.split(".")
    forged = _b64url(json.dumps({**CREDENTIAL, "issuer": "did:web:evil.example"}).encode())
    failure = _refused(f"{header}.{forged}.{signature}", SubIndication.SIG_CRYPTO_FAILURE)
    assert failure.indication is Indication.TOTAL_FAILED


def test_a_changed_signature_fails(token: str) -> None:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    _refused(f"{header}.{payload}.{_b64url(bytes(raw))}", SubIndication.SIG_CRYPTO_FAILURE)
    _refused(f"{header}.{payload}.{_b64url(bytes(raw[:63]))}", SubIndication.SIG_CRYPTO_FAILURE)


def test_a_signature_by_another_key_fails(p256: Signer, ca: tuple[Any, bytes]) -> None:
    other = _signer(ca, ec.generate_private_key(ec.SECP256R1()), "impostor")
    header = _header(sign_jws_credential(CREDENTIAL, p256.key, p256.chain, NOW))
    _refused(_raw_token(header, json.dumps(CREDENTIAL).encode(), other.key), SubIndication.SIG_CRYPTO_FAILURE)


def test_the_certificate_must_be_the_one_the_header_names(p256: Signer, ed: Signer) -> None:
    header = {**_header(sign_jws_credential(CREDENTIAL, p256.key, p256.chain, NOW))}
    header["x5t#S256"] = _b64url(hashlib.sha256(ed.chain[0]).digest())
    _refused(_raw_token(header, b"{}", p256.key), SubIndication.NO_SIGNING_CERTIFICATE_FOUND)


def test_the_algorithm_must_fit_the_key(p256: Signer, ed: Signer) -> None:
    header = {"alg": "EdDSA", "x5c": [base64.b64encode(p256.chain[0]).decode()]}
    _refused(_raw_token(header, b"{}", p256.key), SubIndication.SIG_CRYPTO_FAILURE)
    header = {"alg": "ES256", "x5c": [base64.b64encode(ed.chain[0]).decode()]}
    _refused(_raw_token(header, b"{}", ed.key), SubIndication.SIG_CRYPTO_FAILURE)


def test_rsa_certificates_are_refused(ca: tuple[Any, bytes]) -> None:
    signer = _signer(ca, rsa.generate_private_key(65537, 2048), "rsa")
    header = {"alg": "ES256", "x5c": [base64.b64encode(signer.chain[0]).decode()]}
    token = _b64url(json.dumps(header).encode()) + "." + _b64url(b"{}") + "." + _b64url(b"\x00" * 64)
    _refused(token, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "RS256", "PS256", "ES384", "ES256K", "none "])
def test_algorithms_outside_the_allow_list_are_refused(algorithm: str, p256: Signer) -> None:
    header = {"alg": algorithm, "x5c": [base64.b64encode(p256.chain[0]).decode()]}
    token = _b64url(json.dumps(header).encode()) + "." + _b64url(b"{}") + "." + _b64url(b"sig")
    _refused(token, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)


def test_an_unsecured_token_is_not_a_signature(p256: Signer) -> None:
    header = {"alg": "none", "x5c": [base64.b64encode(p256.chain[0]).decode()]}
    _refused(_b64url(json.dumps(header).encode()) + "." + _b64url(b"{}") + ".", SubIndication.FORMAT_FAILURE)


# ---- malformed ------------------------------------------------------------------------------------------


def _with_header(p256: Signer, **changes: Any) -> str:
    header = {"alg": "ES256", "x5c": [base64.b64encode(p256.chain[0]).decode()], **changes}
    return _raw_token({k: v for k, v in header.items() if v is not None}, json.dumps(CREDENTIAL).encode(), p256.key)


@pytest.mark.parametrize(
    "changes",
    [
        {"x5c": None},
        {"x5c": []},
        {"x5c": "MIIB"},
        {"x5c": ["not base64!"]},
        {"x5c": [base64.b64encode(b"not a certificate").decode()]},
        {"x5c": [7]},
        {"crit": ["exp"]},
        {"crit": ["sigT"]},  # listed but absent
        {"crit": ["urn:example:unknown"], "urn:example:unknown": 1},
        {"crit": []},
        {"crit": "sigT", "sigT": "2026-03-01T08:00:00Z"},
        {"sigT": "2026-03-01 08:00:00"},
        {"sigT": "2026-02-30T08:00:00Z"},
        {"jwk": {"kty": "EC"}},
        {"jku": "https://evil.example/jwks"},
        {"x5u": "https://evil.example/cert"},
        {"b64": False, "crit": ["b64"]},
        {"typ": "JWT"},
        {"typ": 3},
        {"alg": 256},
    ],
    ids=repr,
)
def test_malformed_headers_are_format_failures(changes: dict[str, Any], p256: Signer) -> None:
    _refused(_with_header(p256, **changes), SubIndication.FORMAT_FAILURE)


def test_a_signed_header_with_sigt_in_crit_is_accepted(p256: Signer) -> None:
    evidence = examine_jws(_with_header(p256, crit=["sigT"], sigT="2026-03-01T08:00:00Z", typ="application/vc+jwt"))
    assert evidence.claimed_signing_time == datetime(2026, 3, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30",
        "e30=.e30.AAAA",  # padding
        "e3 0.e30.AAAA",
        "e30+.e30.AAAA",  # standard base64, not base64url
        "e31.e30.AAAA",  # stray bits: decodes like e30
        "WzFd.e30.AAAA",  # header is a list
        "bm90IGpzb24.e30.AAAA",  # header is not JSON
        _b64url(b'{"alg":"ES256","alg":"none"}') + ".e30.AAAA",  # duplicate member
        _b64url(b"\xff\xfe{}") + ".e30.AAAA",
    ],
    ids=repr,
)
def test_malformed_tokens_are_format_failures(token: str) -> None:
    _refused(token, SubIndication.FORMAT_FAILURE)


def test_the_payload_must_be_a_json_object(p256: Signer) -> None:
    header = {"alg": "ES256", "x5c": [base64.b64encode(p256.chain[0]).decode()]}
    for payload in (b"[1]", b"not json", b'{"a":1,"a":2}'):
        _refused(_raw_token(header, payload, p256.key), SubIndication.FORMAT_FAILURE)


def test_non_ascii_and_oversized_tokens_are_format_failures(token: str) -> None:
    _refused(token.encode() + "é".encode(), SubIndication.FORMAT_FAILURE)
    with pytest.raises(SignatureFailure):
        examine_jws(token, max_bytes=100)
    with pytest.raises(TypeError):
        examine_jws(123)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_byte_is_a_signature_failure(token: str, data: st.DataObject) -> None:
    raw = bytearray(token.encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(SignatureFailure):
        examine_jws(bytes(raw))
