"""Validators and makers for the national codes the gateway meets: GB 32100, GB 11714, GB 11643.

GB 32100-2015 unified social credit code (统一社会信用代码), 18 characters:

    position   1      2      3-8                9-17                          18
               登记管理 机构类别 登记管理机关行政区划码  主体标识码 (GB 11714 组织机构代码)   校验码
               部门代码 代码     (GB/T 2260)        8 characters + check digit

Its characters are 0-9 and the capitals without I, O, S, V, Z, valued 0-30 in that order. The
check character is (31 - Σ value_i·w_i mod 31) mod 31 with w_i = 3^(i-1) mod 31. Positions 9-17
are an organisation code with its own GB 11714 check digit: 11 - Σ value_i·w_i mod 11 over
weights 3, 7, 9, 10, 5, 8, 4, 2, where a letter is worth 10-35 by its place in A-Z (GB 11714's
value, not GB 32100's), 10 is written X and 11 is written 0.

GB 11643-1999 citizen identity number (公民身份号码), 18 characters: a six-digit GB/T 2260 address
code, the birth date as YYYYMMDD, a three-digit sequence code (odd for men, even for women) and
an ISO 7064 MOD 11-2 check character (weights 2^(18-i) mod 11, check (12 - Σ mod 11) mod 11, 10
written X).

Every validator returns None or raises InvalidCode with a message that says what is wrong. A
resident identity number is personal data: messages show it with the birth date masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from catalogs._errors import InvalidCode, UnknownCode
from catalogs._loader import region as _lookup_region

__all__ = [
    "ORGANISATION_TYPES",
    "REGISTRATION_AUTHORITIES",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "InvalidCode",
    "ResidentId",
    "holder_region",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_resident_id",
    "make_uscc",
    "organisation_code_check_digit",
    "parse_resident_id",
    "resident_id_check_character",
    "uscc_check_character",
    "validate_resident_id",
    "validate_uscc",
]

# ---- GB 32100 / GB 11714 -------------------------------------------------------------------------

USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100's 31 characters; a character's value is its index."""

USCC_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1-17: 3^(i-1) mod 31 = 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28."""

_USCC_VALUE: Final = {c: i for i, c in enumerate(USCC_CHARSET)}
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY: Final = re.compile(r"^[0-9A-Z]{8}$")

REGISTRATION_AUTHORITIES: Final = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
"""GB 32100 registration-authority codes (position 1) and the kind of registrar each stands for."""

ORGANISATION_TYPES: Final = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
}
"""Organisation-type codes (position 2) for the registration authorities whose types we rely on."""


def _uscc_label(code: object) -> str:
    return f"unified social credit code {code!r}"


def organisation_code_check_digit(body: str) -> str:
    """The GB 11714 check digit of an eight-character organisation code body (0-9, A-Z)."""
    if not isinstance(body, str) or not _ORG_BODY.match(body):
        raise InvalidCode(f"organisation code body {body!r} must be eight characters 0-9 or A-Z")
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character (position 18) of the first 17 characters of a code."""
    if not isinstance(first17, str) or len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise InvalidCode(f"{first17!r} must be 17 characters of the GB 32100 character set")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> None:
    """Check a unified social credit code: length, characters, region digits and both check characters.

    The registration authority and organisation type are not checked against a list, so that codes
    of registrars this catalogue does not describe still pass.
    """
    if not isinstance(code, str):
        raise InvalidCode(f"a unified social credit code must be a string, not {type(code).__name__}")
    if len(code) != 18:
        raise InvalidCode(f"{_uscc_label(code)} has {len(code)} characters; GB 32100 codes have 18")
    for position, char in enumerate(code[:17], start=1):
        if char not in _USCC_VALUE:
            raise InvalidCode(
                f"{_uscc_label(code)}: {char!r} at position {position} is not in the GB 32100 character set "
                "(0-9 and capital letters except I, O, S, V, Z)"
            )
    if not code[2:8].isdigit():
        raise InvalidCode(f"{_uscc_label(code)}: positions 3-8 must be a six-digit GB/T 2260 region code")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        aside = "" if code[17] in _USCC_VALUE else ", which is not in the GB 32100 character set"
        raise InvalidCode(f"{_uscc_label(code)}: check character should be {expected!r}, not {code[17]!r}{aside}")
    org_check = organisation_code_check_digit(code[8:16])
    if code[16] != org_check:
        raise InvalidCode(
            f"{_uscc_label(code)}: the organisation code {code[8:16]}-{code[16]} (positions 9-17) should end "
            f"in the GB 11714 check digit {org_check!r}"
        )


def is_valid_uscc(code: object) -> bool:
    """Whether `code` is a valid unified social credit code (validate_uscc says why not)."""
    try:
        validate_uscc(code)  # type: ignore[arg-type]
    except InvalidCode:
        return False
    return True


