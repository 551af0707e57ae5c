"""The sandboxes' seed data: deterministic, fictional, every code valid, statuses and dates consistent."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from conftest import load_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogs import (
    UnknownCode,
    code_table,
    field_map,
    parse_resident_id,
    region,
    regions,
    validate_resident_id,
    validate_uscc,
)
from catalogs.seed import (
    AS_OF,
    DEFAULT_SEED,
    EXPERTS_PER_CITY,
    SANDBOX_ORG_PREFIX,
    CitySeed,
    Expert,
    SeedData,
    generate,
)
from gateway.canonical import CreditSubject, Licence, Party

PUBLISHED_HOLDERS = [v["holder"] for v in load_vectors("gb32100-uscc.json")["valid_published"]]
DATA = generate()
CITY_IDS = [c.city for c in DATA.cities]

# Fragments of well-known enterprises' names: a generated name must never contain one.
FAMOUS = (
    "华为",
    "腾讯",
    "阿里",
    "比亚迪",
    "中兴",
    "大疆",
    "万科",
    "平安",
    "招商",
    "美的",
    "格力",
    "伊利",
    "蒙牛",
    "小米",
)


def _city_codes(seed: CitySeed) -> set[str]:
    """GB/T 2260 codes a city's own registrations may carry: the city and its districts."""
    return {seed.region} | {r.code for r in regions(seed.region)}


def _every_uscc(seed: CitySeed) -> list[str]:
    codes = [p.id_number for p in (*seed.authorities, *seed.enterprises)]
    codes += [s.uscc for s in seed.credit_subjects]
    codes += [licence.issuer_code for licence in seed.licences]
    codes += [lic.holder.id_number for lic in seed.licences if lic.holder.id_type == "uscc"]
    return codes


# ---- determinism ---------------------------------------------------------------------------------


def test_the_same_seed_gives_identical_data() -> None:
    again = generate()
    assert again == DATA
    assert again.seed == DEFAULT_SEED == 20261123
    assert again.as_of == AS_OF
    assert [c.model_dump() for c in again.city("shenzhen").licences] == [
        c.model_dump() for c in DATA.city("shenzhen").licences
    ]


def test_another_seed_gives_other_data() -> None:
    other = generate(7)
    assert other != DATA
    assert other.city("zhongshan").enterprises != DATA.city("zhongshan").enterprises


def test_cities_draw_from_their_own_streams() -> None:
    assert DATA.city("shenzhen") == generate().city("440300")
    assert DATA.city("zhongshan").enterprises != DATA.city("shenzhen").enterprises


def test_grouped_by_city_as_canonical_objects() -> None:
    assert isinstance(DATA, SeedData)
    assert CITY_IDS == ["shenzhen", "zhongshan", "hohhot"]
    with pytest.raises(UnknownCode, match="no city 'guangzhou'"):
        DATA.city("guangzhou")
    with pytest.raises(KeyError):
        SeedData(DATA.seed, DATA.as_of, DATA.cities[:1]).city("zhongshan")
    for seed in DATA.cities:
        assert all(isinstance(p, Party) for p in (*seed.enterprises, *seed.persons, *seed.authorities))
        assert all(isinstance(lic, Licence) for lic in seed.licences)
        assert all(isinstance(s, CreditSubject) for s in seed.credit_subjects)


# ---- sizes and shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_each_city_has_enterprises_persons_licences_and_credit_subjects(city_id: str) -> None:
    seed = DATA.city(city_id)
    assert 25 <= len(seed.enterprises) <= 35
    assert 15 <= len(seed.persons) <= 25
    assert len(seed.credit_subjects) == len(seed.enterprises)
    assert sum(1 for s in seed.credit_subjects if s.records) >= 3
    types = Counter(lic.licence_type for lic in seed.licences)
    assert types["business_licence"] + types["individual_business_licence"] == len(seed.enterprises)
    assert types["individual_business_licence"] >= 1
    assert types["food_operation_permit"] >= 1
    assert types["resident_id_card"] == len(seed.persons)


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_enterprise_has_its_business_licence(city_id: str) -> None:
    seed = DATA.city(city_id)
    licensed = {
        lic.holder.id_number: lic
        for lic in seed.licences
        if lic.licence_type in ("business_licence", "individual_business_licence")
    }
    for enterprise in seed.enterprises:
        licence = licensed[enterprise.id_number]
        assert licence.holder == enterprise
        assert licence.licence_number == enterprise.id_number  # a business licence shows the code itself
        kind = "individual_business_licence" if enterprise.id_number[1] == "2" else "business_licence"
        assert licence.licence_type == kind


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_statuses_are_mostly_valid_with_every_other_status_present(city_id: str) -> None:
    statuses = Counter(lic.status for lic in DATA.city(city_id).licences)
    assert set(statuses) == set(code_table("licence_status").canonical_codes)
    assert statuses["valid"] > 0.75 * sum(statuses.values())


