"""Mutual recognition end to end: the sandboxes publish their trust lists, CRLs and status lists; the
gateway verifies every sample document (each kind, each good and bad case) and answers in DSS's words."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trust
from adapters.sandbox_documents import consent_token, licence_document, load_sandbox_pki
from adapters.sandboxes import RunningSandboxes, start_sandboxes
from catalogs import format_licence_identifier, seed
from gateway.canonical import Party
from gateway.clock import FixedClock
from gateway.demo import wait_for_trust_lists
from gateway.settings import SANDBOX_TRUST_LIST_PATH
from gateway.soap_client import gateway_soap_client


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandboxes]:
    running = start_sandboxes(base_port=0, sandbox_dir=tmp_path_factory.mktemp("var") / "sandbox")
    yield running
    running.stop()


def _member_with(gateway: Any, member_id: str, *rights: str) -> Any:
    member = gateway.add_member(member_id)
    for right in rights:
        gateway.grant(member.id, right)
    return member


def _wired(sandboxes: RunningSandboxes, *, lists_at: str | None = None) -> dict[str, Any]:
    """Gateway settings reaching the sandboxes: partners, trust lists (at `lists_at` if given) and
    the operators' pinned certificates."""
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    pki_dir = sandboxes.material.directory / "pki"
    return {
        "partner_urls": regions,
        "trust_list_urls": {region: f"{lists_at or url}{SANDBOX_TRUST_LIST_PATH}" for region, url in regions.items()},
        "trust_list_operators": {region: pki_dir / region / "trust-list-operator.crt" for region in regions},
    }


@pytest.fixture
def recognising_gateway(start_gateway: Any, sandboxes: RunningSandboxes) -> Any:
    gateway = start_gateway(**_wired(sandboxes))
    wait_for_trust_lists(gateway.url, set(sandboxes.regions()))
    return gateway


def _verify(gateway: Any, member: Any, path: str, document: bytes, **extra: Any) -> httpx.Response:
    body = {"document": base64.b64encode(document).decode("ascii"), **extra}
    return gateway.call(
        member, "POST", path, body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def _samples(sandboxes: RunningSandboxes, kind: str, document_format: str) -> list[Any]:
    assert sandboxes.material is not None
    return [s for s in sandboxes.material.samples if s.kind == kind and s.format == document_format]


@pytest.mark.parametrize("document_format", ["jws", "xml", "pdf", "ofd"])
def test_every_licence_sample_gets_its_indication_and_sub_indication(
    recognising_gateway: Any, sandboxes: RunningSandboxes, document_format: str
) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "licences.verify")
    samples = _samples(sandboxes, "licence", document_format)
    cases = {sample.case for sample in samples}
    assert {"valid", "tampered", "untrusted-issuer", "revoked-certificate", "expired-certificate"} <= cases
    assert {"withdrawn-issuer-before", "withdrawn-issuer-after", "cancelled-at-registry"} <= cases
    assert sandboxes.material is not None
    wrong = []
    for sample in samples:
        document = (sandboxes.material.samples_dir / sample.file).read_bytes()
        response = _verify(gateway, window, "/v1/licences/verify", document)
        assert response.status_code == 200, response.text
        answer = response.json()
        got = (answer["report"]["indication"], answer["report"]["sub_indication"])
        if got != (sample.expected_indication, sample.expected_sub_indication):
            wrong.append((sample.file, got, answer["report"]["messages"]))
        elif answer["recognised"] is not (sample.expected_indication == "TOTAL_PASSED"):
            wrong.append((sample.file, "recognised", answer["recognised"]))
    assert wrong == []


