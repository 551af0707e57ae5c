"""Session archives: a session's whole event log, each event proven by its audit entry against one
signed checkpoint, with the session's documents and a hash manifest an audited entry binds; checked
offline with the log's public key alone, like an evidence bundle.

The builder (which reads the session) belongs to the service; what lives here is what the gateway
and an offline checker share: the proofs of a set of entries, the documents' digests, the check.

    archive = {format, session_id, origin, checkpoint,
               events: [{id, kind, data, at, audit: {index, entry, leaf_hash, inclusion_proof}}],
               documents: {name: document}, withheld: {name: why},
               manifest: {documents: {name: hex SHA-256 of the document's RFC 8785 JSON}},
               certificates: {member: PEM}, gateway_keys: JWKS}

The manifest is bound by the last proven event whose data carries `manifest_sha256` (the session's
move to archived writes it).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit._checkpoint import (
    Checkpoint,
)
from gateway.audit._evidence import EvidenceReport, check_inclusion, open_checkpoint, run_checks
from gateway.audit._log import StoredCheckpoint, TransparencyLog, canonical_entry
from gateway.audit._merkle import leaf_hash

__all__ = [
    "ARCHIVE_FORMAT",
    "check_archive",
    "document_sha256",
    "manifest_of",
    "prove_entries",
]

ARCHIVE_FORMAT = "tongban-evaluation-archive/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def document_sha256(document: Any) -> str:
    """Hex SHA-256 of the document's RFC 8785 canonical JSON."""
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def manifest_of(documents: Mapping[str, Any]) -> dict[str, Any]:
    """The hash manifest of a session's documents."""
    return {"documents": {name: document_sha256(document) for name, document in sorted(documents.items())}}


def prove_entries(log: TransparencyLog, indexes: Iterable[int]) -> tuple[StoredCheckpoint, dict[int, dict[str, Any]]]:
    """One checkpoint covering every entry named, and each entry as stored with its leaf hash and
    inclusion proof in that checkpoint's tree (blocks while a checkpoint is made: run in a thread)."""
    wanted = sorted(set(indexes))
    checkpoint = log.checkpoint_covering(wanted[-1] + 1 if wanted else 1)
    proven = {}
    for index in wanted:
        found = log.entry(index)
        if found is None:
            raise LookupError(f"no audit entry {index}")
        entry, leaf = found
        proven[index] = {
            "index": index,
            "entry": entry,
            "leaf_hash": _b64(leaf),
            "inclusion_proof": {
                "leaf_index": index,
                "tree_size": checkpoint.size,
                "hashes": [_b64(node) for node in log.inclusion_proof(index, checkpoint.size)],
            },
        }
    return checkpoint, proven


def check_archive(archive: Mapping[str, Any], public_key: Ed25519PublicKey) -> EvidenceReport:
    """Check an archive with nothing but the log's public key. Every check is reported; an archive of
    the wrong shape fails, never raises."""
    return run_checks(_check, archive, public_key, "archive shape", "session archive")


def _check(archive: Mapping[str, Any], public_key: Ed25519PublicKey, report: EvidenceReport) -> None:
    if not report.add("format", archive.get("format") == ARCHIVE_FORMAT, str(archive.get("format"))):
        return
    checkpoint = open_checkpoint(archive, public_key, report)
    if checkpoint is None:
        return
    session_id = archive["session_id"]
    events = archive.get("events") or []
    ids = [event["id"] for event in events]
    report.add(
        "events contiguous",
        bool(ids) and ids == list(range(1, len(ids) + 1)),
        f"{len(ids)} events, ids 1..{len(ids)} with no gap" if ids == list(range(1, len(ids) + 1)) else f"ids {ids}",
    )
    entries: dict[int, dict[str, Any]] = {}
    for event in events:
        entry = _check_event(report, event, session_id, checkpoint)
        if entry is not None:
            entries[event["id"]] = entry
    _check_documents(report, archive, events, entries)


def _check_event(
    report: EvidenceReport, event: Mapping[str, Any], session_id: Any, checkpoint: Checkpoint
) -> dict[str, Any] | None:
    """The event's entry: its leaf hash, its inclusion in the checkpoint's tree, and that it says
    what the event says, of this session. The entry if it is proven, else None."""
    label = f"event {event['id']}"
    audit = event.get("audit")
    if not isinstance(audit, dict) or not isinstance(audit.get("entry"), dict):
        report.add(f"{label} entry", False, "no audit entry proves this event")
        return None
    entry, index = audit["entry"], audit["index"]
    computed = leaf_hash(canonical_entry(entry))
    hashed = report.add(f"{label} leaf hash", _b64(computed) == audit.get("leaf_hash"), f"entry {index}")
    proof = audit.get("inclusion_proof") or {}
    proven = f"entry {index} in the tree of size {checkpoint.size}"
    included = check_inclusion(report, f"{label} inclusion", computed, index, proof, checkpoint, proven)
    same = report.add(
        f"{label} of this session",
        entry.get("session_id") == session_id and entry.get("event_id") == event["id"],
        f"entry {index}: session {entry.get('session_id')}, event {entry.get('event_id')}",
    )
    said = report.add(
        f"{label} data",
        entry.get("kind") == f"evaluation.{event['kind']}" and entry.get("data") == event.get("data"),
        f"{event['kind']}: the event's data is its entry's",
    )
    return entry if hashed and included and same and said else None


def _check_documents(
    report: EvidenceReport,
    archive: Mapping[str, Any],
    events: list[Mapping[str, Any]],
    entries: Mapping[int, Mapping[str, Any]],
) -> None:
    manifest = archive.get("manifest") or {}
    listed: Mapping[str, Any] = manifest.get("documents") or {}
    documents: Mapping[str, Any] = archive.get("documents") or {}
    withheld: Mapping[str, Any] = archive.get("withheld") or {}
    for name in sorted(set(listed) | set(documents) | set(withheld)):
        if name not in listed:
            report.add(f"document {name}", False, "not in the manifest")
        elif name in documents:
            digest = document_sha256(documents[name])
            report.add(f"document {name}", digest == listed[name], f"SHA-256 {digest}")
        elif name in withheld:
            report.add(f"document {name}", True, f"withheld ({withheld[name]}); its digest is in the manifest")
        else:
            report.add(f"document {name}", False, "in the manifest but neither in the archive nor withheld")
    binding = [event["id"] for event in events if "manifest_sha256" in (entries.get(event["id"], {}).get("data") or {})]
    digest = document_sha256(dict(manifest))
    if not binding:
        report.add("manifest", False, "no proven entry carries the manifest's digest (is the session archived?)")
    else:
        bound = entries[binding[-1]]["data"]["manifest_sha256"]
        report.add("manifest", digest == bound, f"SHA-256 {digest} is the manifest_sha256 of event {binding[-1]}")
    if "report" in documents:
        content_digest = document_sha256(documents["report"].get("content"))
        report.add(
            "report digest",
            content_digest == documents["report"].get("digest"),
            "the report's digest is SHA-256 of its content's RFC 8785 JSON",
        )
