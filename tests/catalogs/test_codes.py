"""GB 32100 / GB 11714 / GB 11643 validators and GB/T 2260 lookups: published vectors and Hypothesis."""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import load_vectors
from hypothesis import given
from hypothesis import strategies as st

from catalogs import (
    ORGANISATION_TYPES,
    REGISTRATION_AUTHORITIES,
    USCC_CHARSET,
    USCC_WEIGHTS,
    CatalogError,
    InvalidCode,
    UnknownCode,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    make_uscc,
    organisation_code_check_digit,
    parse_resident_id,
    region,
    regions,
    resident_id_check_character,
    uscc_check_character,
    validate_resident_id,
    validate_uscc,
)

USCC_VECTORS = load_vectors("gb32100-uscc.json")


def _vector_codes(kind: str) -> list[str]:
    return [v["code"] for v in USCC_VECTORS[kind]]


# ---- GB 32100: the published vectors -------------------------------------------------------------


def test_the_algorithm_matches_the_standard_text() -> None:
    text = USCC_VECTORS["standard"]
    charset = re.search(r"charset ([0-9A-Z]+) \(values 0-30\)", text)
    assert charset and charset.group(1) == USCC_CHARSET
    weights = re.search(r"weights for positions 1-17 are .*? = ([\d,]+);", text)
    assert weights and tuple(int(w) for w in weights.group(1).split(",")) == USCC_WEIGHTS
    org_weights = re.search(r"weights ([\d, ]+); c = 11 - sum mod 11", text)
    assert org_weights and [int(w) for w in org_weights.group(1).split(",")] == [3, 7, 9, 10, 5, 8, 4, 2]
    assert "10 -> X, 11 -> 0" in text


@pytest.mark.parametrize("code", _vector_codes("valid_published"))
def test_published_codes_are_valid(code: str) -> None:
    validate_uscc(code)
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]
    assert organisation_code_check_digit(code[8:16]) == code[16]


def test_every_invalid_vector_is_rejected_for_its_reason() -> None:
    assert USCC_VECTORS["invalid"], "the vector file lists invalid codes"
    for vector in USCC_VECTORS["invalid"]:
        with pytest.raises(InvalidCode) as caught:
            validate_uscc(vector["code"])
        assert not is_valid_uscc(vector["code"])
        message = str(caught.value)
        assert vector["code"] in message
        expected = re.search(r"should be (\w)", vector["why"])
        if expected:
            assert f"should be {expected.group(1)!r}" in message, (vector, message)
        if "not in the charset" in vector["why"]:
            bad = vector["why"].split()[0]
            assert f"{bad!r} at position" in message and "character set" in message


def test_a_check_character_outside_the_charset_still_names_the_right_one() -> None:
    with pytest.raises(InvalidCode, match=r"should be '3', not 'Z', which is not in the GB 32100 character set"):
        validate_uscc("91350100M000100Y4Z")


def test_the_organisation_code_values_letters_as_gb_11714_does() -> None:
    # GB 11714 values letters A-Z as 10-35, GB 32100 values its 31 characters 0-30. They differ for
    # any letter after H, so an organisation code with letters tells which one is used. This code,
    # quoted as a sample elsewhere ("MJX17369-9"), carries a consistent GB 32100 check character.
    code = "53640000MJX1736997"
    validate_uscc(code)
    assert organisation_code_check_digit("MJX17369") == "9"
    gb32100_valued = sum(USCC_CHARSET.index(c) * w for c, w in zip("MJX17369", (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    assert str(11 - gb32100_valued % 11) != "9"


def test_a_wrong_organisation_code_check_digit_is_rejected_even_with_a_consistent_check_character() -> None:
    first16 = "91440300TB00000"  # 15 characters: authority, type, region, seven of the body
    body = first16[8:] + "1"
    wrong_digit = next(d for d in "0123456789X" if d != organisation_code_check_digit(body))
    first17 = first16 + "1" + wrong_digit
    code = first17 + uscc_check_character(first17)
    with pytest.raises(InvalidCode, match="GB 11714 check digit"):
        validate_uscc(code)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300192203821", "has 17 characters"),
        ("9144030019220382166", "has 19 characters"),
        ("", "has 0 characters"),
        ("914403001922038i16", "'i' at position 16"),
        ("91440300192203821６", "not in the GB 32100 character set"),
        ("91AB0300192203821X", "positions 3-8"),
        (" 14403001922038216", "' ' at position 1"),
    ],
)
def test_malformed_codes_say_what_is_wrong(code: str, reason: str) -> None:
    with pytest.raises(InvalidCode, match=re.escape(reason)):
        validate_uscc(code)


@pytest.mark.parametrize("value", [None, 914403001922038216, b"914403001922038216"])
def test_a_code_that_is_not_a_string_is_invalid(value: object) -> None:
    with pytest.raises(InvalidCode, match="must be a string"):
        validate_uscc(value)  # type: ignore[arg-type]
    assert not is_valid_uscc(value)


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidCode, CatalogError) and issubclass(InvalidCode, ValueError)
    assert issubclass(UnknownCode, CatalogError) and issubclass(UnknownCode, ValueError)


