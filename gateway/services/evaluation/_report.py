"""The evaluation report and its remote signatures (云签名).

    POST .../report      scores_locked -> report_drafted: the gateway drafts the report from the locked
                         scores (seat ids only, never identities) and fixes its digests: SHA-256 and SM3
                         of the content's RFC 8785 canonical JSON, the bytes every member signs
    POST .../signatures  while signing: one member's signature, made by the cloud signature service of
                         the member's city with the member's own key (the gateway never holds it), relayed
                         by the venue the member sits at; when every member has signed, the session is
                         signed

A signature is taken only if (a) its certificate chains to a CA granted as a "ca" service on the trust
list of the seat's venue city or of the member's own city (an expert's pool city; for a tenderer's
representative, the city of the id number's address code), valid and unrevoked now (the signing time);
(b) the certificate names the seat's member (subject SERIALNUMBER = the GB 11643 id number); (c) the
signature verifies over the report's canonical bytes: SM2 with SM3 and the signer id 1234567812345678,
or ECDSA P-256 with SHA-256 (a DER ECDSA-Sig-Value) for an EC certificate. Anything else is 422
evaluation.signature_invalid with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

import catalogs
import trust
from gateway import errors
from gateway.exchange import Exchange
from gateway.services.evaluation._sessions import (
    Handler,
    Session,
    _body,
    _changed_view,
    _load,
    _only,
    _seat,
    _text,
    deviations,
)
from gateway.services.evaluation._states import SessionNotReady, move
from gateway.services.recognition import recognition_of

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = [
    "RANKING_RULE",
    "SignatureRefused",
    "draft_report",
    "report_bytes",
    "report_content",
    "sign_report",
]

RANKING_RULE: Final = (
    "by mean total (the mean over the members of each member's total, to 0.01, half up), highest first; "
    "ties broken by the mean mark of the price criterion (when the criteria have one), highest first, "
    "then by credit code, ascending"
)
PRICE_CRITERION: Final = "price"
SIGNER_CA_SERVICE_TYPES: Final = frozenset({"ca"})
SM2_ALGORITHM: Final = "SM2-with-SM3"
ECDSA_ALGORITHM: Final = "ECDSA-P256-SHA256"
MAX_SIGNATURE_BYTES: Final = 512
MAX_CERTIFICATE_BYTES: Final = 8 * 1024
MAX_CHAIN: Final = 4
_CENT: Final = Decimal("0.01")


class SignatureRefused(errors.InvalidContent):
    code = "evaluation.signature_invalid"
    title = "The member's signature on the evaluation report was refused"


# ---- the report ---------------------------------------------------------------------------------


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(_CENT, rounding=ROUND_HALF_UP)


def report_content(session: Session, drafted_at: datetime) -> dict[str, Any]:
    """The report from the locked scores: marks, totals, means and ranking by seat id, with the deviation
    flags and the committee's composition. Marks are exact to two decimals, so the sums are computed
    exactly (Decimal) and the means rounded once, as published."""
    document = session.document
    scores: dict[str, dict[str, dict[str, float]]] = document.get("scores", {})
    seats = [seat["seat"] for seat in document["seats"]]
    criteria = [item["code"] for item in document["criteria"]]
    totals = []
    for bidder in document["bidders"]:
        code = bidder["credit_code"]
        per_seat = {seat: sum((Decimal(str(scores[seat][code][c])) for c in criteria), Decimal(0)) for seat in seats}
        price = (
            _mean([Decimal(str(scores[seat][code][PRICE_CRITERION])) for seat in seats])
            if PRICE_CRITERION in criteria
            else None
        )
        totals.append(
            {
                "bidder": code,
                "name": bidder["name"],
                "per_seat": {seat: float(total) for seat, total in per_seat.items()},
                "mean_total": _mean(list(per_seat.values())),
                "mean_price": price,
            }
        )
    ranked = sorted(totals, key=lambda item: (-item["mean_total"], -(item["mean_price"] or 0), item["bidder"]))
    ranking = [
        {"rank": rank, "bidder": item["bidder"], "name": item["name"], "mean_total": float(item["mean_total"])}
        for rank, item in enumerate(ranked, start=1)
    ]
    for item in totals:
        item["mean_total"] = float(item["mean_total"])
        item["mean_price"] = None if item["mean_price"] is None else float(item["mean_price"])
    return {
        "session_id": session.id,
        "project_code": document["project_code"],
        "title": document.get("title"),
        "tenderer": document["tenderer"],
        "bidders": document["bidders"],
        "main_venue": document["main_venue"],
        "secondary_venues": document["secondary_venues"],
        "criteria": document["criteria"],
        "committee": [
            {"seat": seat["seat"], "kind": seat["kind"], "venue": seat["venue"], "specialty": seat["specialty"]}
            for seat in document["seats"]
        ],
        "marks": {seat: scores[seat] for seat in seats},
        "totals": totals,
        "ranking": ranking,
        "ranking_rule": RANKING_RULE,
        "deviations": deviations(document),
        "drafted_at": drafted_at.isoformat(),
    }


def report_bytes(content: dict[str, Any]) -> bytes:
    """What every member signs: the report content's RFC 8785 canonical JSON."""
    return rfc8785.dumps(content)


