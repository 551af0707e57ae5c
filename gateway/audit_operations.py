"""Reading the audit log over the gateway: entries, proofs, evidence, cosignatures (metadata reads,
so not themselves audited). Who may read what is decided here, once."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from gateway import errors
from gateway.audit import TransparencyLog, build_evidence, parse_verifier_key
from gateway.operations import LocalOperation, whole_number
from gateway.registry import find_member, has_right

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.runtime import Runtime

__all__ = [
    "AUDIT_READ_RIGHT",
    "MAX_ENTRY_INDEX",
    "MAX_TREE_SIZE",
    "WITNESS_RIGHT",
    "consistency_operation",
    "cosign_operation",
    "entry_operation",
    "evidence_operation",
    "proof_operation",
]

AUDIT_READ_RIGHT = "audit.read"
WITNESS_RIGHT = "audit.witness"
# Tree sizes (tree_size, first, second, a cosigned size) lie in 0..2^53 and entry indexes below
# that: JSON's exact integers, and far inside the database's 64-bit ones. An index in range but
# past the log's end is 404; anything out of range is 422.
MAX_TREE_SIZE = 2**53
MAX_ENTRY_INDEX = MAX_TREE_SIZE - 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _log(runtime: Runtime) -> TransparencyLog:
    if runtime.transparency_log is None:
        raise errors.ServiceUnavailable("this gateway keeps no transparency log")
    return runtime.transparency_log


def _int_param(exchange: Exchange, name: str) -> int:
    value = _optional_int_param(exchange, name)
    if value is None:
        raise errors.InvalidContent(f"{name} is required")
    return value


def _optional_int_param(exchange: Exchange, name: str) -> int | None:
    values = parse_qs(exchange.request.query).get(name)
    if not values:
        return None
    if len(values) > 1:
        raise errors.InvalidContent(f"{name} is given more than once")
    return whole_number(values[0], name, low=0, high=MAX_TREE_SIZE)


def _check_index(index: int) -> None:
    if not 0 <= index <= MAX_ENTRY_INDEX:
        raise errors.InvalidContent(f"index must be a whole number from 0 to {MAX_ENTRY_INDEX}")


def _check_may_read(runtime: Runtime, exchange: Exchange, entries: list[dict[str, Any]]) -> None:
    """The exchange's client and provider may read its entries; so may holders of audit.read."""
    assert exchange.caller is not None
    caller = exchange.caller.id
    if any(caller in (entry.get("client"), entry.get("provider")) for entry in entries):
        return
    with runtime.database.read() as connection:
        if has_right(connection, caller, AUDIT_READ_RIGHT):
            return
    raise errors.AccessDenied(f"only the exchange's client and provider, or holders of {AUDIT_READ_RIGHT}, may read it")


def _entry(runtime: Runtime, exchange: Exchange, index: int) -> dict[str, Any]:
    _check_index(index)
    found = _log(runtime).entry(index)
    if found is None:
        raise errors.NotFound(f"no audit entry {index}")
    entry, leaf = found
    _check_may_read(runtime, exchange, [entry])
    return {"index": index, "entry": entry, "leaf_hash": _b64(leaf)}


def _proof(runtime: Runtime, exchange: Exchange, index: int) -> dict[str, Any]:
    _check_index(index)
    log = _log(runtime)
    found = log.entry(index)
    if found is None:
        raise errors.NotFound(f"no audit entry {index}")
    _check_may_read(runtime, exchange, [found[0]])
    # Without tree_size: the newest checkpoint that includes the entry (made on demand if needed).
    tree_size = _optional_int_param(exchange, "tree_size")
    if tree_size is None:
        tree_size = log.checkpoint_covering(index + 1).size
    if not index < tree_size <= log.size():
        raise errors.InvalidContent(f"tree_size must be above {index} and at most {log.size()}")
    hashes = log.inclusion_proof(index, tree_size)
    return {"leaf_index": index, "tree_size": tree_size, "hashes": [_b64(node) for node in hashes]}


def _consistency(runtime: Runtime, exchange: Exchange) -> dict[str, Any]:
    log = _log(runtime)
    first, second = _int_param(exchange, "first"), _int_param(exchange, "second")
    if not 0 <= first <= second <= log.size():
        raise errors.InvalidContent(f"need 0 ≤ first ≤ second ≤ {log.size()}")
    return {
        "first": first,
        "second": second,
        "hashes": [_b64(node) for node in log.consistency_proof(first, second)],
    }


def evidence_bundle(runtime: Runtime, exchange_id: str) -> dict[str, Any] | None:
    """The evidence bundle, with the certificates of the members it names and the gateway's JWKS."""
    log = _log(runtime)
    entries = [entry for _index, entry in log.entries_for(exchange_id)]
    if not entries:
        return None
    names = {entry.get(role) for entry in entries for role in ("client", "provider")} - {None}
    certificates = {}
    with runtime.database.read() as connection:
        for name in sorted(str(n) for n in names):
            member = find_member(connection, name)
            if member is not None:
                certificates[name] = member.certificate.pem
    return build_evidence(log, exchange_id, certificates=certificates, gateway_jwks=runtime.keyring.jwks())


def _evidence(runtime: Runtime, exchange: Exchange, exchange_id: str) -> dict[str, Any]:
    entries = [entry for _index, entry in _log(runtime).entries_for(exchange_id)]
    if not entries:
        raise errors.NotFound(f"no audited exchange {exchange_id}")
    _check_may_read(runtime, exchange, entries)
    bundle = evidence_bundle(runtime, exchange_id)
    assert bundle is not None
    return bundle


def _cosign(runtime: Runtime, exchange: Exchange) -> dict[str, Any]:
    log = _log(runtime)
    size = _int_param(exchange, "size")
    try:
        note = exchange.request.body.decode("utf-8")
        witnesses = [parse_verifier_key(key) for key in runtime.settings.audit_witness_keys]
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.InvalidContent(f"cannot read the cosigned checkpoint: {exc}") from exc
    if not witnesses:
        raise errors.InvalidContent("no witness keys are configured (audit_witness_keys)")
    stored = log.add_cosignature(size, note, witnesses)
    return {"size": stored.size, "note": stored.note}


def entry_operation(index: int) -> LocalOperation:
    return LocalOperation(name="audit.entry", compute=lambda runtime, exchange: _entry(runtime, exchange, index))


def proof_operation(index: int) -> LocalOperation:
    return LocalOperation(name="audit.proof", compute=lambda runtime, exchange: _proof(runtime, exchange, index))


def consistency_operation() -> LocalOperation:
    return LocalOperation(name="audit.consistency", compute=_consistency)


def evidence_operation(exchange_id: str) -> LocalOperation:
    return LocalOperation(
        name="audit.evidence", compute=lambda runtime, exchange: _evidence(runtime, exchange, exchange_id)
    )


def cosign_operation() -> LocalOperation:
    return LocalOperation(name="audit.cosign", compute=_cosign, required_right=WITNESS_RIGHT)
