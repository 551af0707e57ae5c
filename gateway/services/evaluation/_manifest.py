"""A session's documents as archived, and what binds their hash manifest: the organiser's move to
`archived` writes its state_changed event with the manifest's digest (so the event's audit entry
carries it), and the archive bundle proves the documents against that entry.

    session     the parameters (project, tenderer, bidders, venues, criteria, seed commitment...)
                and the seats without identities
    draw        the draw record: revealed seed, pool snapshot, committee, reserves, exclusions
    scores      every member's marks, by seat and bidder
    report      the drafted report {"content", "digest", ...}, when drafted
    signatures  the members' signatures on the report's digest, by seat, when signed
    earlier_scores  the marks of committees dissolved after marking (re-formed), by seat and bidder

`draw` and `signatures` name the experts (pool ids; certificates): only supervisors receive them,
everyone else finds them withheld, their digests still in the manifest.
"""

from __future__ import annotations

from typing import Any, Final

from gateway.audit import document_sha256, manifest_of

__all__ = ["IDENTIFYING_DOCUMENTS", "archive_binding", "session_documents"]

# What a session's parameters are (the creation request, checked), beside the seed commitment and
# the digests of earlier draws of a re-formed committee: named, so that nothing added to the
# document later (and perhaps naming someone) slips into the archive unseen.
_SESSION_FIELDS: Final = (
    "project_code",
    "title",
    "tenderer",
    "bidders",
    "main_venue",
    "secondary_venues",
    "committee_size",
    "tenderer_representatives",
    "specialties",
    "evaluation_at",
    "avoid_recent_days",
    "criteria",
    "supervising_department",
    "seed_commitment",
    "earlier_draws",
    "award",
)
_SEAT_FIELDS: Final = ("seat", "kind", "venue", "specialty")
_OWN_DOCUMENTS: Final = ("draw", "scores", "report", "signatures", "earlier_scores")
IDENTIFYING_DOCUMENTS: Final = frozenset({"draw", "signatures"})


def session_documents(session_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """The session's documents by name (those it has so far)."""
    parameters: dict[str, Any] = {name: document[name] for name in _SESSION_FIELDS if name in document}
    parameters["id"] = session_id
    parameters["seats"] = [{name: seat.get(name) for name in _SEAT_FIELDS} for seat in document.get("seats", [])]
    documents = {"session": parameters}
    documents.update({name: document[name] for name in _OWN_DOCUMENTS if document.get(name) is not None})
    return documents


def archive_binding(session_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """What the move to `archived` records: which documents were archived and their manifest's digest."""
    documents = session_documents(session_id, document)
    return {"documents": sorted(documents), "manifest_sha256": document_sha256(manifest_of(documents))}
