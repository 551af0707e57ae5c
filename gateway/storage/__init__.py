"""Storage: the database handle and the tables."""

from __future__ import annotations

from gateway.storage._database import Database
from gateway.storage._tables import (
    UTCDateTime,
    access_rights,
    audit_bodies,
    audit_checkpoints,
    audit_entries,
    audit_head,
    audit_nodes,
    audit_witnessed,
    circuit_states,
    idempotency_records,
    members,
    metadata,
    registry_version,
    seen_tokens,
    services,
    trust_lists,
)

__all__ = [
    "Database",
    "UTCDateTime",
    "access_rights",
    "audit_bodies",
    "audit_checkpoints",
    "audit_entries",
    "audit_head",
    "audit_nodes",
    "audit_witnessed",
    "circuit_states",
    "idempotency_records",
    "members",
    "metadata",
    "registry_version",
    "seen_tokens",
    "services",
    "trust_lists",
]