def test_a_recognised_licence_is_mapped_into_the_relying_citys_schema(
    recognising_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    gateway = recognising_gateway
    zhongshan_window = gateway.add_member("442000.zsdemo.window")
    shenzhen_window = gateway.add_member("440300.szdemo.window")
    for member in (zhongshan_window, shenzhen_window):
        gateway.grant(member.id, "licences.verify")
    assert sandboxes.material is not None
    folder = sandboxes.material.samples_dir

    shenzhen_licence = _verify(
        gateway, zhongshan_window, "/v1/licences/verify", (folder / "440300/licence-valid.jws").read_bytes()
    )
    answer = shenzhen_licence.json()
    assert answer["recognised"] is True and answer["issuing_city"] == "440300"
    assert answer["relying_city"] == "442000"
    licence = answer["licence"]
    assert answer["mapped"]["DZZZ"]["ZZBH"] == licence["licence_number"]  # Zhongshan's element names and codes
    assert answer["report"]["trust_anchor"]["trust_list_city"] == "440300"
    assert answer["report"]["registry_status"] == "valid"
    assert answer["report"]["status_list_status"] == "valid"

    zhongshan_licence = _verify(
        gateway, shenzhen_window, "/v1/licences/verify", (folder / "442000/licence-valid.xml").read_bytes()
    )
    answer = zhongshan_licence.json()
    assert answer["recognised"] is True and answer["issuing_city"] == "442000"
    assert answer["mapped"]["licenceNo"] == answer["licence"]["licence_number"] or answer["mapped"]
    entries = gateway.runtime.audit_log.entries_for(zhongshan_licence.headers["x-tongban-exchange-id"])
    assert [entry["kind"] for _i, entry in entries] == ["exchange.request", "exchange.response"]


@pytest.mark.parametrize("document_format", ["ofd", "ses"])
def test_seal_samples(recognising_gateway: Any, sandboxes: RunningSandboxes, document_format: str) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "seals.verify")
    assert sandboxes.material is not None
    samples = _samples(sandboxes, "seal", document_format)
    assert {sample.case for sample in samples} >= {"valid", "revoked-at-platform"}
    for sample in samples:
        document = (sandboxes.material.samples_dir / sample.file).read_bytes()
        extra = {}
        if sample.data_file:
            extra["data"] = base64.b64encode((sandboxes.material.samples_dir / sample.data_file).read_bytes()).decode()
        response = _verify(gateway, window, "/v1/seals/verify", document, **extra)
        assert response.status_code == 200, response.text
        report = response.json()["report"]
        assert (report["indication"], report["sub_indication"]) == (
            sample.expected_indication,
            sample.expected_sub_indication,
        ), (sample.file, report["messages"])
        if sample.case == "valid":
            assert report["seal"]["seal_id"] == sample.subject
            assert report["registry_status"] == "valid"


