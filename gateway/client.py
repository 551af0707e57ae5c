"""A member's side of the contract: client assertions, signed requests, verifying the gateway's answers.

Used by `tongban token` and `tongban call`, by the demo and by tests; the gateway core never imports it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from trust import (
    RequestView,
    ResponseView,
    b64url,
    b64url_decode,
    content_digest,
    key_kind,
    self_signed_certificate,
    sign_message,
    signature_parameters,
    verify_message,
)

__all__ = [
    "GATEWAY_RESPONSE_COMPONENTS",
    "GatewayUnreachable",
    "MemberCredentials",
    "NotAGateway",
    "gateway_info",
    "make_member_certificate",
    "public_key_from_jwk",
    "reaching_gateway",
    "verify_gateway_event",
    "verify_gateway_response",
    "verify_gateway_stream_head",
]

GATEWAY_RESPONSE_COMPONENTS = ("@status", "content-digest", "x-tongban-exchange-id")
GATEWAY_STREAM_HEAD_COMPONENTS = ("@status", "x-tongban-exchange-id")
EVENT_SIGNATURE_TYPE = "tongban-event+jws"
_WHAT_TO_CHECK = "is the gateway running (`make run`, or `tongban serve`), and on that port?"


class GatewayUnreachable(ConnectionError):
    """Nothing answered at the gateway's URL; the message says what was tried and what to check."""


class NotAGateway(ConnectionError):
    """Something answered at the URL, but not as a Tongban gateway (a sandbox, another service)."""


def _origin(url: str | httpx.URL) -> str:
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode('ascii')}" if parts.scheme and parts.host else str(url)


@contextmanager
def reaching_gateway(url: str) -> Iterator[None]:
    """httpx's transport errors, in one sentence naming the URL tried and what to check: the one
    place where a member's side translates them (an HTTP answer, whatever its status, is no error)."""
    try:
        yield
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise GatewayUnreachable(f"{url!r} is not a gateway URL ({exc}); give it as http://HOST:PORT/...") from exc
    except httpx.ConnectError as exc:
        reason = str(exc).rpartition("] ")[2] or "connection failed"
        raise GatewayUnreachable(f"no gateway answers at {_origin(url)} ({reason.lower()}); {_WHAT_TO_CHECK}") from exc
    except httpx.TimeoutException as exc:
        raise GatewayUnreachable(f"{_origin(url)} did not answer in time; {_WHAT_TO_CHECK}") from exc
    except httpx.TransportError as exc:  # a protocol error, a URL without http(s)://
        raise GatewayUnreachable(f"{url}: {exc or type(exc).__name__}; is that the gateway's URL?") from exc


def gateway_info(http: httpx.Client, base_url: str) -> dict[str, Any]:
    """The gateway's /.well-known/tongban (its gateway_id is the JWT audience).

    Raises GatewayUnreachable when nothing answers at base_url, NotAGateway when something else does."""
    with reaching_gateway(base_url):
        response = http.get(base_url.rstrip("/") + "/.well-known/tongban")
    try:
        info = response.json() if response.status_code == 200 else None
    except ValueError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("gateway_id"), str):
        answer = f"HTTP {response.status_code}" + (", not the gateway's JSON" if response.status_code == 200 else "")
        raise NotAGateway(
            f"{base_url.rstrip('/')} answers, but not as a Tongban gateway (GET /.well-known/tongban: {answer}); "
            "is that the gateway's port? (`make run` serves the gateway on 8080 or $PORT, the sandboxes on 8081-8083)"
        )
    return info


@dataclass(frozen=True)
class MemberCredentials:
    """A member id and the private key of its registered certificate."""

    member_id: str
    private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def from_pem_file(cls, member_id: str, path: Path) -> MemberCredentials:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: use an Ed25519 or ECDSA P-256 key")
        return cls(member_id, key)

    def client_assertion(self, audience: str, *, now: datetime | None = None, lifetime: int = 120) -> str:
        issued = int((now or datetime.now(UTC)).timestamp())
        claims = {
            "iss": self.member_id,
            "sub": self.member_id,
            "aud": audience,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": secrets.token_urlsafe(18),
        }
        return jwt.encode(claims, self.private_key, algorithm=key_kind(self.private_key).jose_alg)

    def signed_headers(
        self,
        method: str,
        url: str,
        body: bytes,
        *,
        audience: str,
        headers: dict[str, str] | None = None,
        now: datetime | None = None,
    ) -> httpx.Headers:
        """Authorization, Content-Digest and (for writes, or always when asked) an RFC 9421 signature."""
        now = now or datetime.now(UTC)
        out = httpx.Headers(headers or {})
        out["authorization"] = f"Bearer {self.client_assertion(audience, now=now)}"
        out["content-digest"] = content_digest(body)
        view = RequestView(method.upper(), url, out)
        sign_message(
            view,
            private_key=self.private_key,
            keyid=self.member_id,
            components=("@method", "@target-uri", "content-digest"),
            created=now,
            label="member",
        )
        return view.headers