# ---- make_uscc -----------------------------------------------------------------------------------


def test_make_uscc_computes_both_check_characters() -> None:
    code = make_uscc("9", "1", "440300", "19220382")
    assert code == "914403001922038216"  # the same body as a published code gives the same code
    assert make_uscc("5", "3", "442000", "TB000001")[:16] == "53442000TB000001"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("0", "1", "440300", "TB000001"), "registration authority '0'"),
        (("9", "4", "440300", "TB000001"), "organisation type '4' is not one of 1, 2, 3"),
        (("9", "I", "440300", "TB000001"), "one GB 32100 character"),
        (("9", "1", "440399", "TB000001"), "not in the catalogue"),
        (("9", "1", "44030", "TB000001"), "not a GB/T 2260 code"),
        (("9", "1", "440300", "TB00001"), "eight GB 32100 characters"),
        (("9", "1", "440300", "TB0000O1"), "eight GB 32100 characters"),
    ],
)
def test_make_uscc_refuses_what_the_standard_does_not_allow(args: tuple[str, str, str, str], reason: str) -> None:
    with pytest.raises(InvalidCode, match=re.escape(reason)):
        make_uscc(*args)


def test_organisation_code_check_digit_writes_ten_as_x_and_eleven_as_zero() -> None:
    digits = {organisation_code_check_digit(f"{n:08d}") for n in range(0, 2000)}
    assert {"X", "0"} <= digits
    with pytest.raises(InvalidCode):
        organisation_code_check_digit("1234567")


_REGION_CODES = [r.code for r in regions()]
_authority_and_type = st.sampled_from(sorted(REGISTRATION_AUTHORITIES)).flatmap(
    lambda a: st.tuples(
        st.just(a),
        st.sampled_from(sorted(ORGANISATION_TYPES[a])) if a in ORGANISATION_TYPES else st.sampled_from(USCC_CHARSET),
    )
)
_bodies = st.text(alphabet=USCC_CHARSET, min_size=8, max_size=8)


@st.composite
def made_usccs(draw: st.DrawFn) -> str:
    authority, org_type = draw(_authority_and_type)
    return make_uscc(authority, org_type, draw(st.sampled_from(_REGION_CODES)), draw(_bodies))


_valid_usccs = made_usccs() | st.sampled_from(_vector_codes("valid_published"))


@given(made_usccs())
def test_make_uscc_output_always_validates(code: str) -> None:
    validate_uscc(code)
    assert len(code) == 18


@given(
    _valid_usccs,
    st.integers(min_value=0, max_value=17),
    st.characters() | st.sampled_from(USCC_CHARSET + "IOSVZiosvz0123456789abcxy-"),
)
def test_any_single_character_change_is_rejected(code: str, position: int, replacement: str) -> None:
    changed = code[:position] + replacement + code[position + 1 :]
    if replacement == code[position]:
        validate_uscc(changed)
    else:
        with pytest.raises(InvalidCode):
            validate_uscc(changed)


