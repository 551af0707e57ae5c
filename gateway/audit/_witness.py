"""Cross-witnessing: countersign another gateway's checkpoint only if it is consistent with the last
one we countersigned, so that a log rewritten or forked behind our back is caught."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, update

from gateway.audit._checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    MalformedNote,
    UnverifiedNote,
    Verifier,
    add_signature,
    open_note,
    parse_checkpoint,
)
from gateway.audit._merkle import InvalidProof, verify_consistency
from gateway.storage import Database, audit_witnessed

__all__ = ["WitnessRefused", "WitnessedState", "cosign_checkpoint", "load_witnessed", "save_witnessed"]


class WitnessRefused(Exception):
    """The other log's checkpoint must not be countersigned; the message says why."""


@dataclass(frozen=True)
class WitnessedState:
    origin: str
    size: int
    root: bytes
    note: str


def cosign_checkpoint(
    note: str,
    *,
    origin_verifier: Verifier,
    previous: WitnessedState | None,
    consistency_proof: Callable[[int, int], Sequence[bytes]],
    witness_name: str,
    witness_key: Ed25519PrivateKey,
) -> tuple[str, WitnessedState]:
    """Check the note's signature and its consistency with `previous`; return it cosigned, and the new state."""
    try:
        text, _signers = open_note(note, [origin_verifier])
        checkpoint: Checkpoint = parse_checkpoint(text)
    except (MalformedNote, UnverifiedNote, MalformedCheckpoint) as exc:
        raise WitnessRefused(f"the checkpoint does not verify with {origin_verifier.name}'s key: {exc}") from exc
    if checkpoint.origin != origin_verifier.name:
        raise WitnessRefused(f"the checkpoint is of {checkpoint.origin!r}, the key of {origin_verifier.name!r}")
    if previous is not None:
        if checkpoint.size < previous.size:
            raise WitnessRefused(
                f"{checkpoint.origin} went back from {previous.size} to {checkpoint.size} entries: history was removed"
            )
        if checkpoint.size == previous.size and checkpoint.root_hash != previous.root:
            raise WitnessRefused(f"{checkpoint.origin} shows two different trees of size {checkpoint.size}: a fork")
        if checkpoint.size > previous.size:
            proof = consistency_proof(previous.size, checkpoint.size)
            try:
                verify_consistency(previous.size, checkpoint.size, previous.root, checkpoint.root_hash, list(proof))
            except InvalidProof as exc:
                raise WitnessRefused(
                    f"{checkpoint.origin} at {checkpoint.size} entries does not extend what we witnessed at "
                    f"{previous.size}: its history was rewritten"
                ) from exc
    cosigned = add_signature(note, witness_name, witness_key)
    return cosigned, WitnessedState(checkpoint.origin, checkpoint.size, checkpoint.root_hash, cosigned)


def load_witnessed(database: Database, origin: str) -> WitnessedState | None:
    with database.read() as connection:
        row = connection.execute(select(audit_witnessed).where(audit_witnessed.c.origin == origin)).first()
    return None if row is None else WitnessedState(row.origin, row.size, bytes(row.root), row.note)


def save_witnessed(database: Database, state: WitnessedState, now: datetime) -> None:
    values = {"size": state.size, "root": state.root, "note": state.note, "witnessed_at": now}
    with database.write() as connection:
        updated = connection.execute(
            update(audit_witnessed)
            .where(audit_witnessed.c.origin == state.origin, audit_witnessed.c.size <= state.size)
            .values(**values)
        ).rowcount
        if not updated:
            exists = connection.execute(
                select(audit_witnessed.c.size).where(audit_witnessed.c.origin == state.origin)
            ).first()
            if exists is not None:
                raise WitnessRefused(f"a later checkpoint of {state.origin} ({exists.size}) was witnessed meanwhile")
            connection.execute(insert(audit_witnessed).values(origin=state.origin, **values))
