"""RFC 9530 Content-Digest and RFC 9421 message signatures: vectors, round trips and every refusal."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import http_sf
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from trust import (
    DigestMismatch,
    InvalidSignature,
    RequestView,
    ResponseView,
    SignatureMissing,
    SignatureOutOfTime,
    b64url_decode,
    content_digest,
    sign_message,
    verify_content_digest,
    verify_message,
)

HELLO = b'{"hello": "world"}'
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MAX_AGE = timedelta(seconds=300)
URL = "https://gateway.example/v1/applications?city=442000"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest")
RESPONSE_COMPONENTS = ("@status", "content-digest", "x-tongban-exchange-id")

# RFC 9421 appendix B.1.4 (test-key-ed25519) and the B.2.6 signature over the B.2 test-request.
RFC9421_ED25519_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
RFC9421_ED25519_D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
RFC9421_CREATED = 1618884473
RFC9421_B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");'
    'created=1618884473;keyid="test-key-ed25519"'
)
RFC9421_B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)
RFC9421_B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
RFC9421_SHA512_HELLO = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
)

KEY_MAKERS = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.fixture(params=sorted(KEY_MAKERS))
def private_key(request: pytest.FixtureRequest) -> Any:
    return KEY_MAKERS[request.param]()


def signed_request(
    private_key: Any, *, body: bytes = HELLO, keyid: str = "442000.zsgov.window", **options: Any
) -> RequestView:
    headers = httpx.Headers({"content-type": "application/json", "content-digest": content_digest(body)})
    view = RequestView("POST", URL, headers)
    sign_message(
        view,
        private_key=private_key,
        keyid=keyid,
        components=options.pop("components", REQUEST_COMPONENTS),
        created=options.pop("created", NOW),
        **options,
    )
    return view


def signed_response(private_key: Any, *, body: bytes = HELLO, keyid: str = "gateway-key") -> ResponseView:
    headers = httpx.Headers({"content-digest": content_digest(body), "x-tongban-exchange-id": "ex-1"})
    view = ResponseView(200, headers)
    sign_message(view, private_key=private_key, keyid=keyid, components=RESPONSE_COMPONENTS, created=NOW)
    return view


def verify(message: RequestView | ResponseView, public_key: Any, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "keyid": "442000.zsgov.window",
        "public_key": public_key,
        "required_components": REQUEST_COMPONENTS,
        "now": NOW,
        "max_age": MAX_AGE,
        "body": HELLO,
    }
    arguments.update(options)
    return verify_message(message, **arguments)


# ---- RFC 9530 Content-Digest --------------------------------------------------------------------


def test_content_digest_of_empty_content() -> None:
    # RFC 9530 appendix B.2: the Content-Digest of empty content.
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def test_content_digest_of_hello_world() -> None:
    # The 18-byte body of RFC 9421's test messages (no trailing newline).
    assert content_digest(HELLO) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_content_digest_of_hello_world_with_newline() -> None:
    # RFC 9530 appendix B.1: {"hello": "world"} followed by LF.
    assert content_digest(HELLO + b"\n") == "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"


def test_verify_content_digest_accepts_sha256() -> None:
    verify_content_digest(content_digest(HELLO), HELLO)


def test_verify_content_digest_accepts_sha512() -> None:
    # The sha-512 Content-Digest of RFC 9421's test-request (appendix B.2).
    verify_content_digest(RFC9421_SHA512_HELLO, HELLO)


def test_verify_content_digest_accepts_both_and_ignores_unknown_algorithms() -> None:
    sha1 = "sha=:" + base64.b64encode(b"\x00" * 20).decode() + ":"
    verify_content_digest(f"{sha1}, {content_digest(HELLO)[:-1]}:, {RFC9421_SHA512_HELLO}", HELLO)


def test_verify_content_digest_rejects_a_mismatch() -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest(content_digest(HELLO), HELLO + b" ")


def test_verify_content_digest_rejects_when_any_known_digest_mismatches() -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest(f"{content_digest(HELLO)}, {RFC9421_SHA512_HELLO}", b"other")
    with pytest.raises(DigestMismatch):
        verify_content_digest(f"{content_digest(b'other')}, {RFC9421_SHA512_HELLO}", HELLO)


@pytest.mark.parametrize("missing", [None, ""])
def test_verify_content_digest_rejects_missing(missing: str | None) -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest(missing, HELLO)


def test_verify_content_digest_rejects_sha1_only() -> None:
    import hashlib

    sha1 = base64.b64encode(hashlib.sha1(HELLO).digest()).decode()
    with pytest.raises(DigestMismatch):
        verify_content_digest(f"sha=:{sha1}:", HELLO)
    with pytest.raises(DigestMismatch):
        verify_content_digest(f"sha-1=:{sha1}:", HELLO)


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage((",
        "sha-256",
        "sha-256=1",
        'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="',
        "sha-256=:!!!:",
        "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;x=é",
        ",",
    ],
)
def test_verify_content_digest_rejects_garbage(garbage: str) -> None:
    with pytest.raises(DigestMismatch):
        verify_content_digest(garbage, HELLO)


# ---- round trips ----------------------------------------------------------------------------------


def test_request_round_trip(private_key: Any) -> None:
    view = signed_request(private_key, label="member")
    verified = verify(view, private_key.public_key())
    assert verified.label == "member"
    assert verified.keyid == "442000.zsgov.window"
    assert verified.created == NOW
    assert {name.strip('"') for name in verified.covered} == set(REQUEST_COMPONENTS)


def test_response_round_trip(private_key: Any) -> None:
    view = signed_response(private_key)
    verified = verify(view, private_key.public_key(), keyid="gateway-key", required_components=RESPONSE_COMPONENTS)
    assert verified.keyid == "gateway-key"
    assert verified.label == "tongban"
    assert {name.strip('"') for name in verified.covered} == set(RESPONSE_COMPONENTS)


def test_signature_input_names_the_algorithm_and_parameters(private_key: Any) -> None:
    view = signed_request(private_key, label="member")
    parsed = http_sf.parse(view.headers["signature-input"].encode(), tltype="dictionary")
    items, params = parsed["member"]
    assert [item for item, _ in items] == list(REQUEST_COMPONENTS)
    assert params["keyid"] == "442000.zsgov.window"
    assert params["created"] == int(NOW.timestamp())


def test_signature_without_body_argument_still_checks_the_headers(private_key: Any) -> None:
    view = signed_request(private_key)
    verify(view, private_key.public_key(), body=None)


# ---- refusals -------------------------------------------------------------------------------------


def test_changed_body_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key(), body=HELLO + b" ")


def test_changed_body_with_recomputed_digest_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    view.headers["content-digest"] = content_digest(b"forged")
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key(), body=b"forged")


def test_changed_covered_request_target_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    moved = RequestView(view.method, URL.replace("442000", "440300"), view.headers)
    with pytest.raises(InvalidSignature):
        verify(moved, private_key.public_key())


def test_changed_covered_method_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    with pytest.raises(InvalidSignature):
        verify(RequestView("PUT", view.url, view.headers), private_key.public_key())


def test_changed_covered_header_is_refused(private_key: Any) -> None:
    view = signed_response(private_key)
    view.headers["x-tongban-exchange-id"] = "ex-2"
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key(), keyid="gateway-key", required_components=RESPONSE_COMPONENTS)


def test_changed_status_is_refused(private_key: Any) -> None:
    view = signed_response(private_key)
    with pytest.raises(InvalidSignature):
        verify(
            ResponseView(201, view.headers),
            private_key.public_key(),
            keyid="gateway-key",
            required_components=RESPONSE_COMPONENTS,
        )


def test_changed_uncovered_header_is_accepted(private_key: Any) -> None:
    view = signed_request(private_key)
    view.headers["x-trace"] = "anything"
    verify(view, private_key.public_key())


def test_wrong_key_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    same_algorithm = "ed25519" if isinstance(private_key, ed25519.Ed25519PrivateKey) else "ecdsa-p256"
    stranger = KEY_MAKERS[same_algorithm]()
    with pytest.raises(InvalidSignature):
        verify(view, stranger.public_key())


def test_key_of_another_algorithm_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    stranger = (
        ec.generate_private_key(ec.SECP256R1())
        if isinstance(private_key, ed25519.Ed25519PrivateKey)
        else ed25519.Ed25519PrivateKey.generate()
    )
    with pytest.raises(InvalidSignature):
        verify(view, stranger.public_key())


def test_tampered_signature_bytes_are_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    parsed = http_sf.parse(view.headers["signature"].encode(), tltype="dictionary")
    signature, params = parsed["tongban"]
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    view.headers["signature"] = http_sf.ser({"tongban": (flipped, params)})
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key())


def test_required_component_not_covered_is_refused(private_key: Any) -> None:
    view = signed_request(private_key, components=("@method", "content-digest"))
    verify(view, private_key.public_key(), required_components=("@method", "content-digest"))
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key())


def test_body_without_signed_digest_is_refused(private_key: Any) -> None:
    view = signed_request(private_key, components=("@method", "@target-uri"))
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key(), required_components=("@method",))


def test_created_at_the_edge_of_the_window_is_accepted(private_key: Any) -> None:
    view = signed_request(private_key)
    verify(view, private_key.public_key(), now=NOW + MAX_AGE)
    verify(view, private_key.public_key(), now=NOW - MAX_AGE)


def test_created_too_long_ago_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    with pytest.raises(SignatureOutOfTime):
        verify(view, private_key.public_key(), now=NOW + MAX_AGE + timedelta(seconds=1))


def test_created_in_the_future_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    with pytest.raises(SignatureOutOfTime):
        verify(view, private_key.public_key(), now=NOW - MAX_AGE - timedelta(seconds=1))


def test_expired_signature_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    parsed = http_sf.parse(view.headers["signature-input"].encode(), tltype="dictionary")
    items, params = parsed["tongban"]
    params["expires"] = int(NOW.timestamp()) + 10
    view.headers["signature-input"] = http_sf.ser({"tongban": (items, params)})
    with pytest.raises(SignatureOutOfTime):
        verify(view, private_key.public_key(), now=NOW + timedelta(seconds=11))


def test_keyid_not_present_is_signature_missing(private_key: Any) -> None:
    view = signed_request(private_key)
    with pytest.raises(SignatureMissing):
        verify(view, private_key.public_key(), keyid="440300.szgov.window")


@pytest.mark.parametrize("removed", ["signature", "signature-input"])
def test_missing_signature_headers_are_signature_missing(private_key: Any, removed: str) -> None:
    view = signed_request(private_key)
    del view.headers[removed]
    with pytest.raises(SignatureMissing):
        verify(view, private_key.public_key())


@pytest.mark.parametrize(
    "malformed",
    [
        b'tongban=("@method" "content-digest";created=1',
        b"tongban=((",
        b'tongban=("@method");keyid=??',
        "tongban=\u00e9".encode("latin-1"),  # not ASCII: as a server may hand it over
    ],
)
def test_malformed_signature_input_is_refused(private_key: Any, malformed: bytes) -> None:
    view = signed_request(private_key)
    raw = [(name, value) for name, value in view.headers.raw if name.lower() != b"signature-input"]
    broken = RequestView(view.method, view.url, httpx.Headers([*raw, (b"signature-input", malformed)]))
    with pytest.raises(InvalidSignature):
        verify(broken, private_key.public_key())


def test_malformed_signature_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    view.headers["signature"] = "tongban=((not bytes"
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key())


def test_signature_missing_for_the_chosen_label_is_refused(private_key: Any) -> None:
    view = signed_request(private_key)
    view.headers["signature"] = "other=:" + base64.b64encode(b"x" * 64).decode() + ":"
    with pytest.raises(InvalidSignature):
        verify(view, private_key.public_key())


# ---- several signatures -------------------------------------------------------------------------


def _merge(*views: RequestView) -> RequestView:
    """One request carrying the signatures of several signed copies of it."""
    inputs: dict[str, Any] = {}
    signatures: dict[str, Any] = {}
    for view in views:
        inputs.update(http_sf.parse(view.headers["signature-input"].encode(), tltype="dictionary"))
        signatures.update(http_sf.parse(view.headers["signature"].encode(), tltype="dictionary"))
    headers = httpx.Headers(views[0].headers)
    headers["signature-input"] = http_sf.ser(inputs)
    headers["signature"] = http_sf.ser(signatures)
    return RequestView(views[0].method, views[0].url, headers)


def test_the_signature_with_the_asked_keyid_is_chosen() -> None:
    member_key = ed25519.Ed25519PrivateKey.generate()
    proxy_key = ec.generate_private_key(ec.SECP256R1())
    by_member = signed_request(member_key, keyid="442000.zsgov.window", label="member")
    by_proxy = signed_request(proxy_key, keyid="proxy", label="proxy", components=("@method", "content-digest"))
    both = _merge(by_proxy, by_member)
    assert set(http_sf.parse(both.headers["signature"].encode(), tltype="dictionary")) == {"member", "proxy"}

    member = verify(both, member_key.public_key(), keyid="442000.zsgov.window")
    assert member.label == "member"
    proxy = verify(both, proxy_key.public_key(), keyid="proxy", required_components=("@method",))
    assert proxy.label == "proxy"


def test_the_other_signature_cannot_stand_in_for_the_asked_keyid() -> None:
    member_key = ed25519.Ed25519PrivateKey.generate()
    proxy_key = ed25519.Ed25519PrivateKey.generate()
    both = _merge(
        signed_request(proxy_key, keyid="proxy", label="proxy"),
        signed_request(member_key, keyid="442000.zsgov.window", label="member"),
    )
    with pytest.raises(InvalidSignature):
        verify(both, proxy_key.public_key(), keyid="442000.zsgov.window")


def test_sign_message_replaces_an_existing_signature(private_key: Any) -> None:
    view = signed_request(private_key, label="first")
    sign_message(
        view,
        private_key=private_key,
        keyid="442000.zsgov.window",
        components=REQUEST_COMPONENTS,
        created=NOW,
        label="second",
    )
    assert set(http_sf.parse(view.headers["signature-input"].encode(), tltype="dictionary")) == {"second"}


# ---- RFC 9421 appendix B.2.6: an independent implementation's signature -------------------------


def rfc9421_test_request() -> RequestView:
    headers = httpx.Headers(
        [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Digest", RFC9421_SHA512_HELLO),
            ("Content-Length", "18"),
            ("Signature-Input", RFC9421_B26_INPUT),
            ("Signature", RFC9421_B26_SIGNATURE),
        ]
    )
    return RequestView("POST", "https://example.com/foo?param=Value&Pet=dog", headers)


def rfc9421_ed25519_key() -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(RFC9421_ED25519_X))


def test_rfc9421_test_key_and_signature_agree_with_the_published_base() -> None:
    # Guards the transcription of the vector itself: the private half yields the public half, and
    # the published signature verifies over the published signature base with plain cryptography.
    private = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC9421_ED25519_D))
    public = private.public_key()
    assert public.public_bytes_raw() == rfc9421_ed25519_key().public_bytes_raw()
    signature = base64.b64decode(RFC9421_B26_SIGNATURE.split(":")[1])
    public.verify(signature, RFC9421_B26_BASE.encode())
    assert private.sign(RFC9421_B26_BASE.encode()) == signature  # Ed25519 is deterministic


def test_rfc9421_b26_signature_verifies() -> None:
    verified = verify_message(
        rfc9421_test_request(),
        keyid="test-key-ed25519",
        public_key=rfc9421_ed25519_key(),
        required_components=("@method", "@path", "@authority"),
        now=datetime.fromtimestamp(RFC9421_CREATED, UTC),
        max_age=MAX_AGE,
    )
    assert verified.label == "sig-b26"
    assert verified.created == datetime.fromtimestamp(RFC9421_CREATED, UTC)
    assert [name.strip('"') for name in verified.covered] == [
        "date",
        "@method",
        "@path",
        "@authority",
        "content-type",
        "content-length",
    ]


def test_rfc9421_b26_signature_with_a_changed_covered_header_is_refused() -> None:
    request = rfc9421_test_request()
    request.headers["Date"] = "Tue, 20 Apr 2021 02:07:56 GMT"
    with pytest.raises(InvalidSignature):
        verify_message(
            request,
            keyid="test-key-ed25519",
            public_key=rfc9421_ed25519_key(),
            required_components=("@method",),
            now=datetime.fromtimestamp(RFC9421_CREATED, UTC),
            max_age=MAX_AGE,
        )


def test_rfc9421_b26_signature_does_not_vouch_for_the_body() -> None:
    # B.2.6 does not cover Content-Digest, so it cannot be accepted as proof of a body.
    with pytest.raises(InvalidSignature):
        verify_message(
            rfc9421_test_request(),
            keyid="test-key-ed25519",
            public_key=rfc9421_ed25519_key(),
            required_components=("@method",),
            now=datetime.fromtimestamp(RFC9421_CREATED, UTC),
            max_age=MAX_AGE,
            body=HELLO,
        )


def test_rfc9421_b26_signature_is_stale_today() -> None:
    with pytest.raises(SignatureOutOfTime):
        verify_message(
            rfc9421_test_request(),
            keyid="test-key-ed25519",
            public_key=rfc9421_ed25519_key(),
            required_components=("@method",),
            now=NOW,
            max_age=MAX_AGE,
        )


# ---- the direct path against http-message-signatures --------------------------------------------

_CROSS_COMPONENTS = [
    ("@method", "@target-uri", "content-digest"),
    ("@method", "@authority", "@path", "@query", "content-digest", "x-tongban-client"),
    ("@request-target", "@scheme", "content-type"),
]


@pytest.mark.parametrize("algorithm", ["ed25519", "ecdsa-p256", "rsa"])
@pytest.mark.parametrize("components", _CROSS_COMPONENTS)
def test_direct_signatures_and_the_library_agree_both_ways(algorithm: str, components: tuple[str, ...]) -> None:
    """Signatures made here verify with http-message-signatures, and the library's verify here."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier

    from trust._httpsig import _ALGORITHMS, _SingleKey

    key: Any = {
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "rsa": lambda: rsa.generate_private_key(65537, 2048),
    }[algorithm]()
    body = '{"申请":"企业设立登记"}'.encode()
    headers = {"content-type": "application/json", "x-tongban-client": "442000.zsgov.window"}

    def request() -> RequestView:
        view = RequestView(
            "POST", "https://gw.example:8443/v1/exchange/a/b/c%2Fd?x=1&y=%E4%B8%AD", httpx.Headers(headers)
        )
        view.headers["content-digest"] = content_digest(body)
        return view

    resolver = _SingleKey("member", public_key=key.public_key(), private_key=key)
    library_alg = _ALGORITHMS[
        {"ed25519": "ed25519", "ecdsa-p256": "ecdsa-p256-sha256", "rsa": "rsa-v1_5-sha256"}[algorithm]
    ]
    ours = request()
    sign_message(ours, private_key=key, keyid="member", components=components, created=NOW)
    verifier = HTTPMessageVerifier(signature_algorithm=library_alg, key_resolver=resolver)
    verifier.require_created = False
    verifier.validate_created_and_expires = lambda *a, **k: None  # type: ignore[method-assign]
    assert verifier.verify(ours, require_components=components)

    theirs = request()
    HTTPMessageSigner(signature_algorithm=library_alg, key_resolver=resolver).sign(
        theirs, key_id="member", created=NOW, label="member", covered_component_ids=components, use_existing_digest=True
    )
    verify_message(
        theirs,
        keyid="member",
        public_key=key.public_key(),
        required_components=components,
        now=NOW,
        max_age=timedelta(seconds=300),
    )
    tampered = request()
    sign_message(tampered, private_key=key, keyid="member", components=components, created=NOW)
    tampered.headers["content-type"] = "text/plain"
    tampered.url = tampered.url.replace("x=1", "x=2")
    tampered.headers["content-digest"] = content_digest(b"other")
    with pytest.raises(InvalidSignature):
        verify_message(
            tampered,
            keyid="member",
            public_key=key.public_key(),
            required_components=components,
            now=NOW,
            max_age=timedelta(seconds=300),
        )


