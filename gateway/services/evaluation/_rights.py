"""The evaluation service's access rights (a module of its own: the command line reads the package,
which must not load the web and database code to name them)."""

from __future__ import annotations

from typing import Final

__all__ = ["ORGANISE_RIGHT", "SUPERVISE_RIGHT", "VENUE_RIGHT"]

ORGANISE_RIGHT: Final = "evaluation.organise"
VENUE_RIGHT: Final = "evaluation.venue"
SUPERVISE_RIGHT: Final = "evaluation.supervise"
