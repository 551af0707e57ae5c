"""GB/T 36904-2018 electronic licence identifiers (电子证照标识): parse, check and format them.

An identifier is six dot-separated parts after the root:

    1.2.156.3005.2 . 11100000000013338W011 . 11430000006122244L . 20230000403 . 001 . U
    root code        licence type code       issuer (GB 32100)    serial        version check

- root code: 1.2.156.3005.2, the OID arc of electronic licences;
- licence type code: capitals and digits. Every published identifier we found has the form of
  GB/T 36902's type code, the defining department's unified social credit code and a three-digit
  number (`type_authority_code`, `type_sequence`); other forms are kept, not refused;
- issuer: the unified social credit code of the issuing authority, checked with validate_uscc
  (both of its check characters);
- serial number: capitals and digits, at most 64 (the issuer's own numbering);
- version: three digits, from 001;
- check character: one capital or digit.

The check character is NOT verified. We could not read its algorithm in the text of GB/T 36904
itself (the standard is not in our sources); secondary sources (blog posts and vendors' code)
name ISO/IEC 7064 MOD 37,36 over the concatenated parts, which fits some published identifiers
and not others. Until the rule is confirmed from the standard, the character is kept as data and
every parsed identifier says `check_character_verified=False`, so no caller mistakes a
well-formed identifier for a verified one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from catalogs._codes import is_valid_uscc, validate_uscc
from catalogs._errors import InvalidCode

__all__ = ["LICENCE_ID_ROOT", "LicenceIdentifier", "format_licence_identifier", "parse_licence_identifier"]

LICENCE_ID_ROOT: Final = "1.2.156.3005.2"
"""The root code every electronic licence identifier starts with."""

_TYPE_CODE: Final = re.compile(r"^[0-9A-Z]{1,32}$")
_SERIAL: Final = re.compile(r"^[0-9A-Z]{1,64}$")
_VERSION: Final = re.compile(r"^(?!000)[0-9]{3}$")
_CHECK: Final = re.compile(r"^[0-9A-Z]$")
_MAX_LENGTH: Final = 256


@dataclass(frozen=True, slots=True)
class LicenceIdentifier:
    """A GB/T 36904 identifier whose parts are well formed (the check character is not verified)."""

    licence_type_code: str
    issuer_code: str  # GB 32100 unified social credit code of the issuing authority
    serial: str
    version: str  # three digits, "001" first
    check_character: str
    # False until the check algorithm is confirmed from the standard's text: see the module docstring.
    check_character_verified: bool = False

    @property
    def text(self) -> str:
        return ".".join(
            (LICENCE_ID_ROOT, self.licence_type_code, self.issuer_code, self.serial, self.version, self.check_character)
        )

    @property
    def version_number(self) -> int:
        return int(self.version)

    @property
    def type_authority_code(self) -> str | None:
        """The unified social credit code at the head of a type code of the usual form, else None."""
        head = self.licence_type_code[:18]
        if len(self.licence_type_code) == 21 and self.licence_type_code[18:].isdigit() and is_valid_uscc(head):
            return head
        return None

    @property
    def type_sequence(self) -> str | None:
        """The three digits after the defining department's code in a type code of the usual form, else None."""
        return self.licence_type_code[18:] if self.type_authority_code is not None else None

    def __str__(self) -> str:
        return self.text


def _label(text: object) -> str:
    if isinstance(text, str) and len(text) <= _MAX_LENGTH:
        return f"licence identifier {text!r}"
    return "licence identifier"


def _check_parts(licence_type_code: str, issuer_code: str, serial: str, version: str, check: str, label: str) -> None:
    if not _TYPE_CODE.fullmatch(licence_type_code):
        raise InvalidCode(f"{label}: the licence type code must be 1 to 32 capital letters or digits")
    try:
        validate_uscc(issuer_code)
    except InvalidCode as exc:
        raise InvalidCode(f"{label}: the issuer code is not a valid unified social credit code ({exc})") from None
    if not _SERIAL.fullmatch(serial):
        raise InvalidCode(f"{label}: the serial number must be 1 to 64 capital letters or digits")
    if not _VERSION.fullmatch(version):
        raise InvalidCode(f"{label}: the version must be three digits from 001")
    if not _CHECK.fullmatch(check):
        raise InvalidCode(f"{label}: the check character must be one capital letter or digit")


def parse_licence_identifier(text: str) -> LicenceIdentifier:
    """Parse a GB/T 36904 identifier; InvalidCode names the part that is wrong.

    Surrounding whitespace is not stripped and letters are not upper-cased: an identifier is
    compared as written, so a near miss is refused rather than silently repaired.
    """
    if not isinstance(text, str):
        raise InvalidCode(f"a licence identifier must be a string, not {type(text).__name__}")
    label = _label(text)
    if len(text) > _MAX_LENGTH:
        raise InvalidCode(f"{label} is longer than {_MAX_LENGTH} characters")
    root_prefix = LICENCE_ID_ROOT + "."
    if not text.startswith(root_prefix):
        raise InvalidCode(f"{label}: the root code must be {LICENCE_ID_ROOT}")
    parts = text[len(root_prefix) :].split(".")
    if len(parts) != 5:
        raise InvalidCode(
            f"{label}: after the root code come five parts (type code, issuer, serial, version, check "
            f"character), not {len(parts)}"
        )
    licence_type_code, issuer_code, serial, version, check = parts
    _check_parts(licence_type_code, issuer_code, serial, version, check, label)
    return LicenceIdentifier(licence_type_code, issuer_code, serial, version, check)


def format_licence_identifier(
    licence_type_code: str, issuer_code: str, serial: str, version: int | str, check_character: str
) -> str:
    """The identifier text from its parts, each checked as parse_licence_identifier checks it.

    `version` may be an int (1 becomes "001"). The check character is taken as given: this module
    does not compute one (see the module docstring), so seed data must say where theirs came from.
    """
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidCode("the version must be an int or three digits")
    version_text = f"{version:03d}" if isinstance(version, int) and 0 <= version <= 999 else str(version)
    parts = (licence_type_code, issuer_code, serial, version_text, check_character)
    if not all(isinstance(part, str) for part in parts):
        raise InvalidCode("the parts of a licence identifier must be strings")
    _check_parts(*parts, label="licence identifier")
    return ".".join((LICENCE_ID_ROOT, *parts))