def test_the_direct_path_is_as_strict_as_the_library_on_digests_and_paths() -> None:
    """Content-Digest with a duplicate or unknown member is refused; @path is derived by the
    library, with RFC 9421's normalisation, so a signature over /b does not cover /a/../b."""
    key = ed25519.Ed25519PrivateKey.generate()
    body = b'{"a":1}'
    good = content_digest(body).split("=", 1)[1]
    for digest in (f"sha-256=:{base64.b64encode(bytes(32)).decode()}:, sha-256={good}", f"md5=:AAAA:, sha-256={good}"):
        view = RequestView("POST", "https://gw.example/v1/x", httpx.Headers({"content-digest": digest}))
        sign_message(view, private_key=key, keyid="m", components=("@method", "content-digest"), created=NOW)
        with pytest.raises(InvalidSignature):
            verify(view, key.public_key(), keyid="m", required_components=("@method", "content-digest"), body=body)
    signed = RequestView("GET", "https://gw.example/b")
    sign_message(signed, private_key=key, keyid="m", components=("@method", "@path"), created=NOW)
    moved = RequestView("GET", "https://gw.example/a/../b", signed.headers)
    with pytest.raises(InvalidSignature):
        verify(moved, key.public_key(), keyid="m", required_components=("@method", "@path"), body=None)
