"""Audit: the append-only, verifiable record of everything that crosses the gateway.

An RFC 9162 Merkle tree over RFC 8785 canonical JSON entries, C2SP signed checkpoints, inclusion
and consistency proofs, encrypted bodies kept apart from the tree, and evidence bundles (one
exchange) and session archives (one evaluation session's events and documents) that a third party
checks offline with only the log's public key.
"""

from __future__ import annotations

from gateway.audit._archive import (
    ARCHIVE_FORMAT,
    check_archive,
    document_sha256,
    manifest_of,
    prove_entries,
)
from gateway.audit._bodies import BodyCipher, BodyUnreadable
from gateway.audit._checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    MalformedNote,
    UnverifiedNote,
    Verifier,
    add_signature,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key_string,
)
from gateway.audit._evidence import EVIDENCE_FORMAT, EvidenceCheck, EvidenceReport, build_evidence, check_evidence
from gateway.audit._log import (
    AuditLog,
    AuditReceipt,
    BodyToKeep,
    CheckpointSigner,
    LogBroken,
    StoredCheckpoint,
    TokenToSpend,
    TransparencyLog,
    canonical_entry,
)
from gateway.audit._merkle import (
    EMPTY_ROOT,
    CompactRange,
    InvalidProof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.audit._witness import (
    WitnessedState,
    WitnessRefused,
    cosign_checkpoint,
    load_witnessed,
    save_witnessed,
)

__all__ = [
    "ARCHIVE_FORMAT",
    "AuditLog",
    "AuditReceipt",
    "BodyCipher",
    "BodyToKeep",
    "BodyUnreadable",
    "Checkpoint",
    "CheckpointSigner",
    "CompactRange",
    "EMPTY_ROOT",
    "EVIDENCE_FORMAT",
    "EvidenceCheck",
    "EvidenceReport",
    "InvalidProof",
    "LogBroken",
    "MalformedCheckpoint",
    "MalformedNote",
    "StoredCheckpoint",
    "TokenToSpend",
    "TransparencyLog",
    "UnverifiedNote",
    "Verifier",
    "WitnessRefused",
    "WitnessedState",
    "add_signature",
    "build_evidence",
    "canonical_entry",
    "check_archive",
    "check_evidence",
    "cosign_checkpoint",
    "document_sha256",
    "format_checkpoint",
    "leaf_hash",
    "load_witnessed",
    "manifest_of",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "prove_entries",
    "root_from_leaf_hashes",
    "save_witnessed",
    "sign_note",
    "verifier_key_string",
    "verify_consistency",
    "verify_inclusion",
]
