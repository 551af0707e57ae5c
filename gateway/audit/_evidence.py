"""Evidence bundles: one exchange's entries, their inclusion proofs, a signed checkpoint and the
kept messages, in one JSON document that a third party checks offline with the log's public key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit._checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    MalformedNote,
    UnverifiedNote,
    Verifier,
    open_note,
    parse_checkpoint,
)
from gateway.audit._log import StoredCheckpoint, TransparencyLog, canonical_entry
from gateway.audit._merkle import InvalidProof, leaf_hash, verify_inclusion
from trust import RequestView, load_member_certificate, signature_parameters, verify_message

__all__ = ["EVIDENCE_FORMAT", "EvidenceCheck", "EvidenceReport", "build_evidence", "check_evidence"]

EVIDENCE_FORMAT = "tongban-evidence/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_evidence(
    log: TransparencyLog,
    exchange_id: str,
    *,
    certificates: Mapping[str, str] | None = None,
    gateway_jwks: Mapping[str, Any] | None = None,
    checkpoint: StoredCheckpoint | None = None,
) -> dict[str, Any] | None:
    """The bundle for one exchange, proven against a checkpoint covering all its entries; None if unknown."""
    entries = log.entries_for(exchange_id)
    if not entries:
        return None
    needed = entries[-1][0] + 1
    if checkpoint is None or checkpoint.size < needed:
        checkpoint = log.checkpoint_covering(needed)
    bundle_entries = []
    for index, entry in entries:
        bundle_entries.append(
            {
                "index": index,
                "entry": entry,
                "leaf_hash": _b64(leaf_hash(canonical_entry(entry))),
                "inclusion_proof": {
                    "leaf_index": index,
                    "tree_size": checkpoint.size,
                    "hashes": [_b64(node) for node in log.inclusion_proof(index, checkpoint.size)],
                },
            }
        )
    messages: dict[str, Any] = {}
    for part in ("request", "response"):
        kept = log.body(exchange_id, part)
        messages[part] = None if kept is None else json.loads(kept)
    return {
        "format": EVIDENCE_FORMAT,
        "exchange_id": exchange_id,
        "origin": log.origin,
        "checkpoint": checkpoint.note,
        "entries": bundle_entries,
        "messages": messages,
        "certificates": dict(certificates or {}),
        "gateway_keys": dict(gateway_jwks or {}),
    }


@dataclass(frozen=True)
class EvidenceCheck:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class EvidenceReport:
    checks: list[EvidenceCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def add(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(EvidenceCheck(name, passed, detail))
        return passed


def _entry_of(bundle: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    for item in bundle.get("entries", []):
        if isinstance(item, dict) and isinstance(item.get("entry"), dict) and item["entry"].get("kind") == kind:
            return dict(item["entry"])
    return None


def _body_digest(envelope: Mapping[str, Any]) -> tuple[bytes, str]:
    body = base64.b64decode(envelope.get("body_b64", ""), validate=True)
    return body, f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"


def _check_caller_signature(report: EvidenceReport, bundle: Mapping[str, Any], envelope: Mapping[str, Any]) -> None:
    request_entry = _entry_of(bundle, "exchange.request") or {}
    client = request_entry.get("client")
    if not isinstance(client, str):
        report.add("caller signature", False, "the request entry names no client")
        return
    certificate_pem = bundle.get("certificates", {}).get(client) if client else None
    headers = httpx.Headers(envelope.get("headers", {}))
    if not certificate_pem or "signature-input" not in headers:
        report.add("caller signature", True, "not checked: no signature or no certificate in the bundle")
        return
    body, _digest = _body_digest(envelope)
    created = signature_parameters(headers)
    stamps = [params.get("created") for params in created.values() if params.get("keyid") == client]
    if not stamps or not isinstance(stamps[0], int):
        report.add("caller signature", False, f"no signature by {client} in the kept request")
        return
    try:
        certificate = load_member_certificate(certificate_pem)
        verify_message(
            RequestView(str(envelope.get("method", "")), str(envelope.get("target_uri", "")), headers),
            keyid=client,
            public_key=certificate.public_key,
            required_components=("@method", "@target-uri"),
            now=datetime.fromtimestamp(stamps[0], UTC),  # judged at the time it was made
            max_age=timedelta(seconds=1),
            body=body,
        )
    except Exception as exc:  # any failure of the caller's signature is a failed check, with its reason
        report.add("caller signature", False, f"{client}: {exc}")
        return
    report.add("caller signature", True, f"RFC 9421 signature by {client} verifies with its certificate")


def check_evidence(bundle: Mapping[str, Any], public_key: Ed25519PublicKey) -> EvidenceReport:
    """Check a bundle with nothing but the log's public key. Every check is reported; none is skipped
    silently. The bundle passes when all checks pass; a bundle of the wrong shape fails, never raises."""
    return run_checks(_check, bundle, public_key, "bundle shape", "evidence bundle")


Checker = Callable[[Mapping[str, Any], Ed25519PublicKey, EvidenceReport], None]


def run_checks(
    checker: Checker, document: Mapping[str, Any], public_key: Ed25519PublicKey, shape: str, what: str
) -> EvidenceReport:
    """Run `checker`; a document of the wrong shape is one failed check (`shape`), never an exception."""
    report = EvidenceReport()
    try:
        checker(document, public_key, report)
    except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
        report.add(shape, False, f"not a well-formed {what} ({type(exc).__name__})")
    return report


def open_checkpoint(
    document: Mapping[str, Any], public_key: Ed25519PublicKey, report: EvidenceReport
) -> Checkpoint | None:
    """The document's checkpoint, its signature checked against the log's key (a reported check);
    None when it does not verify."""
    origin = str(document.get("origin", ""))
    try:
        text, _signers = open_note(str(document.get("checkpoint", "")), [Verifier.from_public_key(origin, public_key)])
        checkpoint = parse_checkpoint(text)
    except (MalformedNote, UnverifiedNote, MalformedCheckpoint, ValueError) as exc:
        report.add("checkpoint signature", False, str(exc))
        return None
    report.add("checkpoint signature", checkpoint.origin == origin, f"{origin}, size {checkpoint.size}")
    return checkpoint


def check_inclusion(
    report: EvidenceReport,
    name: str,
    leaf: bytes,
    index: int,
    proof: Mapping[str, Any],
    checkpoint: Checkpoint,
    proven: str,
) -> bool:
    """The entry's inclusion proof leads from its leaf hash to the checkpoint's root (a reported check)."""
    try:
        if proof.get("tree_size") != checkpoint.size or proof.get("leaf_index") != index:
            raise InvalidProof("the proof is not for this entry in the checkpoint's tree")
        hashes = [base64.b64decode(value, validate=True) for value in proof.get("hashes", [])]
        verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root_hash)
    except (InvalidProof, ValueError, binascii.Error) as exc:
        return report.add(name, False, str(exc))
    return report.add(name, True, proven)


def _check(bundle: Mapping[str, Any], public_key: Ed25519PublicKey, report: EvidenceReport) -> None:
    if not report.add("format", bundle.get("format") == EVIDENCE_FORMAT, str(bundle.get("format"))):
        return
    checkpoint = open_checkpoint(bundle, public_key, report)
    if checkpoint is None:
        return
    exchange_id = bundle.get("exchange_id")
    entries = bundle.get("entries") or []
    report.add("entries present", bool(entries), f"{len(entries)} entries")
    for item in entries:
        index = item.get("index")
        entry = item.get("entry")
        if not isinstance(entry, dict) or not isinstance(index, int):
            report.add(f"entry {index}", False, "malformed entry")
            continue
        computed = leaf_hash(canonical_entry(entry))
        stated = item.get("leaf_hash", "")
        report.add(f"entry {index} leaf hash", _b64(computed) == stated, "SHA-256(0x00 || JCS(entry))")
        report.add(f"entry {index} exchange", entry.get("exchange_id") == exchange_id, str(entry.get("kind")))
        proof = item.get("inclusion_proof") or {}
        proven = f"in the tree of size {checkpoint.size}"
        check_inclusion(report, f"entry {index} inclusion", computed, index, proof, checkpoint, proven)
    _check_messages(report, bundle)


def _check_messages(report: EvidenceReport, bundle: Mapping[str, Any]) -> None:
    messages = bundle.get("messages") or {}
    for part, kind, digest_field in (
        ("request", "exchange.request", "request_digest"),
        ("response", "exchange.response", "response_digest"),
    ):
        envelope = messages.get(part)
        entry = _entry_of(bundle, kind)
        if envelope is None:
            report.add(
                f"{part} message",
                True,
                "not kept (retention period over, or not kept): entries still prove it",
            )
            continue
        if entry is None:
            report.add(f"{part} message", False, f"a {part} is kept but no {kind} entry proves it")
            continue
        try:
            _body, digest = _body_digest(envelope)
        except (ValueError, binascii.Error):
            report.add(f"{part} message", False, "the kept body is not base64")
            continue
        report.add(
            f"{part} message",
            digest == entry.get(digest_field),
            f"body digest matches the entry's {digest_field}",
        )
        if part == "request":
            _check_caller_signature(report, bundle, envelope)
        else:
            signed = (envelope.get("headers") or {}).get("signature")
            recorded = (entry.get("gateway_signature") or {}).get("signature")
            report.add("gateway signature recorded", signed == recorded, "the answer's signature is the audited one")
