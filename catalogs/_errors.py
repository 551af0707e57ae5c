"""The catalogue's errors, all ValueErrors, so a caller may catch one family or one case.

    CatalogError (ValueError)
    ├── InvalidCode         a code breaks its standard: GB 32100, GB 11714, GB 11643, GB/T 2260 form
    ├── UnknownCode         a well-formed key the catalogue has no entry for: a city's code, a canonical
    │                       code, a region, a city, a code table, a record type, a field, a service
    └── CatalogDataError    a file under catalogs/data is malformed (a bug in the data, found on loading)

These are library errors: the gateway turns them into its own (for example InvalidCode into 422
request.invalid) at its boundary, `raise ... from exc`.
"""

from __future__ import annotations

__all__ = ["CatalogDataError", "CatalogError", "InvalidCode", "UnknownCode"]


class CatalogError(ValueError):
    """Root of the catalogue's errors."""


class InvalidCode(CatalogError):
    """A code fails its standard's structure or check character."""


class UnknownCode(CatalogError):
    """A well-formed code, name or key that the catalogue does not hold."""


class CatalogDataError(CatalogError):
    """A data file under catalogs/data breaks the catalogue's own rules."""
