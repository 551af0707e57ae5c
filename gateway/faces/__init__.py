"""Faces: decode a caller's request into an Exchange and encode the reply (REST now, SOAP later)."""

from __future__ import annotations

from gateway.faces._middleware import SigningMiddleware

__all__ = ["SigningMiddleware"]