def public_key_from_jwk(jwk: dict[str, Any]) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        x = int.from_bytes(b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(b64url_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raise ValueError(f"unsupported JWK {jwk.get('kty')}/{jwk.get('crv')}")


def verify_gateway_response(response: httpx.Response, jwks: dict[str, Any], *, max_age: int = 300) -> str:
    """Raise unless the gateway's signature on this response verifies; return the key id that signed."""
    parameters = signature_parameters(response.headers)
    if "tongban" not in parameters:
        raise ValueError("the response carries no gateway signature")
    keyid = parameters["tongban"].get("keyid")
    if not isinstance(keyid, str):
        raise ValueError("the gateway signature has no keyid")
    jwk = next((key for key in jwks.get("keys", []) if key.get("kid") == keyid), None)
    if jwk is None:
        raise ValueError(f"key {keyid} is not in the gateway's JWKS")
    verify_message(
        ResponseView(response.status_code, response.headers),
        keyid=keyid,
        public_key=public_key_from_jwk(jwk),
        required_components=GATEWAY_RESPONSE_COMPONENTS,
        now=datetime.now(UTC),
        max_age=timedelta(seconds=max_age),
        body=response.content,
    )
    return str(keyid)


def verify_gateway_stream_head(status: int, headers: httpx.Headers, jwks: dict[str, Any], *, max_age: int = 300) -> str:
    """Raise unless the gateway's signature on a streamed answer's head (SSE, or a WebSocket
    handshake's 101) verifies; it covers no body, whose events are signed one by one."""
    parameters = signature_parameters(headers)
    keyid = parameters.get("tongban", {}).get("keyid")
    jwk = next((key for key in jwks.get("keys", []) if key.get("kid") == keyid), None)
    if not isinstance(keyid, str) or jwk is None:
        raise ValueError("the stream's head carries no signature by a key in the gateway's JWKS")
    verify_message(
        ResponseView(status, headers),
        keyid=keyid,
        public_key=public_key_from_jwk(jwk),
        required_components=GATEWAY_STREAM_HEAD_COMPONENTS,
        now=datetime.now(UTC),
        max_age=timedelta(seconds=max_age),
    )
    return keyid


def verify_gateway_event(event: dict[str, Any], jwks: dict[str, Any]) -> str:
    """Raise ValueError unless the event's detached JWS (RFC 7515 appendix F) by a key of the
    gateway's JWKS holds over the RFC 8785 JSON of the event without `signature`; the key id."""
    try:
        protected, empty, signature = str(event["signature"]).split(".")
        header = json.loads(b64url_decode(protected))
        signature_bytes = b64url_decode(signature)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError("the event carries no well-formed detached signature") from exc
    if empty or header.get("typ") != EVENT_SIGNATURE_TYPE or not isinstance(header, dict):
        raise ValueError("the event's signature is not a detached gateway event signature")
    jwk = next((key for key in jwks.get("keys", []) if key.get("kid") == header.get("kid")), None)
    if jwk is None:
        raise ValueError(f"key {header.get('kid')} is not in the gateway's JWKS")
    public_key = public_key_from_jwk(jwk)
    if header.get("alg") != key_kind(public_key).jose_alg:
        raise ValueError("the event's signature names another algorithm than its key's")
    payload = rfc8785.dumps({key: value for key, value in event.items() if key != "signature"})
    signing_input = f"{protected}.{b64url(payload)}".encode("ascii")
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature_bytes, signing_input)
        else:
            if len(signature_bytes) != 64:
                raise InvalidSignature
            der = encode_dss_signature(int.from_bytes(signature_bytes[:32]), int.from_bytes(signature_bytes[32:]))
            public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ValueError("the event's signature does not verify") from exc
    return str(header["kid"])


def make_member_certificate(
    member_id: str, *, algorithm: str = "ed25519", days: int = 365, now: datetime | None = None
) -> tuple[bytes, bytes]:
    """A new private key and a self-signed certificate for a member: (key PEM, cert PEM).

    For the sandbox, trying things out and tests; real members bring certificates from their CA.
    """
    now = now or datetime.now(UTC)
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ecdsa-p256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "rsa":  # for SOAP members: WS-Security takes RSA or P-256, not Ed25519
        key = rsa.generate_private_key(65537, 2048)
    else:
        raise ValueError("algorithm must be ed25519, ecdsa-p256 or rsa")
    certificate = self_signed_certificate(key, member_id, now=now, days=days)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)
