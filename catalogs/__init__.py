"""Catalogs: code tables, field maps and GB/T 2260 regions as data, the national-code validators, and their loader.

The data lives in catalogs/data/ (JSON, shipped as package data):

    regions.json               GB/T 2260 divisions the gateway needs (code, name, parent)
    cities.json                the partner cities: id, GB/T 2260 code, name
    code_tables/<name>.json    canonical codes <-> each city's codes and labels, one file per table
    field_maps/<city>.json     per canonical record type, each field's name, format and code table

`catalogs.seed` generates the sandboxes' fictional enterprises, persons, licences and credit data.
"""

from __future__ import annotations

from catalogs._codes import (
    ORGANISATION_TYPES,
    REGISTRATION_AUTHORITIES,
    USCC_CHARSET,
    USCC_WEIGHTS,
    ResidentId,
    holder_region,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    make_uscc,
    organisation_code_check_digit,
    parse_resident_id,
    resident_id_check_character,
    uscc_check_character,
    validate_resident_id,
    validate_uscc,
)
from catalogs._errors import CatalogDataError, CatalogError, InvalidCode, UnknownCode
from catalogs._licence_ids import (
    LICENCE_ID_ROOT,
    LicenceIdentifier,
    format_licence_identifier,
    parse_licence_identifier,
)
from catalogs._loader import (
    FORMATS,
    City,
    CodeTable,
    FieldMap,
    FieldSpec,
    RecordMap,
    Region,
    Service,
    cities,
    city,
    code_table,
    code_table_names,
    field_map,
    region,
    regions,
)

__all__ = [
    "CatalogDataError",
    "CatalogError",
    "City",
    "CodeTable",
    "FORMATS",
    "FieldMap",
    "FieldSpec",
    "InvalidCode",
    "LICENCE_ID_ROOT",
    "LicenceIdentifier",
    "ORGANISATION_TYPES",
    "REGISTRATION_AUTHORITIES",
    "RecordMap",
    "Region",
    "ResidentId",
    "Service",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "UnknownCode",
    "cities",
    "city",
    "code_table",
    "code_table_names",
    "field_map",
    "format_licence_identifier",
    "holder_region",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_resident_id",
    "make_uscc",
    "organisation_code_check_digit",
    "parse_licence_identifier",
    "parse_resident_id",
    "region",
    "regions",
    "resident_id_check_character",
    "uscc_check_character",
    "validate_resident_id",
    "validate_uscc",
]
