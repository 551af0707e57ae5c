"""The evaluation report and its remote signatures: drafted from the locked scores (ranking checked by
hand), signed by every member through the cloud signature service (云签名) of the member's city with
the member's own key, relayed by the seat's venue, and the session signed; each kind of bad signature
refused with the reason, and audited."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from evaluation_world import (
    HOHHOT,
    SHENZHEN,
    ZHONGSHAN,
    SigningEvaluation,
    cloud_sign,
    evaluation_fixture,  # noqa: F401 (the `evaluation` fixture)
    run_to_scores_locked,
    sign_for_seat,
    signature_body,
    signing_evaluation_fixture,  # noqa: F401 (the `signing_evaluation` fixture)
    signing_sandboxes_fixture,  # noqa: F401 (the `signing_sandboxes` fixture)
)

import trust


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _certificate_for(
    evaluation: SigningEvaluation, city: str, ca_role: str, id_number: str, key: Any
) -> tuple[bytes, tuple[bytes, ...]]:
    """A personal certificate naming `id_number`, issued by the city's demo CA `ca_role`, and its chain."""
    pki = evaluation.sandboxes.material.pki  # type: ignore[union-attr]
    issuer = pki.identity(city, ca_role)
    now = datetime.now(UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, id_number),
            x509.NameAttribute(NameOID.COMMON_NAME, "测试"),
        ]
    )
    certificate = trust.issue_certificate(
        subject,
        key,
        (issuer.certificate, issuer.key),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
        crl_url=pki.crl_urls.get((city, ca_role)),
    )
    return certificate.public_bytes(Encoding.DER), (issuer.der, *pki.chain(city, ca_role))


