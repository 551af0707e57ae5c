"""Tongban gateway: app wiring, settings, errors, the exchange pipeline and its faces."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