def test_verifying_needs_the_right_and_good_input(recognising_gateway: Any, sandboxes: RunningSandboxes) -> None:
    gateway = recognising_gateway
    stranger = gateway.add_member("442000.zsdemo.other")
    assert sandboxes.material is not None
    document = (sandboxes.material.samples_dir / "440300/licence-valid.jws").read_bytes()
    assert _verify(gateway, stranger, "/v1/licences/verify", document).json()["code"] == "access.denied"
    gateway.grant(stranger.id, "licences.verify")
    bad = gateway.call(stranger, "POST", "/v1/licences/verify", body=b'{"document": "not base64!"}')
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    garbage = _verify(gateway, stranger, "/v1/licences/verify", b"\x00\x01 nothing signed")
    assert garbage.status_code == 422
    truncated = _verify(gateway, stranger, "/v1/licences/verify", document[: len(document) // 2], format="jws")
    assert truncated.status_code == 200
    assert truncated.json()["report"]["sub_indication"] == "FORMAT_FAILURE"


@pytest.mark.parametrize("path", ["/v1/licences/verify", "/v1/seals/verify"])
def test_a_body_nested_beyond_the_limit_is_422_never_500(recognising_gateway: Any, path: str) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.deep", "licences.verify", "seals.verify")
    for depth in (65, 1_000, 100_000):
        body = b'{"document": ' + b"[" * depth + b"]" * depth + b"}"
        response = gateway.call(window, "POST", path, body=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "request.invalid"
        assert "nested deeper than 64" in response.json()["detail"] or "too deeply" in response.json()["detail"]
    # At the limit the body is read, and refused for what it says instead.
    at_limit = b'{"document": ' + b"[" * 63 + b"]" * 63 + b"}"
    response = gateway.call(window, "POST", path, body=at_limit, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "base64" in response.json()["detail"]


def test_a_licence_jws_nested_beyond_the_limit_is_a_format_failure(recognising_gateway: Any) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.deepjws", "licences.verify")
    deep = trust.b64url(b"[" * 5_000 + b"]" * 5_000)
    header = trust.b64url(b'{"alg": "ES256", "x": ' + b"[" * 100 + b"]" * 100 + b"}")
    for token in (f"{deep}.{deep}.AAAA", f"{header}.{deep}.AAAA"):
        response = _verify(gateway, window, "/v1/licences/verify", token.encode(), format="jws")
        assert response.status_code == 200, response.text
        assert response.json()["report"]["sub_indication"] == "FORMAT_FAILURE"


def test_the_gateway_fails_closed_when_a_trust_list_is_past_its_next_update(
    start_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    clock = FixedClock(datetime.now(UTC))
    gateway = start_gateway(clock=clock, **_wired(sandboxes))
    wait_for_trust_lists(gateway.url, set(regions))
    window = _member_with(gateway, "442000.zsdemo.window", "licences.verify")
    document = (sandboxes.material.samples_dir / "440300/licence-valid.jws").read_bytes()
    assert _verify(gateway, window, "/v1/licences/verify", document).json()["recognised"] is True
    clock.advance(timedelta(days=40).total_seconds())  # the lists live 30 days; the sandbox's did not move
    body = json.dumps({"document": base64.b64encode(document).decode("ascii")}).encode()
    url = gateway.url + "/v1/licences/verify"
    headers = window.credentials.signed_headers(
        "POST",
        url,
        body,
        audience=gateway.settings.gateway_id,
        now=clock.now(),
        headers={"content-type": "application/json"},
    )
    late = httpx.post(url, headers=headers, content=body, trust_env=False)
    assert late.status_code == 503, late.text
    assert late.json()["code"] == "trust.list_unavailable"


def test_licences_are_fetched_with_purpose_and_the_holders_consent(
    recognising_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "licences.fetch")
    assert sandboxes.material is not None
    data = seed.generate()
    licence = next(item for item in data.city("shenzhen").licences if item.holder.id_type == "uscc")
    holder = licence.holder.id_number
    path = f"/v1/licences?holder_id={holder}&issuing_city=440300"
    now = datetime.now(UTC)
    pki = load_sandbox_pki(sandboxes.material.directory, now)

    def token(**changes: Any) -> str:
        options: dict[str, Any] = {
            "holder_id": holder,
            "requester": window.id,
            "audience": gateway.settings.gateway_id,
            "purposes": ["licence.recognition"],
            "licence_types": None,
            "now": now,
        }
        options.update(changes)
        return consent_token(pki, "440300", **options)

    no_purpose = gateway.call(window, "GET", path, headers={"x-tongban-consent": token()})
    assert no_purpose.json()["code"] == "request.purpose_required"
    purpose = {"x-tongban-purpose": "licence.recognition"}
    assert gateway.call(window, "GET", path, headers=purpose).json()["code"] == "consent.required"
    fetched = gateway.call(window, "GET", path, headers={**purpose, "x-tongban-consent": token()})
    assert fetched.status_code == 200, fetched.text
    numbers = {item["licence"]["licence_number"] for item in fetched.json()["items"]}
    assert licence.licence_number in numbers
    assert all(item["mapped"] is not None for item in fetched.json()["items"])
    for bad, reason in (
        (token(requester="442000.zsdemo.other"), "another requester"),
        (token(holder_id=data.city("shenzhen").licences[-1].holder.id_number), "another holder"),
        (token(audience="150100.tongban.gateway"), "another gateway"),
        (token(purposes=["marketing"]), "another purpose"),
        (token(now=now - timedelta(hours=3)), "expired"),
        (token()[:-4] + "AAAA", "tampered"),
    ):
        refused = gateway.call(window, "GET", path, headers={**purpose, "x-tongban-consent": bad})
        assert refused.status_code == 403, (reason, refused.text)
        assert refused.json()["code"] == "consent.invalid", reason
    # signed by a key on the trust list, but not by a consent service: the licence issuer's
    issuer = pki.identity("440300", "licence-issuer-ec")
    claims = json.loads(base64.urlsafe_b64decode(token().split(".")[1] + "=="))
    forged = trust.sign_jws_credential(claims, issuer.key, [issuer.der, *pki.chain("440300", "licence-issuer-ec")], now)  # type: ignore[arg-type]
    refused = gateway.call(window, "GET", path, headers={**purpose, "x-tongban-consent": forged})
    assert refused.json()["code"] == "consent.invalid"


def test_soap_callers_verify_licences_too(
    recognising_gateway: Any, sandboxes: RunningSandboxes, tmp_path: Path
) -> None:
    gateway = recognising_gateway
    member = gateway.add_member("442000.zssoap.window", algorithm="rsa")  # WS-Security takes RSA, not Ed25519
    gateway.grant(member.id, "licences.verify")
    key_file, cert_file = tmp_path / "member.key", tmp_path / "member.crt"
    key_file.write_bytes(member.key_pem)
    cert_file.write_bytes(member.cert_pem)
    assert sandboxes.material is not None
    document = (sandboxes.material.samples_dir / "440300/licence-valid.ofd").read_bytes()
    x5c = next(key["x5c"][0] for key in gateway.jwks()["keys"] if "x5c" in key)
    gateway_cert = tmp_path / "gateway.crt"
    gateway_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + x5c.encode() + b"\n-----END CERTIFICATE-----\n")
    client = gateway_soap_client(
        gateway.url, key_file=key_file, certificate_file=cert_file, gateway_certificate_file=gateway_cert
    )
    answer = client.service.VerifyLicence(document=document)
    assert answer.recognised is True
    assert answer.indication == "TOTAL_PASSED"
    assert answer.issuingCity == "440300"
    assert answer.licence.licenceNumber


def test_an_unreachable_registry_is_try_later_and_the_status_list_is_read(
    start_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    document = (sandboxes.material.samples_dir / "440300/licence-valid.jws").read_bytes()

    wired = _wired(sandboxes)
    down = start_gateway(**{**wired, "partner_urls": {**regions, "440300": f"http://127.0.0.1:{free_port()}"}})
    wait_for_trust_lists(down.url, set(regions))
    window = _member_with(down, "442000.zsdemo.window", "licences.verify")
    report = _verify(down, window, "/v1/licences/verify", document).json()["report"]
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    assert "registry could not be asked" in report["messages"][0]

    # A licence the issuer revoked: the registry says so first, and the status list agrees.
    city = seed.generate().city("shenzhen")
    revoked = next(item for item in city.licences if item.status == "revoked")
    pki = load_sandbox_pki(sandboxes.material.directory, datetime.now(UTC))
    entry = trust.status_list_entry(
        sandboxes.material.status_list_urls["440300"], city.licences.index(revoked), "revocation"
    )
    signed = licence_document(pki, "440300", revoked, "jws", "licence-issuer-ec", datetime.now(UTC), status_entry=entry)
    up = start_gateway(**wired)  # the same database: another member
    wait_for_trust_lists(up.url, set(regions))
    window = _member_with(up, "442000.zsdemo.second", "licences.verify")
    report = _verify(up, window, "/v1/licences/verify", signed).json()["report"]
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "LICENCE_REVOKED")
    assert report["registry_status"] == "revoked" and report["status_list_status"] == "revoked"


def test_a_claimed_signing_time_counts_only_when_the_registry_holds_the_signed_record(
    recognising_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    """A withdrawn issuer's or an expired key's holder cannot sign today, date it back and be believed:
    the claimed time is used only for a record the issuing registry holds exactly (its proof of existence)."""
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "licences.verify")
    assert sandboxes.material is not None
    pki = load_sandbox_pki(sandboxes.material.directory, datetime.now(UTC))
    genuine = next(item for item in seed.generate().city("shenzhen").licences if item.status == "valid")
    forged = genuine.model_copy(
        update={"holder": Party(name="攻击者有限公司", id_type="uscc", id_number=genuine.holder.id_number)}
    )
    before_withdrawal = pki.withdrawn_at - timedelta(days=2)

    def verdict(licence: Any, role: str, when: datetime, document_format: str = "jws") -> tuple[str, str | None]:
        document = licence_document(pki, "440300", licence, document_format, role, when)
        report = _verify(gateway, window, "/v1/licences/verify", document).json()["report"]
        return report["indication"], report["sub_indication"]

    for document_format in ("jws", "pdf"):
        assert verdict(forged, "licence-issuer-withdrawn-ec", before_withdrawal, document_format) == (
            "INDETERMINATE",
            "NO_CERTIFICATE_CHAIN_FOUND",
        )
        assert (
            verdict(forged, "licence-issuer-expired-ec", before_withdrawal - timedelta(days=400), document_format)[0]
            != "TOTAL_PASSED"
        )
        assert verdict(genuine, "licence-issuer-withdrawn-ec", before_withdrawal, document_format) == (
            "TOTAL_PASSED",
            None,
        )
    # A current issuer's signature on fields the registry does not hold is not recognised either.
    assert verdict(forged, "licence-issuer-ec", datetime.now(UTC)) == ("TOTAL_FAILED", "LICENCE_NOT_AS_REGISTERED")


def test_only_the_holders_city_may_consent_for_it(recognising_gateway: Any, sandboxes: RunningSandboxes) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "licences.fetch")
    assert sandboxes.material is not None
    holder = next(item for item in seed.generate().city("shenzhen").licences if item.holder.id_type == "uscc").holder
    pki = load_sandbox_pki(sandboxes.material.directory, datetime.now(UTC))
    headers = {"x-tongban-purpose": "licence.recognition"}
    path = f"/v1/licences?holder_id={holder.id_number}&issuing_city=440300"
    for city, expected in (("150100", 403), ("442000", 403), ("440300", 200)):
        token = consent_token(
            pki,
            city,
            holder_id=holder.id_number,
            requester=window.id,
            audience=gateway.settings.gateway_id,
            purposes=["licence.recognition"],
            licence_types=None,
            now=datetime.now(UTC),
        )
        response = gateway.call(window, "GET", path, headers={**headers, "x-tongban-consent": token})
        assert response.status_code == expected, (city, response.text)
    bad_holder = gateway.call(window, "GET", "/v1/licences?holder_id=123&issuing_city=440300", headers=headers)
    assert bad_holder.status_code == 422


def test_the_openapi_examples_of_the_verify_endpoints_work(start_gateway: Any, sandboxes: RunningSandboxes) -> None:
    """The contract asks for working examples: the gateway shows the sandbox's own samples."""
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    wired = _wired(sandboxes)
    del wired["trust_list_operators"]  # found in the sandbox PKI under var_dir, as by default
    gateway = start_gateway(var_dir=sandboxes.material.directory.parent, **wired)  # its sandbox_dir holds the samples
    wait_for_trust_lists(gateway.url, set(regions))
    window = _member_with(gateway, "442000.zsdemo.examples", "licences.verify", "seals.verify")
    spec = httpx.get(gateway.url + "/openapi.json", trust_env=False).json()
    for path in ("/v1/licences/verify", "/v1/seals/verify"):
        example = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]
        response = gateway.call(
            window, "POST", path, body=json.dumps(example).encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["recognised"] is True, (path, response.json()["report"]["messages"])


def test_a_restarted_gateway_keeps_working_on_the_last_good_lists_it_stored(
    start_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    assert sandboxes.material is not None
    regions = sandboxes.regions()
    first = start_gateway(**_wired(sandboxes))
    wait_for_trust_lists(first.url, set(regions))
    # The same database, but no publisher answers: the stored lists are taken up (and re-verified).
    second = start_gateway(**_wired(sandboxes, lists_at=f"http://127.0.0.1:{free_port()}"))
    snapshot = wait_for_trust_lists(second.url, set(regions))
    assert all((entry.get("last_refresh") or {}).get("outcome") != "accepted" for entry in snapshot["cities"].values())
    window = _member_with(second, "442000.zsdemo.restarted", "licences.verify")
    document = (sandboxes.material.samples_dir / "440300/licence-valid.jws").read_bytes()
    assert _verify(second, window, "/v1/licences/verify", document).json()["recognised"] is True


def test_gb_t_36904_licence_identifiers_are_parsed_and_their_issuer_checked(
    recognising_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.window", "licences.verify")
    assert sandboxes.material is not None
    pki = load_sandbox_pki(sandboxes.material.directory, datetime.now(UTC))
    licences = seed.generate().city("shenzhen").licences
    licence = next(item for item in licences if item.status == "valid")
    enterprise = next(item.holder.id_number for item in licences if item.holder.id_type == "uscc")

    def verify_numbered(number: str) -> Any:
        numbered = licence.model_copy(update={"licence_number": number})
        document = licence_document(pki, "440300", numbered, "jws", "licence-issuer-ec", datetime.now(UTC))
        return _verify(gateway, window, "/v1/licences/verify", document).json()

    number = format_licence_identifier(licence.issuer_code + "001", licence.issuer_code, "2026000123", 1, "0")
    answer = verify_numbered(number)
    assert answer["licence_identifier"]["issuer_code"] == licence.issuer_code
    assert answer["licence_identifier"]["check_character_verified"] is False
    # the registry does not hold this number: found out, not recognised
    assert answer["report"]["sub_indication"] == "SIGNED_DATA_NOT_FOUND"

    other_issuer = format_licence_identifier(licence.issuer_code + "001", enterprise, "2026000123", 1, "0")
    answer = verify_numbered(other_issuer)
    assert answer["report"]["sub_indication"] == "FORMAT_FAILURE"


def test_any_bytes_are_answered_with_a_report_or_a_4xx_never_a_5xx(
    recognising_gateway: Any, sandboxes: RunningSandboxes
) -> None:
    gateway = recognising_gateway
    window = _member_with(gateway, "442000.zsdemo.fuzz", "licences.verify", "seals.verify")
    assert sandboxes.material is not None
    valid = [
        (sandboxes.material.samples_dir / name).read_bytes()
        for name in ("440300/licence-valid.jws", "442000/licence-valid.xml", "440300/licence-valid.ofd")
    ]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            st.binary(max_size=2048),
            st.tuples(st.sampled_from(valid), st.integers(min_value=0), st.integers(1, 255)).map(
                lambda t: (
                    t[0][: t[1] % len(t[0])] + bytes([t[0][t[1] % len(t[0])] ^ t[2]]) + t[0][t[1] % len(t[0]) + 1 :]
                )
            ),
        ),
        st.sampled_from([None, "jws", "xml", "pdf", "ofd", "ses"]),
        st.sampled_from(["/v1/licences/verify", "/v1/seals/verify"]),
    )
    def check(document: bytes, document_format: str | None, path: str) -> None:
        extra = {"format": document_format} if document_format else {}
        if document_format == "ses":
            extra["data"] = base64.b64encode(b"data").decode()
        response = _verify(gateway, window, path, document, **extra)
        assert response.status_code in (200, 413, 422), response.text
        if response.status_code == 200:
            assert response.json()["report"]["indication"] in ("TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE")

    check()


def test_the_licence_query_is_checked_only_after_authentication(recognising_gateway: Any) -> None:
    gateway = recognising_gateway
    anonymous = httpx.get(gateway.url + "/v1/licences?holder_id=x", trust_env=False)
    assert anonymous.status_code == 401, anonymous.text
    window = _member_with(gateway, "442000.zsdemo.window", "licences.fetch")
    headers = {"x-tongban-purpose": "licence.recognition"}
    missing = gateway.call(window, "GET", "/v1/licences?holder_id=91440300TBNHJ0QF0K", headers=headers)
    assert missing.status_code == 422 and "issuing_city" in missing.json()["detail"]
    stranger = gateway.add_member("442000.zsdemo.stranger")
    assert gateway.call(stranger, "GET", "/v1/licences?holder_id=x", headers=headers).status_code == 403
