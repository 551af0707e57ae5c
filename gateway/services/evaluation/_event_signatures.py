"""Each evaluation event the gateway sends is signed on its own, so that a venue can verify what a
held-open stream carries one event at a time (the stream's head is signed, its body never whole).

The signature is a detached compact JWS (RFC 7515 appendix F: `header..signature`) by the gateway's
current response-signing key (its `kid` in /.well-known/jwks.json), over the RFC 8785 canonical JSON
of the event without its `signature` member:

    {"session", "id", "kind", "data", "at", "audit_index"}   what is signed; `session` ties it to one
                                                session, `audit_index` to its audit entry
    "signature": "<b64url header>..<b64url sig>"   header {"alg", "kid", "typ": EVENT_SIGNATURE_TYPE}

`gateway.client.verify_gateway_event` checks one against the JWKS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import rfc8785

import trust

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["EVENT_SIGNATURE_TYPE", "signed_event"]

EVENT_SIGNATURE_TYPE: Final = "tongban-event+jws"


def signed_event(runtime: Runtime, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event as sent: its session named, and its detached signature."""
    body = {"session": session_id, **{key: value for key, value in event.items() if key != "signature"}}
    key = runtime.signing_key()
    header = {"alg": key.kind.jose_alg, "kid": key.kid, "typ": EVENT_SIGNATURE_TYPE}
    protected, _payload, signature = trust.sign_compact(header, rfc8785.dumps(body), key.private_key).split(".")
    return {**body, "signature": f"{protected}..{signature}"}