def make_uscc(registration_authority: str, org_type: str, region: str, org_code_body: str) -> str:
    """A unified social credit code with both check characters computed, for fictional test data.

    `region` must be a GB/T 2260 code in the catalogue's list; `org_code_body` is the eight
    characters of the organisation code before its check digit.
    """
    if registration_authority not in REGISTRATION_AUTHORITIES:
        known = ", ".join(REGISTRATION_AUTHORITIES)
        raise InvalidCode(f"registration authority {registration_authority!r} is not a GB 32100 code ({known})")
    if not isinstance(org_type, str) or len(org_type) != 1 or org_type not in _USCC_VALUE:
        raise InvalidCode(f"organisation type {org_type!r} must be one GB 32100 character")
    types = ORGANISATION_TYPES.get(registration_authority)
    if types is not None and org_type not in types:
        raise InvalidCode(
            f"organisation type {org_type!r} is not one of {', '.join(types)} for registration authority "
            f"{registration_authority!r}"
        )
    _known_region(region)
    if (
        not isinstance(org_code_body, str)
        or len(org_code_body) != 8
        or any(c not in _USCC_VALUE for c in org_code_body)
    ):
        raise InvalidCode(f"organisation code body {org_code_body!r} must be eight GB 32100 characters")
    first17 = registration_authority + org_type + region + org_code_body + organisation_code_check_digit(org_code_body)
    return first17 + uscc_check_character(first17)


def _known_region(code: str) -> None:
    try:
        _lookup_region(code)
    except UnknownCode as exc:
        raise InvalidCode(str(exc)) from None


# ---- GB 11643 ------------------------------------------------------------------------------------

_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_FORM: Final = re.compile(r"^\d{17}[\dX]$")
_EARLIEST_BIRTH_YEAR: Final = 1800
_RESIDENCE_PERMIT_PREFIXES: Final = frozenset({"810000", "820000", "830000"})
"""Residence permits of Hong Kong, Macao and Taiwan residents use these address codes (830000 is
not a GB/T 2260 code)."""


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A checked GB 11643 number and what it encodes."""

    number: str
    region: str
    birth_date: date
    sequence: int
    gender: Literal["male", "female"]


def _masked(number: object) -> str:
    """A resident identity number fit for a message: address code and last four shown, birth date hidden."""
    if isinstance(number, str) and len(number) == 18:
        return repr(number[:6] + "*" * 8 + number[14:])
    if isinstance(number, str):
        return f"of {len(number)} characters"
    return f"of type {type(number).__name__}"


def resident_id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a GB 11643 number."""
    if not isinstance(first17, str) or len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidCode("the body of a resident identity number must be 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def parse_resident_id(number: str, *, on: date | None = None) -> ResidentId:
    """Check a GB 11643 number and return what it encodes; InvalidCode says what is wrong.

    The address code is checked for its province (the first two digits) only: a number keeps the
    county code it was first issued under, which may since have been withdrawn. The birth date must
    be a real date, not before 1800 and, when `on` is given, not after it. An X check character
    must be upper case.
    """
    label = f"resident identity number {_masked(number)}"
    if not isinstance(number, str) or len(number) != 18:
        raise InvalidCode(f"{label}: GB 11643 numbers have 18 characters")
    if not number.isascii() or not _ID_FORM.match(number):
        raise InvalidCode(f"{label}: must be 17 digits and a check character 0-9 or X")
    prefix = number[:6]
    if prefix not in _RESIDENCE_PERMIT_PREFIXES:
        try:
            province = _lookup_region(prefix[:2] + "0000")
        except (InvalidCode, UnknownCode):
            province = None
        if province is None or province.level != "province":
            raise InvalidCode(f"{label}: {prefix[:2]} is not a GB/T 2260 province code")
    born = _birth_date(number[6:14])
    if born is None:
        raise InvalidCode(f"{label}: positions 7-14 are not a calendar date")
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidCode(f"{label}: birth year before {_EARLIEST_BIRTH_YEAR}")
    if on is not None and born > on:
        raise InvalidCode(f"{label}: birth date after {on.isoformat()}")
    expected = resident_id_check_character(number[:17])
    if number[17] != expected:
        raise InvalidCode(f"{label}: check character should be {expected!r}, not {number[17]!r}")
    sequence = int(number[14:17])
    return ResidentId(number, prefix, born, sequence, "male" if sequence % 2 else "female")


def validate_resident_id(number: str, *, on: date | None = None) -> None:
    """Check a GB 11643 resident identity number (see parse_resident_id for the rules)."""
    parse_resident_id(number, on=on)


def is_valid_resident_id(number: object, *, on: date | None = None) -> bool:
    """Whether `number` is a valid GB 11643 resident identity number."""
    try:
        parse_resident_id(number, on=on)  # type: ignore[arg-type]
    except InvalidCode:
        return False
    return True


def make_resident_id(region_code: str, birth_date: date, sequence: int) -> str:
    """A GB 11643 number with its check character, for fictional test data.

    `region_code` must be in the catalogue's GB/T 2260 list; `sequence` is 0-999, odd for a man and
    even for a woman.
    """
    _known_region(region_code)
    if not isinstance(birth_date, date) or birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidCode(f"birth date {birth_date!r} must be a date in or after {_EARLIEST_BIRTH_YEAR}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= 999:
        raise InvalidCode(f"sequence code {sequence!r} must be an integer 0-999")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_character(first17)


def holder_region(code: str) -> str:
    """The GB/T 2260 region a holder is registered in, from its own code: a unified social credit
    code's registration region (characters 3-8) or a resident ID number's address code.
    InvalidCode when the code is neither, check character included."""
    if is_valid_uscc(code):
        return code[2:8]
    try:
        return parse_resident_id(code).region
    except InvalidCode as exc:
        raise InvalidCode(
            "not a unified social credit code (GB 32100) nor a resident ID number (GB 11643), check character included"
        ) from exc