# ---- every code valid ----------------------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_unified_social_credit_code_is_valid_and_fictional(city_id: str) -> None:
    seed = DATA.city(city_id)
    for code in _every_uscc(seed):
        validate_uscc(code)
        assert code[2:8] in _city_codes(seed), code
        assert code[8:10] == SANDBOX_ORG_PREFIX, code
    enterprise_codes = [p.id_number for p in seed.enterprises]
    assert len(set(enterprise_codes)) == len(enterprise_codes)
    for subject in seed.credit_subjects:
        org_type = {"enterprise": "91", "individual_business": "92"}[subject.subject_type]
        assert subject.uscc.startswith(org_type)
    for authority in seed.authorities:
        assert authority.id_number.startswith("11")  # 机构编制, 机关


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_resident_id_number_is_valid_with_a_district_of_the_city(city_id: str) -> None:
    seed = DATA.city(city_id)
    districts = {"shenzhen": {r.code for r in regions("440300")}, "zhongshan": {"442000"}}.get(
        city_id, {"150102", "150103", "150104", "150105"}
    )
    numbers = [p.id_number for p in seed.persons]
    assert len(set(numbers)) == len(numbers)
    for person in seed.persons:
        assert person.id_type == "resident_id"
        validate_resident_id(person.id_number, on=DATA.as_of)
        parsed = parse_resident_id(person.id_number)
        assert parsed.region in districts
        region(parsed.region)
        age = (DATA.as_of - parsed.birth_date).days // 365
        assert 18 <= age <= 70, person


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_licences_use_catalogue_codes_and_their_issuers(city_id: str) -> None:
    seed = DATA.city(city_id)
    types = code_table("licence_type")
    authorities = {a.id_number: a.name for a in seed.authorities}
    numbers = [lic.licence_number for lic in seed.licences]
    assert len(set(numbers)) == len(numbers)
    for licence in seed.licences:
        assert licence.licence_type in types
        assert licence.title == types.label(licence.licence_type)
        assert licence.status in code_table("licence_status")
        assert licence.issuing_city == seed.region
        assert authorities[licence.issuer_code] == licence.issuer_name
        assert licence.issuer_name.startswith(region(seed.region).name)
        if licence.holder.id_type == "resident_id":
            assert licence.licence_type == "resident_id_card"


# ---- consistent dates and statuses ---------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_licence_dates_agree_with_their_status(city_id: str) -> None:
    as_of = DATA.as_of
    for licence in DATA.city(city_id).licences:
        assert licence.issued_on <= as_of
        assert licence.valid_from <= as_of
        if licence.valid_until is not None:
            assert licence.valid_from < licence.valid_until
        if licence.status in ("valid", "suspended"):
            assert licence.valid_until is None or licence.valid_until >= as_of, licence
        if licence.status == "expired":
            assert licence.valid_until is not None and licence.valid_until < as_of, licence


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_credit_subjects_agree_with_their_licences(city_id: str) -> None:
    seed = DATA.city(city_id)
    business = {
        lic.holder.id_number: lic
        for lic in seed.licences
        if lic.licence_type in ("business_licence", "individual_business_licence")
    }
    statuses = Counter(s.status for s in seed.credit_subjects)
    assert statuses["revoked"] >= 1 and statuses["cancelled"] >= 1
    for subject in seed.credit_subjects:
        licence = business[subject.uscc]
        assert subject.name == licence.holder.name
        assert subject.established_on == licence.valid_from
        expected = {"active": "valid", "revoked": "revoked", "cancelled": "cancelled"}[subject.status]
        assert licence.status == expected
        if subject.status == "revoked":
            assert {r.kind for r in subject.records} >= {"administrative_penalty", "serious_dishonesty"}
        for record in subject.records:
            assert record.decided_on <= DATA.as_of
            assert record.valid_until is None or record.valid_until > record.decided_on
            assert record.kind in code_table("credit_record_kind")


# ---- fictional names -----------------------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_names_are_fictional_unique_and_look_local(city_id: str) -> None:
    seed = DATA.city(city_id)
    names = [p.name for p in seed.enterprises]
    assert len(set(names)) == len(names)
    city_name = region(seed.region).name
    for name in names:
        assert not any(fragment in name for fragment in FAMOUS), name
        assert name not in PUBLISHED_HOLDERS
        assert name.startswith((city_name, "深圳", "内蒙古")), name
    published_codes = {"914403001922038216", "91440300708461136T", "91330100799655058B"}
    assert not published_codes & set(_every_uscc(seed))
    for person in seed.persons:
        assert 2 <= len(person.name) <= 4