@given(_valid_usccs, st.integers(min_value=0, max_value=16))
def test_swapping_two_different_neighbours_is_rejected(code: str, position: int) -> None:
    a, b = code[position], code[position + 1]
    swapped = code[:position] + b + a + code[position + 2 :]
    if a == b:
        validate_uscc(swapped)
    elif position < 16:  # the check character itself may happen to equal its neighbour's new value
        with pytest.raises(InvalidCode):
            validate_uscc(swapped)


# ---- GB 11643 ------------------------------------------------------------------------------------

# The standard's own examples (GB 11643-1999, appendix A): 北京市朝阳区, 1949-12-31, a woman; and
# 广东省汕头市潮阳县, 1880-01-01, a man. The second keeps a county code long since withdrawn.
PUBLISHED_ID_NUMBERS = [
    ("11010519491231002X", "110105", date(1949, 12, 31), "female"),
    ("440524188001010014", "440524", date(1880, 1, 1), "male"),
]


@pytest.mark.parametrize(("number", "region_code", "born", "gender"), PUBLISHED_ID_NUMBERS)
def test_published_resident_id_numbers_are_valid(number: str, region_code: str, born: date, gender: str) -> None:
    validate_resident_id(number)
    parsed = parse_resident_id(number, on=date(2026, 11, 23))
    assert (parsed.region, parsed.birth_date, parsed.gender) == (region_code, born, gender)
    assert resident_id_check_character(number[:17]) == number[17]


def test_constructed_numbers_check_with_iso_7064_mod_11_2() -> None:
    # Weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; check value (12 - Σ mod 11) mod 11, 10 written X.
    # 44200019850615005: Σ = 257, 257 mod 11 = 4, (12 - 4) mod 11 = 8.
    assert resident_id_check_character("44200019850615005") == "8"
    # 44030419900307122: Σ = 242 ≡ 0, (12 - 0) mod 11 = 1.
    assert resident_id_check_character("44030419900307122") == "1"
    # 44030419900307123: Σ = 244 ≡ 2, (12 - 2) mod 11 = 10, written X.
    assert resident_id_check_character("44030419900307123") == "X"
    for number in ("442000198506150058", "440304199003071221", "44030419900307123X"):
        validate_resident_id(number)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002x", "check character 0-9 or X"),
        ("110105194912310021", "check character should be 'X', not '1'"),
        ("110105194902310026", "not a calendar date"),
        ("110105194913310026", "not a calendar date"),
        ("990105194912310021", "not a GB/T 2260 province code"),
        ("720105194912310021", "not a GB/T 2260 province code"),
        ("110105179912310029", "birth year before 1800"),
        ("11010519491231002", "18 characters"),
        ("110105491231002", "18 characters"),
        ("１１0105194912310021", "17 digits"),
    ],
)
def test_bad_resident_id_numbers_say_what_is_wrong(number: str, reason: str) -> None:
    with pytest.raises(InvalidCode, match=re.escape(reason)):
        validate_resident_id(number)
    assert not is_valid_resident_id(number)


def test_a_birth_date_after_the_given_day_is_rejected() -> None:
    number = make_resident_id("440305", date(2026, 12, 1), 11)
    validate_resident_id(number)
    with pytest.raises(InvalidCode, match="birth date after 2026-11-23"):
        validate_resident_id(number, on=date(2026, 11, 23))


def test_messages_do_not_show_the_birth_date() -> None:
    with pytest.raises(InvalidCode) as caught:
        validate_resident_id("110105194912310021")
    assert "19491231" not in str(caught.value)
    assert "110105********0021" in str(caught.value)


def test_residence_permits_of_hong_kong_macao_and_taiwan_residents_are_accepted() -> None:
    for prefix in ("810000", "820000", "830000"):
        body = f"{prefix}19900101001"
        validate_resident_id(body + resident_id_check_character(body))