def test_the_report_is_drafted_signed_by_every_member_and_the_session_signed(
    signing_evaluation: SigningEvaluation,
) -> None:
    evaluation = signing_evaluation
    session_id = run_to_scores_locked(evaluation)
    base = f"/v1/evaluations/{session_id}"

    by_hand = evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "report_drafted"})
    assert by_hand.status_code == 409 and by_hand.json()["code"] == "evaluation.not_ready"
    drafted = evaluation.post(evaluation.organiser, f"{base}/report", {})
    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["state"] == "report_drafted"
    again = evaluation.post(evaluation.organiser, f"{base}/report", {})
    assert again.status_code == 409 and again.json()["code"] == "evaluation.illegal_transition"

    # The ranking, computed by hand from default_marks: the first bidder's totals are 83 + 0, 0.25, 0.5,
    # 0, 0.25, 0.5, 0 over the seven seats, a mean of 83 + 1.5 / 7 = 83.214.. -> 83.21; then 78.00
    # twice, the higher price mark (9 against 8) first; then 70 - index.
    report = drafted.json()["report"]
    content = report["content"]
    codes = [bidder["credit_code"] for bidder in content["bidders"]]
    expected = [(codes[0], 83.21), (codes[2], 78.0), (codes[1], 78.0)]
    expected += [(code, 70.0 - index) for index, code in enumerate(codes) if index >= 3]
    assert [(item["bidder"], item["mean_total"]) for item in content["ranking"]] == expected
    assert [item["rank"] for item in content["ranking"]] == list(range(1, len(codes) + 1))
    first = next(item for item in content["totals"] if item["bidder"] == codes[0])
    assert first["per_seat"]["E1"] == 83.25 and first["per_seat"]["T1"] == 83.0  # seat indexes 1 and 0
    assert content["deviations"] == [] and content["session_id"] == session_id
    assert {seat["seat"] for seat in content["committee"]} == set(content["marks"]) and len(content["marks"]) == 7
    signed_bytes = rfc8785.dumps(content)
    assert report["digest"] == hashlib.sha256(signed_bytes).hexdigest()
    assert report["sm3"] == trust.sm3(signed_bytes).hex()

    # Seat ids only: no member's name or id number anywhere in the report, nor in the organiser's view.
    supervised = evaluation.get(evaluation.supervisor, base).json()
    seats = {seat["seat"]: seat for seat in supervised["seats"]}
    organisers_view = json.dumps(evaluation.get(evaluation.organiser, base).json(), ensure_ascii=False)
    for seat in seats.values():
        for secret in (seat["identity"]["name"], seat["identity"]["id_number"]):
            assert secret not in json.dumps(content, ensure_ascii=False) and secret not in organisers_view

    # Not before signing.
    early = sign_for_seat(evaluation, session_id, seats["E1"])
    assert early.status_code == 409 and early.json()["code"] == "evaluation.not_ready"
    opened = evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "signing"})
    assert opened.status_code == 200, opened.text

    # The tenderer's representative signs with an ECDSA P-256 certificate of Hohhot's CA; the experts
    # through their cities' cloud signature services (SM2).
    key = ec.generate_private_key(ec.SECP256R1())
    certificate, chain = _certificate_for(evaluation, HOHHOT, "issuing-ec", seats["T1"]["identity"]["id_number"], key)
    t1 = {
        "seat": "T1",
        "signature": _b64(key.sign(signed_bytes, ec.ECDSA(hashes.SHA256()))),
        "certificate": _b64(certificate),
        "chain": [_b64(item) for item in chain],
    }
    seat_ids = sorted(seats)
    for seat_id in seat_ids:
        if seat_id == "T1":
            answer = evaluation.post(evaluation.venues[HOHHOT], f"{base}/signatures", t1)
        else:
            answer = sign_for_seat(evaluation, session_id, seats[seat_id])
        assert answer.status_code == 200, answer.text
        if seat_id != seat_ids[-1]:
            assert answer.json()["state"] == "signing"
            assert evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "signed"}).status_code == 409
    assert answer.json()["state"] == "signed"
    twice = sign_for_seat(evaluation, session_id, seats["E1"])
    assert twice.status_code == 409

    # Everyone sees which seats signed; the supervisor sees whose certificates they were.
    public = evaluation.get(evaluation.venues[HOHHOT], base).json()
    assert public["signatures"] == {"signed": seat_ids}
    by_seat = evaluation.get(evaluation.supervisor, base).json()["signatures"]["by_seat"]
    for seat_id in seat_ids:
        record = by_seat[seat_id]
        assert f"2.5.4.5={seats[seat_id]['identity']['id_number']}" in record["subject"]
        assert record["relayed_by"] == evaluation.venues[seats[seat_id]["venue"]].id
        assert record["algorithm"] == ("ECDSA-P256-SHA256" if seat_id == "T1" else "SM2-with-SM3")
    events = evaluation.events(
        evaluation.venues[HOHHOT], session_id, until=lambda event: event["data"].get("to") == "signed"
    )
    assert sorted(event["data"]["seat"] for event in events if event["kind"] == "signed") == seat_ids
    assert events[-1]["data"] == {"from": "signing", "to": "signed", "reason": "every member signed"}
    drafted_events = [event for event in events if event["kind"] == "report_drafted"]
    assert drafted_events[0]["data"] == {"digest": report["digest"], "sm3": report["sm3"]}


