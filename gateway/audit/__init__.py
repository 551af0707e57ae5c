"""Audit: the append-only record of everything that crosses the gateway."""

from __future__ import annotations

from gateway.audit._chain import AuditLog, AuditReceipt, ChainBreak, HashChainAuditLog, canonical_entry

__all__ = ["AuditLog", "AuditReceipt", "ChainBreak", "HashChainAuditLog", "canonical_entry"]