def test_make_resident_id_refuses_what_the_standard_does_not_allow() -> None:
    with pytest.raises(InvalidCode):
        make_resident_id("440399", date(1990, 1, 1), 1)
    with pytest.raises(InvalidCode, match="0-999"):
        make_resident_id("440305", date(1990, 1, 1), 1000)
    with pytest.raises(InvalidCode, match="0-999"):
        make_resident_id("440305", date(1990, 1, 1), True)
    with pytest.raises(InvalidCode, match="1800"):
        make_resident_id("440305", date(1799, 12, 31), 1)


_id_regions = st.sampled_from([r.code for r in regions() if r.level != "province"])


@given(_id_regions, st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 23)), st.integers(0, 999))
def test_make_resident_id_round_trips(region_code: str, born: date, sequence: int) -> None:
    number = make_resident_id(region_code, born, sequence)
    parsed = parse_resident_id(number, on=date(2026, 11, 23))
    assert (parsed.region, parsed.birth_date, parsed.sequence) == (region_code, born, sequence)
    assert parsed.gender == ("male" if sequence % 2 else "female")


@given(
    _id_regions,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 1, 1)),
    st.integers(0, 999),
    st.integers(0, 17),
    st.sampled_from("0123456789Xx"),
)
def test_any_single_character_change_of_a_resident_id_is_rejected(
    region_code: str, born: date, sequence: int, position: int, replacement: str
) -> None:
    number = make_resident_id(region_code, born, sequence)
    changed = number[:position] + replacement + number[position + 1 :]
    if changed == number:
        validate_resident_id(changed)
    else:
        with pytest.raises(InvalidCode):
            validate_resident_id(changed)


# ---- GB/T 2260 -----------------------------------------------------------------------------------

GUANGDONG_CITIES = {
    "440100": "广州市",
    "440200": "韶关市",
    "440300": "深圳市",
    "440400": "珠海市",
    "440500": "汕头市",
    "440600": "佛山市",
    "440700": "江门市",
    "440800": "湛江市",
    "440900": "茂名市",
    "441200": "肇庆市",
    "441300": "惠州市",
    "441400": "梅州市",
    "441500": "汕尾市",
    "441600": "河源市",
    "441700": "阳江市",
    "441800": "清远市",
    "441900": "东莞市",
    "442000": "中山市",
    "445100": "潮州市",
    "445200": "揭阳市",
    "445300": "云浮市",
}
SHENZHEN_DISTRICTS = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
}
HOHHOT_DISTRICTS = {"150102": "新城区", "150103": "回民区", "150104": "玉泉区", "150105": "赛罕区"}


def test_guangdong_has_its_21_prefecture_level_cities() -> None:
    assert region("440000").name == "广东省"
    assert {r.code: r.name for r in regions("440000")} == GUANGDONG_CITIES


def test_shenzhen_has_its_nine_districts_and_zhongshan_none() -> None:
    assert {r.code: r.name for r in regions("440300")} == SHENZHEN_DISTRICTS
    assert regions("442000") == ()
    zhongshan = region("442000")
    assert (zhongshan.name, zhongshan.parent, zhongshan.level) == ("中山市", "440000", "prefecture")


def test_hohhot_and_its_districts() -> None:
    assert region("150000").name == "内蒙古自治区"
    hohhot = region("150100")
    assert (hohhot.name, hohhot.parent) == ("呼和浩特市", "150000")
    districts = {r.code: r.name for r in regions("150100")}
    assert HOHHOT_DISTRICTS.items() <= districts.items()
    assert region("150105").level == "county"


def test_every_listed_parent_is_listed_and_codes_nest() -> None:
    for item in regions():
        if item.parent is None:
            assert item.level == "province"
            continue
        parent = region(item.parent)
        assert item.code[:2] == parent.code[:2]
        if parent.level == "prefecture":
            assert item.code[:4] == parent.code[:4]


@pytest.mark.parametrize("code", ["44030", "4403000", "abcdef", "940300", "040300", ""])
def test_a_malformed_region_code_is_invalid(code: str) -> None:
    with pytest.raises(InvalidCode, match="not a GB/T 2260 code"):
        region(code)


def test_an_unlisted_region_code_is_unknown() -> None:
    with pytest.raises(UnknownCode, match="440399"):
        region("440399")
    with pytest.raises(InvalidCode):
        regions("nope")
