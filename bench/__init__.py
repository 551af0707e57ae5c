"""Benchmarks of Tongban, run by `python -m bench` (or `make bench`); never part of the test suite."""

from __future__ import annotations

__all__: list[str] = []
