"""Who learns who sat: the experts' identities reach the session's supervisors only, until the award
is published (中标候选人公示); the notice names the committee, so from then on every reader of the
session sees each seat's member as the notice does — name, title, employer, city — and never the id
number or the pool's expert id, which no notice publishes."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["PUBLIC_IDENTITY_FIELDS", "award_published", "public_identity"]

PUBLIC_IDENTITY_FIELDS: Final = ("name", "title", "employer", "city")


def award_published(document: dict[str, Any]) -> bool:
    return document.get("award") is not None


def public_identity(identity: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the published notice says of a member."""
    if identity is None:
        return None
    return {name: identity[name] for name in PUBLIC_IDENTITY_FIELDS if name in identity}