def draft_report(session_id: str) -> Handler:
    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        _only(_body(exchange), set())
        now = runtime.clock.now()

        def change(session: Session) -> list[tuple[str, dict[str, Any]]]:
            before = session.position
            after = move(before, "report_drafted")  # 409 unless the scores are locked
            content = report_content(session, now)
            signed_bytes = report_bytes(content)
            report = {
                "content": content,
                "digest": hashlib.sha256(signed_bytes).hexdigest(),
                "sm3": trust.sm3(signed_bytes).hex(),
                "drafted_at": now.isoformat(),
            }
            session.document["report"] = report
            session.position = after
            return [
                ("report_drafted", {"digest": report["digest"], "sm3": report["sm3"]}),
                ("state_changed", {"from": before.state, "to": after.state, "reason": "report drafted"}),
            ]

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle


# ---- the signatures -----------------------------------------------------------------------------


def _decoded(value: Any, name: str, high: int) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 2 * high:
        raise errors.InvalidContent(f"`{name}` must be base64 of at most {high} bytes")
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except binascii.Error as exc:
        raise errors.InvalidContent(f"`{name}` must be base64") from exc
    if not data or len(data) > high:
        raise errors.InvalidContent(f"`{name}` must be base64 of 1 to {high} bytes")
    return data


def _certificate_der(value: Any, name: str) -> bytes:
    """A certificate as base64 DER, or as base64 of its PEM."""
    data = _decoded(value, name, 2 * MAX_CERTIFICATE_BYTES)
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        except ValueError as exc:
            raise SignatureRefused(f"`{name}` is not a PEM X.509 certificate") from exc
    return data


def _may_sign(session: Session, seat_id: str, caller_city: str) -> dict[str, Any]:
    """The seat, if the session takes its signature now from this caller's city."""
    if session.position.state != "signing":
        raise SessionNotReady(f"the report is signed in state signing, not {session.position.state}")
    seat = _seat(session, seat_id)
    if caller_city != seat["venue"]:
        raise errors.AccessDenied(f"seat {seat_id}'s signature is relayed by its own venue, {seat['venue']}")
    if seat_id in session.document.get("signatures", {}):
        raise errors.Conflict(f"seat {seat_id} has signed already")
    return seat