# ---- the data travels ----------------------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_coded_value_translates_into_every_city_and_back(city_id: str) -> None:
    seed = DATA.city(city_id)
    for target in CITY_IDS:
        licence_map = field_map(target).record("Licence")
        for licence in seed.licences:
            for field_name in ("licence_type", "status"):
                table = code_table(licence_map.field(field_name).code_table or "")
                value = getattr(licence, field_name)
                assert table.from_city(target, table.to_city(target, value)) == value
        subject_map = field_map(target).record("CreditSubject")
        for subject in seed.credit_subjects:
            for field_name in ("subject_type", "status"):
                table = code_table(subject_map.field(field_name).code_table or "")
                value = getattr(subject, field_name)
                assert table.from_city(target, table.to_city(target, value)) == value


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**63), st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_any_seed_and_day_give_valid_consistent_codes(seed: int, as_of: date) -> None:
    data = generate(seed, as_of=as_of)
    assert data == generate(seed, as_of=as_of)
    for city_seed in data.cities:
        for code in _every_uscc(city_seed):
            validate_uscc(code)
        for person in city_seed.persons:
            validate_resident_id(person.id_number, on=as_of)
            assert 18 <= (as_of - parse_resident_id(person.id_number).birth_date).days // 365 <= 70
        for subject in city_seed.credit_subjects:
            assert subject.established_on is not None and subject.established_on <= as_of
            assert all(record.decided_on <= as_of for record in subject.records)
        for expert in city_seed.experts:
            validate_resident_id(expert.id_number, on=as_of)
            validate_uscc(expert.employer.id_number)
        for licence in city_seed.licences:
            assert licence.issued_on <= as_of
            if licence.status == "expired":
                assert licence.valid_until is not None and licence.valid_until < as_of
            elif licence.status in ("valid", "suspended"):
                assert licence.valid_until is None or licence.valid_until >= as_of


# ---- expert pools --------------------------------------------------------------------------------


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_each_city_has_an_expert_pool_with_valid_unique_identity_numbers(city_id: str) -> None:
    seed = DATA.city(city_id)
    experts = seed.experts
    assert len(experts) == EXPERTS_PER_CITY
    assert all(isinstance(expert, Expert) for expert in experts)
    assert [e.expert_id for e in experts] == [f"{seed.region}ZJ{n:04d}" for n in range(1, len(experts) + 1)]
    numbers = [e.id_number for e in experts]
    assert len(set(numbers)) == len(numbers)
    assert not set(numbers) & {p.id_number for p in seed.persons}
    city_codes = _city_codes(seed)
    for expert in experts:
        assert expert.city == seed.region
        validate_resident_id(expert.id_number, on=DATA.as_of)
        parsed = parse_resident_id(expert.id_number)
        assert parsed.region in city_codes
        assert 30 <= (DATA.as_of - parsed.birth_date).days // 365 <= 66, expert
        assert 2 <= len(expert.name) <= 4
        assert expert.title.strip()


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_every_specialty_can_be_drawn_in_every_city(city_id: str) -> None:
    experts = DATA.city(city_id).experts
    table = code_table("evaluation_specialty")
    for expert in experts:
        assert expert.specialties and len(set(expert.specialties)) == len(expert.specialties)
        assert all(code in table for code in expert.specialties)
    main = Counter(expert.specialties[0] for expert in experts)
    assert set(main) == set(table.canonical_codes)
    assert min(main.values()) >= 3
    available = Counter(code for expert in experts if expert.available for code in expert.specialties)
    assert set(available) == set(table.canonical_codes)
    assert 0 < sum(1 for e in experts if not e.available) < 0.3 * len(experts)


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_experts_work_for_the_citys_companies_or_its_public_institutions(city_id: str) -> None:
    seed = DATA.city(city_id)
    statuses = {s.uscc: s.status for s in seed.credit_subjects}
    companies = {p.id_number: p for p in seed.enterprises if p.id_number.startswith("91")}
    employers = {expert.employer.id_number: expert.employer for expert in seed.experts}
    kinds = Counter(code[:2] for code in employers)
    assert set(kinds) == {"91", "12"}  # companies and public institutions (事业单位), both present
    for code, employer in employers.items():
        validate_uscc(code)
        assert employer.id_type == "uscc" and code[8:10] == SANDBOX_ORG_PREFIX
        assert code[2:8] in _city_codes(seed)
        assert employer.name.startswith((region(seed.region).name, "深圳", "内蒙古"))
        assert not any(fragment in employer.name for fragment in FAMOUS)
        if code.startswith("91"):
            assert companies[code] == employer and statuses[code] == "active"


def test_expert_pools_are_deterministic_and_their_own() -> None:
    again = generate()
    assert [c.experts for c in again.cities] == [c.experts for c in DATA.cities]
    assert generate(7).city("hohhot").experts != DATA.city("hohhot").experts
    assert len({e.name for e in DATA.city("hohhot").experts}) > EXPERTS_PER_CITY // 2
