"""GB/T 36904 licence identifiers: published identifiers, every malformed part named, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogs._codes import make_uscc
from catalogs._errors import InvalidCode
from catalogs._licence_ids import (
    LICENCE_ID_ROOT,
    LicenceIdentifier,
    format_licence_identifier,
    parse_licence_identifier,
)

# Identifiers as they appear in public government-service code (their issuers' codes are real and valid).
PUBLISHED = [
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
]
ISSUER = make_uscc("1", "1", "440300", "MB2C9231")
VALID = f"{LICENCE_ID_ROOT}.11100000000013338W001.{ISSUER}.SZ2026000123.001.7"


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_identifiers_parse(text: str) -> None:
    identifier = parse_licence_identifier(text)
    assert identifier.text == str(identifier) == text
    assert identifier.type_authority_code is not None
    assert identifier.licence_type_code == identifier.type_authority_code + (identifier.type_sequence or "")
    assert identifier.check_character_verified is False


def test_the_parts_are_named() -> None:
    identifier = parse_licence_identifier(VALID)
    assert identifier == LicenceIdentifier("11100000000013338W001", ISSUER, "SZ2026000123", "001", "7")
    assert identifier.type_authority_code == "11100000000013338W"
    assert identifier.type_sequence == "001"
    assert identifier.version_number == 1


def test_type_codes_of_another_form_are_kept_without_a_decomposition() -> None:
    identifier = parse_licence_identifier(f"{LICENCE_ID_ROOT}.SZYYZZ.{ISSUER}.1.001.A")
    assert identifier.licence_type_code == "SZYYZZ"
    assert identifier.type_authority_code is None and identifier.type_sequence is None


def test_the_check_character_is_data_not_a_verdict() -> None:
    # The algorithm is not confirmed from the standard (see the module docstring): any character
    # of the right kind is kept, and the result says it was not verified.
    for check in "0AZ":
        identifier = parse_licence_identifier(VALID[:-1] + check)
        assert identifier.check_character == check
        assert identifier.check_character_verified is False


@pytest.mark.parametrize(
    ("text", "part"),
    [
        (VALID.replace("1.2.156.3005.2", "1.2.156.3005.1"), "root code"),
        (VALID[len(LICENCE_ID_ROOT) + 1 :], "root code"),
        (VALID + ".X", "five parts"),
        (VALID.rsplit(".", 1)[0], "five parts"),
        (VALID.replace("11100000000013338W001", "11100000000013338w001"), "licence type code"),
        (VALID.replace("11100000000013338W001", ""), "licence type code"),
        (VALID.replace(ISSUER, ISSUER[:-1] + ("0" if ISSUER[-1] != "0" else "1")), "issuer code"),
        (VALID.replace(ISSUER, "340100"), "issuer code"),
        (VALID.replace("SZ2026000123", "SZ-2026"), "serial number"),
        (VALID.replace("SZ2026000123", "X" * 65), "serial number"),
        (VALID.replace(".001.", ".000."), "version"),
        (VALID.replace(".001.", ".1."), "version"),
        (VALID.replace(".001.", ".0001."), "version"),
        (VALID[:-1] + "*", "check character"),
        (VALID[:-1] + "a", "check character"),
        (VALID + "7", "check character"),
        (" " + VALID, "root code"),
        (VALID + "\n", "check character"),
        ("1.2.156.3005.2." + "A" * 300, "longer than"),
    ],
)
def test_each_malformed_part_is_named(text: str, part: str) -> None:
    with pytest.raises(InvalidCode, match=part):
        parse_licence_identifier(text)


def test_the_published_sample_with_a_region_for_an_issuer_is_refused() -> None:
    # Seen in the wild: the issuer part holds a region code, not a unified social credit code.
    with pytest.raises(InvalidCode, match="issuer code"):
        parse_licence_identifier("1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9")


def test_non_strings_are_refused() -> None:
    with pytest.raises(InvalidCode, match="string"):
        parse_licence_identifier(1.2)  # type: ignore[arg-type]


def test_formatting_checks_each_part() -> None:
    assert format_licence_identifier("11100000000013338W001", ISSUER, "SZ2026000123", 1, "7") == VALID
    assert format_licence_identifier("11100000000013338W001", ISSUER, "SZ2026000123", "001", "7") == VALID
    with pytest.raises(InvalidCode, match="issuer code"):
        format_licence_identifier("11100000000013338W001", "91440300MA5G9GXA6X", "1", 1, "7")
    with pytest.raises(InvalidCode, match="version"):
        format_licence_identifier("11100000000013338W001", ISSUER, "1", 1000, "7")
    with pytest.raises(InvalidCode, match="version"):
        format_licence_identifier("11100000000013338W001", ISSUER, "1", True, "7")
    with pytest.raises(InvalidCode, match="check character"):
        format_licence_identifier("11100000000013338W001", ISSUER, "1", 1, "")
    with pytest.raises(InvalidCode, match="strings"):
        format_licence_identifier("11100000000013338W001", ISSUER, 1, 1, "7")  # type: ignore[arg-type]


_CAPITALS_AND_DIGITS = st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ORG_CHARSET = st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXY")


@given(
    org_body=st.text(_ORG_CHARSET, min_size=8, max_size=8),
    serial=st.text(_CAPITALS_AND_DIGITS, min_size=1, max_size=64),
    version=st.integers(1, 999),
    check=_CAPITALS_AND_DIGITS,
)
def test_formatted_identifiers_parse_back(org_body: str, serial: str, version: int, check: str) -> None:
    issuer = make_uscc("9", "1", "442000", org_body)
    text = format_licence_identifier("11100000000013338W011", issuer, serial, version, check)
    identifier = parse_licence_identifier(text)
    assert (identifier.issuer_code, identifier.serial, identifier.version_number, identifier.check_character) == (
        issuer,
        serial,
        version,
        check,
    )
    assert identifier.text == text