def test_bad_signatures_are_refused_with_the_reason_and_audited(signing_evaluation: SigningEvaluation) -> None:
    evaluation = signing_evaluation
    session_id = run_to_scores_locked(evaluation)
    base = f"/v1/evaluations/{session_id}"
    assert evaluation.post(evaluation.organiser, f"{base}/report", {}).status_code == 200
    assert evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "signing"}).status_code == 200
    session = evaluation.get(evaluation.supervisor, base).json()
    content_bytes = rfc8785.dumps(session["report"]["content"])
    expert = next(seat for seat in session["seats"] if seat["kind"] == "expert")
    identity, venue = expert["identity"], expert["venue"]
    relay = evaluation.venues[venue]

    def refused(body: dict[str, Any], member: Any = relay) -> dict[str, Any]:
        answer = evaluation.post(member, f"{base}/signatures", body)
        assert answer.status_code == 422, answer.text
        problem: dict[str, Any] = answer.json()
        assert problem["code"] == "evaluation.signature_invalid"
        entries = evaluation.gateway.runtime.audit_log.entries_for(answer.headers["x-tongban-exchange-id"])
        assert entries, "the refusal is audited"
        return problem

    # A certificate naming another person: a fellow resident's own signature.
    city_name = {HOHHOT: "hohhot", ZHONGSHAN: "zhongshan", SHENZHEN: "shenzhen"}[identity["city"]]
    city_people = evaluation.data.city(city_name).persons  # residents the city's service signs for
    other = next(person for person in city_people if person.id_number != identity["id_number"])
    someone_else = cloud_sign(evaluation.sandboxes, identity["city"], other.id_number, content_bytes)
    assert "does not name seat" in refused(signature_body(expert["seat"], someone_else))["detail"]

    # The member's signature over other content.
    other_content = cloud_sign(evaluation.sandboxes, identity["city"], identity["id_number"], b'{"ranking":[]}')
    assert "does not verify" in refused(signature_body(expert["seat"], other_content))["detail"]

    # A certificate from a CA no trust list names (a sound SM2 signature otherwise).
    key = trust.Sm2PrivateKey.generate()
    certificate, chain = _certificate_for(evaluation, identity["city"], "unlisted-ca-sm2", identity["id_number"], key)
    unlisted = {
        "seat": expert["seat"],
        "signature": _b64(key.sign(content_bytes)),
        "certificate": _b64(certificate),
        "chain": [_b64(item) for item in chain],
    }
    detail = refused(unlisted)["detail"]
    assert "not vouched for" in detail and "NO_CERTIFICATE_CHAIN_FOUND" in detail
    assert identity["id_number"] not in detail and identity["name"] not in detail

    # The right signature, relayed by the wrong venue; then by the right one; then once more.
    good = cloud_sign(evaluation.sandboxes, identity["city"], identity["id_number"], content_bytes)
    wrong_venue = next(member for city, member in evaluation.venues.items() if city != venue)
    assert evaluation.post(wrong_venue, f"{base}/signatures", signature_body(expert["seat"], good)).status_code == 403
    assert evaluation.post(relay, f"{base}/signatures", signature_body(expert["seat"], good)).status_code == 200
    second = evaluation.post(relay, f"{base}/signatures", signature_body(expert["seat"], good))
    assert second.status_code == 409
    assert evaluation.get(evaluation.organiser, base).json()["signatures"] == {"signed": [expert["seat"]]}


@pytest.mark.parametrize("city", ["shenzhen", "zhongshan"])
def test_a_representative_from_another_city_signs_under_that_citys_trust_list(
    signing_evaluation: SigningEvaluation, city: str
) -> None:
    """The tenderer's representative sits at the main venue (Hohhot) but lives in another city: that
    city's service signs (Zhongshan's over SOAP, Shenzhen's over REST), and that city's trust list (the
    id number's city) vouches for it."""
    evaluation = signing_evaluation
    resident = evaluation.data.city(city).persons[0]
    representative = [{"name": resident.name, "id_number": resident.id_number}]
    session_id = run_to_scores_locked(evaluation, overrides={"tenderer_representatives": representative})
    base = f"/v1/evaluations/{session_id}"
    assert evaluation.post(evaluation.organiser, f"{base}/report", {}).status_code == 200
    assert evaluation.post(evaluation.organiser, f"{base}/transitions", {"to": "signing"}).status_code == 200
    t1 = next(seat for seat in evaluation.get(evaluation.supervisor, base).json()["seats"] if seat["seat"] == "T1")
    assert t1["venue"] == HOHHOT
    signed = sign_for_seat(evaluation, session_id, t1)
    assert signed.status_code == 200, signed.text
    record = evaluation.get(evaluation.supervisor, base).json()["signatures"]["by_seat"]["T1"]
    issuer = x509.load_der_x509_certificate(base64.b64decode(record["chain"][0]))
    region = {"shenzhen": SHENZHEN, "zhongshan": ZHONGSHAN}[city]
    assert issuer.subject == evaluation.sandboxes.material.pki.identity(region, "issuing-sm2").certificate.subject  # type: ignore[union-attr]
