"""A client that shares no code with the gateway: joserfc for the assertion, http-message-signatures
for the request signature and for checking the gateway's signed answer with keys from its JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, OKPKey
from upstream import Upstream

from gateway.registry import add_member

PROVIDER = "440300.szcredit.platform"


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, public: dict[str, Any] | None = None, private: dict[str, Any] | None = None) -> None:
        self.public, self.private = public or {}, private or {}

    def resolve_public_key(self, key_id: str) -> Any:
        return self.public.get(key_id)

    def resolve_private_key(self, key_id: str) -> Any:
        return self.private[key_id]


def self_signed_certificate_pem(private_pem: bytes, member_id: str) -> bytes:
    # The operator registers a certificate; the client only ever holds its key. The certificate
    # is made with `cryptography` here only because joserfc does not issue X.509 certificates.
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    key = serialization.load_pem_private_key(private_pem, password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
    )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest).public_bytes(serialization.Encoding.PEM)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "jose_alg", "http_alg"),
    [
        ("Ed25519", "Ed25519", algorithms.ED25519),  # RFC 9864 name
        ("Ed25519", "EdDSA", algorithms.ED25519),
        ("P-256", "ES256", algorithms.ECDSA_P256_SHA256),
    ],
)
def test_independent_client_calls_a_relayed_service_and_verifies_the_answer(
    gateway: Any, serve: Any, kind: str, jose_alg: str, http_alg: Any
) -> None:
    member_id = "442000.zsbank.frontend"
    jwk = OKPKey.generate_key("Ed25519") if kind == "Ed25519" else ECKey.generate_key("P-256")
    private_pem = jwk.as_pem(private=True)
    with gateway.runtime.database.write() as connection:
        add_member(
            connection,
            member_id,
            self_signed_certificate_pem(private_pem, member_id),
            now=gateway.runtime.clock.now(),
        )
    upstream = Upstream()
    upstream_server = serve(upstream.app)
    gateway.add_member(PROVIDER)
    service = gateway.add_service(PROVIDER, "reports", upstream_server.url)
    gateway.grant(member_id, service)

    metadata = httpx.get(gateway.url + "/.well-known/tongban", trust_env=False).json()
    now = int(time.time())
    assertion = jose_jwt.encode(
        {"alg": jose_alg, "typ": "JWT"},
        {
            "iss": member_id,
            "sub": member_id,
            "aud": metadata["gateway_id"],
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
        },
        jwk,
        algorithms=[jose_alg],
    )
    body = json.dumps({"subject_code": "91440300MA5G9ABC1X", "purpose": "loan.review"}).encode()
    request = httpx.Request(
        "POST",
        gateway.url + f"/v1/exchange/{service}/query?lang=zh",
        headers={
            "Authorization": f"Bearer {assertion}",
            "Content-Type": "application/json",
            "Content-Digest": "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":",
        },
        content=body,
    )
    HTTPMessageSigner(signature_algorithm=http_alg, key_resolver=Keys(private={member_id: private_pem})).sign(
        request,
        key_id=member_id,
        covered_component_ids=("@method", "@target-uri", "content-digest"),
        use_existing_digest=True,
    )
    with httpx.Client(trust_env=False) as client:
        response = client.send(request)
    assert response.status_code == 200, response.text
    assert json.loads(response.json()["body"]) == json.loads(body)

    key_set = KeySet.import_key_set(httpx.get(gateway.url + "/.well-known/jwks.json", trust_env=False).json())
    signature_input = response.headers["signature-input"]
    kid = signature_input.split('keyid="', 1)[1].split('"', 1)[0]
    public = key_set.get_by_kid(kid).get_op_key("verify")
    gateway_alg = {"ed25519": algorithms.ED25519, "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256}[
        metadata["algorithms"]["gateway_signature"]
    ]
    results = HTTPMessageVerifier(signature_algorithm=gateway_alg, key_resolver=Keys(public={kid: public})).verify(
        response, require_components=("@status", "content-digest"), body=response.content
    )
    assert results[0].parameters["keyid"] == kid

    tampered = httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content + b" ",
        request=response.request,
    )
    with pytest.raises(Exception):  # noqa: B017 - the library's own error type is what it is
        HTTPMessageVerifier(signature_algorithm=gateway_alg, key_resolver=Keys(public={kid: public})).verify(
            tampered, require_components=("@status", "content-digest"), body=tampered.content
        )