def _check_names_member(certificate: x509.Certificate, seat: dict[str, Any]) -> None:
    serials = [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
    if serials != [seat["identity"]["id_number"]]:
        raise SignatureRefused(
            f"the certificate does not name seat {seat['seat']}'s member (its subject SERIALNUMBER must be the "
            "member's GB 11643 id number)"
        )


def _check_signature_value(certificate_der: bytes, certificate: x509.Certificate, signature: bytes, data: bytes) -> str:
    """The algorithm, once the signature verifies over `data` under the certificate's key."""
    try:
        sm2_key = trust.sm2_public_key_of_certificate(certificate_der)
    except trust.UnsupportedKey:
        sm2_key = None
    except trust.InvalidCertificate as exc:
        raise SignatureRefused("the certificate does not parse") from exc
    if sm2_key is not None:
        try:
            sm2_key.verify(signature, data, trust.SM2_SIGNER_ID)
        except trust.InvalidSignature as exc:
            raise SignatureRefused(
                "the SM2 signature does not verify over the report's canonical bytes (signer id 1234567812345678)"
            ) from exc
        return SM2_ALGORITHM
    try:
        key = certificate.public_key()
    except ValueError as exc:
        raise SignatureRefused("the certificate's key is neither SM2 nor ECDSA P-256") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SignatureRefused("the certificate's key is neither SM2 nor ECDSA P-256")
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except CryptographyInvalidSignature as exc:
        raise SignatureRefused("the ECDSA P-256 signature does not verify over the report's canonical bytes") from exc
    return ECDSA_ALGORITHM


def _residence(id_number: str, cities: tuple[str, ...]) -> str:
    """The city (of those with a trust list) of a GB 11643 number's address code, for a member who is no
    pool's expert (a tenderer's representative); the city-level prefix decides (440305 is in 440300)."""
    region = catalogs.holder_region(id_number)
    return next((city for city in cities if city[:4] == region[:4]), region)


async def _check_chain(
    runtime: Runtime,
    seat: dict[str, Any],
    certificate_der: bytes,
    chain: tuple[bytes, ...],
    algorithm: str,
    data: bytes,
    now: datetime,
) -> trust.ValidationReport:
    """The certificate vouched for by a granted CA on the trust list of the seat's venue city or the
    expert's own city, every certificate of the path valid and unrevoked at `now` (the signing time)."""
    recognition = recognition_of(runtime)
    held = recognition.trust_lists.cities
    wanted = {seat["venue"], seat["identity"].get("city") or _residence(seat["identity"]["id_number"], held)}
    cities = sorted(wanted & set(held))
    if not cities:
        raise errors.TrustListUnavailable(f"no trust list of {' or '.join(sorted(wanted))} is configured")
    evidence = trust.SignatureEvidence(
        format="evaluation report signature (云签名)",
        signature_algorithm=algorithm,
        signer_certificate=certificate_der,
        certificates=chain,
        signed_content=data,
        content_type="application/json",
    )
    try:
        report = await trust.validate_signature(
            evidence,
            trust_lists=recognition.trust_lists,
            accepted_service_types=SIGNER_CA_SERVICE_TYPES,
            revocation=recognition.revocation,
            validation_time=now,
            cities=cities,
        )
    except (trust.TrustListExpired, trust.TrustListUnavailable) as exc:
        raise errors.TrustListUnavailable(str(exc)) from exc
    if not report.passed:
        # The indication says why; the validator's messages name the certificate's subject (the member),
        # which stays out of answers and the audit log.
        raise SignatureRefused(
            f"the certificate is not vouched for by a granted CA on the trust list of {' or '.join(cities)}, "
            f"valid and unrevoked now: {report.indication}/{report.sub_indication}"
        )
    return report


def sign_report(session_id: str) -> Handler:
    """One member's signature over the report, relayed by the member's venue (its member calls)."""

    async def handle(runtime: Runtime, exchange: Exchange) -> tuple[int, Any]:
        assert exchange.caller is not None
        caller = exchange.caller
        payload = _body(exchange)
        _only(payload, {"seat", "signature", "certificate", "chain"})
        seat_id = _text(payload, "seat", high=8)
        unverified_signature = _decoded(payload.get("signature"), "signature", MAX_SIGNATURE_BYTES)
        unverified_certificate = _certificate_der(payload.get("certificate"), "certificate")
        chain_in = payload.get("chain", [])
        if not isinstance(chain_in, list) or len(chain_in) > MAX_CHAIN:
            raise errors.InvalidContent(f"`chain` must be an array of at most {MAX_CHAIN} certificates")
        chain = tuple(_certificate_der(item, f"chain[{index}]") for index, item in enumerate(chain_in))

        def read() -> Session:
            with runtime.database.read() as connection:
                return _load(connection, session_id)

        session = await runtime.in_thread(read)
        seat = _may_sign(session, seat_id, caller.city)  # refuse before any cryptography
        try:
            certificate = x509.load_der_x509_certificate(unverified_certificate)
        except ValueError as exc:
            raise SignatureRefused("the certificate is not a DER or PEM X.509 certificate") from exc
        _check_names_member(certificate, seat)
        signed_bytes = report_bytes(session.document["report"]["content"])
        algorithm = await runtime.in_thread(
            _check_signature_value, unverified_certificate, certificate, unverified_signature, signed_bytes
        )
        now = runtime.clock.now()
        await _check_chain(runtime, seat, unverified_certificate, chain, algorithm, signed_bytes, now)
        record = {
            "certificate": base64.b64encode(unverified_certificate).decode("ascii"),
            "chain": [base64.b64encode(item).decode("ascii") for item in chain],
            "signature": base64.b64encode(unverified_signature).decode("ascii"),
            "algorithm": algorithm,
            "signed_at": now.isoformat(),
            "relayed_by": caller.id,
            "subject": certificate.subject.rfc4514_string(),
        }
        digest = session.document["report"]["digest"]

        def change(current: Session) -> list[tuple[str, dict[str, Any]]]:
            if current.document.get("report", {}).get("digest") != digest:
                raise SessionNotReady("the report changed while the signature was checked; sign it again")
            _may_sign(current, seat_id, caller.city)
            signatures = current.document.setdefault("signatures", {})
            signatures[seat_id] = record
            events: list[tuple[str, dict[str, Any]]] = [("signed", {"seat": seat_id})]
            if all(seat["seat"] in signatures for seat in current.document["seats"]):
                before = current.position
                current.position = move(before, "signed")
                events.append(
                    ("state_changed", {"from": before.state, "to": "signed", "reason": "every member signed"})
                )
            return events

        return 200, await _changed_view(runtime, exchange, session_id, change)

    return handle
