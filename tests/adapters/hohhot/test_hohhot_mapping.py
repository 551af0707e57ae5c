"""HohhotMapping: Hypothesis round trips, every code survives both ways, snake_case names, formats, bad data named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters import PartnerMapping
from adapters.hohhot import HohhotMapping, MalformedPartnerData, seed_affairs
from catalogs import code_table, field_map
from catalogs.seed import generate
from gateway.canonical import ApplicationStatus, CreditRecord, CreditSubject, Licence, Seal, TradingProject
from tests.adapters.canonical_strategies import (
    codes,
    credit_subjects,
    leaves,
    licences,
    optional_texts,
    parties,
    partner_names,
    texts,
)

DATA = generate()
SEED = DATA.city("hohhot")
MAPPING = HohhotMapping()
FIELD_MAP = field_map("hohhot")
BEIJING = timezone(timedelta(hours=8))
AFFAIRS = seed_affairs(DATA)


dates = st.dates(date(1000, 1, 1), date(9999, 12, 31))
offsets = st.sampled_from([UTC, BEIJING, timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=14))])
# Hohhot's wire has whole seconds and no year outside 0001-9999 once moved to Beijing time.
whole_second_times = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=offsets).map(
    lambda moment: moment.replace(microsecond=0)
)


application_statuses = st.builds(
    ApplicationStatus,
    application_id=st.sampled_from([a.application_id for a in AFFAIRS]) | texts,
    item_code=texts,
    state=codes("application_state"),
    updated_at=whole_second_times,
    note=optional_texts,
)

seals = st.builds(
    Seal,
    seal_code=st.text(min_size=1, max_size=64),
    name=texts,
    seal_type=codes("seal_type"),
    holder=parties(SEED, organisations_only=True),
    status=codes("seal_status"),
    valid_from=dates,
    valid_until=st.none() | dates,
    maker_name=optional_texts,
    signer_certificate_serial=st.none() | st.from_regex(r"\A[0-9a-f]{1,40}\Z"),
    signer_certificate_sha256=st.none() | st.from_regex(r"\A[0-9a-f]{64}\Z"),
)


@st.composite
def trading_projects(draw: st.DrawFn) -> TradingProject:
    base = draw(st.sampled_from(SEED.trading_projects))
    return base.model_copy(
        update={
            "title": draw(texts),
            "category": draw(codes("trading_category")),
            "tenderer": draw(parties(SEED, organisations_only=True)),
            "budget_cny": draw(st.none() | st.integers(0, 10**15)),
            "evaluation_at": draw(st.none() | whole_second_times),
            "venue": draw(optional_texts),
            "status": draw(codes("trading_project_status")),
        }
    )


def round_trip(record: BaseModel) -> Any:
    """Canonical -> Hohhot -> JSON text -> Hohhot -> canonical: what crosses the wire, both ways."""
    wire = json.loads(json.dumps(MAPPING.to_partner(record), ensure_ascii=False))
    return MAPPING.from_partner(wire, type(record))


@settings(max_examples=150)
@given(licences(SEED, dates))
def test_licence_round_trip(licence: Licence) -> None:
    assert round_trip(licence) == licence


@settings(max_examples=150)
@given(credit_subjects(SEED, dates, vary_name=True))
def test_credit_subject_round_trip(subject: CreditSubject) -> None:
    assert round_trip(subject) == subject


@settings(max_examples=150)
@given(application_statuses)
def test_application_status_round_trip(status: ApplicationStatus) -> None:
    back = round_trip(status)
    assert back == status  # the same instant
    assert back.updated_at.utcoffset() == timedelta(hours=8)  # read back in Beijing time


@settings(max_examples=100)
@given(seals)
def test_seal_round_trip(seal: Seal) -> None:
    assert round_trip(seal) == seal


@settings(max_examples=100)
@given(trading_projects())
def test_trading_project_round_trip(project: TradingProject) -> None:
    assert round_trip(project) == project


def test_every_seeded_record_round_trips() -> None:
    records: tuple[BaseModel, ...] = (
        *SEED.licences,
        *SEED.credit_subjects,
        *AFFAIRS,
        *SEED.seals,
        *SEED.trading_projects,
    )
    for record in records:
        assert round_trip(record) == record


LICENCE = SEED.licences[-1]
SUBJECT = next(item for item in SEED.credit_subjects if item.records)


CODE_CASES: list[tuple[str, Callable[[str], BaseModel]]] = [
    ("licence_type", lambda code: LICENCE.model_copy(update={"licence_type": code})),
    ("licence_status", lambda code: LICENCE.model_copy(update={"status": code})),
    (
        "holder_id_type",
        lambda code: LICENCE.model_copy(update={"holder": LICENCE.holder.model_copy(update={"id_type": code})}),
    ),
    ("subject_type", lambda code: SUBJECT.model_copy(update={"subject_type": code})),
    ("subject_status", lambda code: SUBJECT.model_copy(update={"status": code})),
    (
        "credit_record_kind",
        lambda code: SUBJECT.model_copy(
            update={"records": (CreditRecord(kind=code, title="t", authority="a", decided_on=date(2024, 1, 1)),)}
        ),
    ),
    (
        "commitment_outcome",
        lambda code: SUBJECT.model_copy(
            update={
                "records": (
                    CreditRecord(
                        kind="credit_commitment",
                        title="t",
                        authority="a",
                        decided_on=date(2024, 1, 1),
                        commitment_outcome=code,
                    ),
                )
            }
        ),
    ),
    ("application_state", lambda code: AFFAIRS[0].model_copy(update={"state": code})),
    ("trading_category", lambda code: SEED.trading_projects[0].model_copy(update={"category": code})),
    ("trading_project_status", lambda code: SEED.trading_projects[0].model_copy(update={"status": code})),
    ("seal_type", lambda code: SEED.seals[0].model_copy(update={"seal_type": code})),
    ("seal_status", lambda code: SEED.seals[0].model_copy(update={"status": code})),
]


@pytest.mark.parametrize(("table", "make"), CODE_CASES)
def test_every_code_table_value_survives_both_ways(table: str, make: Callable[[str], BaseModel]) -> None:
    hohhot_codes = set()
    for canonical_code in code_table(table).canonical_codes:
        record = make(canonical_code)
        wire = MAPPING.to_partner(record)
        hohhot_code = code_table(table).to_city("hohhot", canonical_code)
        assert hohhot_code in leaves(wire)
        assert canonical_code not in leaves(wire) or canonical_code == hohhot_code
        hohhot_codes.add(hohhot_code)
        assert MAPPING.from_partner(wire, type(record)) == record
    assert len(hohhot_codes) == len(code_table(table))


def test_the_code_tables_the_field_map_uses_are_all_exercised() -> None:
    used = {
        spec.code_table
        for record in FIELD_MAP.records.values()
        for spec in record.fields.values()
        if spec.code_table is not None
    }
    exercised = {table for table, _make in CODE_CASES}
    assert used <= exercised


def test_partner_keys_are_the_field_maps_snake_case_names_with_the_holder_nested() -> None:
    licence = next(item for item in SEED.licences if item.valid_until is None)
    wire = MAPPING.to_partner(licence)
    assert set(wire) == partner_names(FIELD_MAP.record("Licence"))
    assert wire["license_code"] == licence.licence_number
    assert wire["holder_info"] == {
        "subject_name": licence.holder.name,
        "cert_type": code_table("holder_id_type").to_city("hohhot", licence.holder.id_type),
        "cert_num": licence.holder.id_number,
    }
    assert wire["end_date"] is None
    wire = MAPPING.to_partner(SUBJECT)
    assert set(wire) == partner_names(FIELD_MAP.record("CreditSubject"))
    assert set(wire["credit_records"][0]) == partner_names(FIELD_MAP.record("CreditRecord"))
    for name in (*wire, *wire["credit_records"][0]):
        assert name == name.lower()


def test_dates_and_times_are_hohhots_formats_in_beijing_time() -> None:
    status = ApplicationStatus(
        application_id="A1", item_code="I1", state="accepted", updated_at=datetime(2026, 11, 23, 17, 2, 3, tzinfo=UTC)
    )
    assert MAPPING.to_partner(status)["modify_time"] == "2026-11-24 01:02:03"  # past midnight in Beijing
    assert MAPPING.to_partner(SUBJECT)["found_date"] == f"{SUBJECT.established_on:%Y-%m-%d}"
    early = LICENCE.model_copy(update={"issued_on": date(999, 1, 2)})
    assert MAPPING.to_partner(early)["issue_date"] == "0999-01-02"


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 1, 1, 9, 0), datetime(2026, 1, 1, 9, 0, 0, 500, tzinfo=BEIJING)],
    ids=["naive", "fraction-of-a-second"],
)
def test_a_time_the_wire_cannot_carry_is_refused_not_rounded(moment: datetime) -> None:
    status = ApplicationStatus(application_id="A1", item_code="I1", state="accepted", updated_at=moment)
    with pytest.raises(MalformedPartnerData, match="modify_time"):
        MAPPING.to_partner(status)


LICENCE_WIRE = MAPPING.to_partner(LICENCE)
SUBJECT_WIRE = MAPPING.to_partner(SUBJECT)
STATUS_WIRE = MAPPING.to_partner(AFFAIRS[0])
PROJECT_WIRE = MAPPING.to_partner(SEED.trading_projects[0])


@pytest.mark.parametrize(
    ("wire", "record_type", "change", "field"),
    [
        (LICENCE_WIRE, Licence, {"license_code": None}, "license_code"),
        (LICENCE_WIRE, Licence, {"license_code": 12345}, "license_code"),
        (LICENCE_WIRE, Licence, {"license_type": "SZ-YYZZ"}, "license_type"),
        (LICENCE_WIRE, Licence, {"license_state": "01"}, "license_state"),
        (LICENCE_WIRE, Licence, {"holder_info": None}, "holder_info"),
        (LICENCE_WIRE, Licence, {"holder_info": "91150100TB"}, "holder_info"),
        (
            LICENCE_WIRE,
            Licence,
            {"holder_info": {**LICENCE_WIRE["holder_info"], "cert_type": "001"}},
            "holder_info.cert_type",
        ),
        (
            LICENCE_WIRE,
            Licence,
            {"holder_info": {**LICENCE_WIRE["holder_info"], "cert_num": "1"}},
            "holder_info.cert_num",
        ),
        (LICENCE_WIRE, Licence, {"issue_date": "20240101"}, "issue_date"),
        (LICENCE_WIRE, Licence, {"issue_date": "2024-1-01"}, "issue_date"),
        (LICENCE_WIRE, Licence, {"begin_date": "2024-02-30"}, "begin_date"),
        (LICENCE_WIRE, Licence, {"division_code": "1501"}, "division_code"),
        (SUBJECT_WIRE, CreditSubject, {"reg_capital_yuan": "100万"}, "reg_capital_yuan"),
        (SUBJECT_WIRE, CreditSubject, {"reg_capital_yuan": True}, "reg_capital_yuan"),
        (SUBJECT_WIRE, CreditSubject, {"subject_category": "enterprise"}, "subject_category"),
        (SUBJECT_WIRE, CreditSubject, {"credit_records": {"record_category": "11"}}, "credit_records"),
        (SUBJECT_WIRE, CreditSubject, {"credit_records": ["x"]}, "credit_records[0]"),
        (SUBJECT_WIRE, CreditSubject, {"credit_records": [{"record_category": "11"}]}, "credit_records[0].record_name"),
        (STATUS_WIRE, ApplicationStatus, {"affair_state": "received"}, "affair_state"),
        (STATUS_WIRE, ApplicationStatus, {"modify_time": "2026-11-20T09:00:00+08:00"}, "modify_time"),
        (STATUS_WIRE, ApplicationStatus, {"modify_time": "2026-11-20 25:00:00"}, "modify_time"),
        (STATUS_WIRE, ApplicationStatus, {"modify_time": "2026-11-20 09:00"}, "modify_time"),
        (PROJECT_WIRE, TradingProject, {"project_state": "10"}, "project_state"),
        (PROJECT_WIRE, TradingProject, {"budget_yuan": -1}, "budget_yuan"),
    ],
)
def test_malformed_partner_data_names_the_field(
    wire: dict[str, Any], record_type: type[Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")) as caught:
        MAPPING.from_partner({**wire, **change}, record_type)
    assert isinstance(caught.value, MalformedPartnerData)
    assert caught.value.field == field


def test_a_field_is_named_by_where_the_record_was_found() -> None:
    with pytest.raises(MalformedPartnerData) as caught:
        MAPPING.from_partner({**LICENCE_WIRE, "end_date": "someday"}, Licence, "rows[3]")
    assert caught.value.field == "rows[3].end_date"


@pytest.mark.parametrize("data", [None, [], "licence", 42])
def test_a_partner_record_must_be_an_object(data: Any) -> None:
    with pytest.raises(MalformedPartnerData):
        MAPPING.from_partner(data, Licence)


def test_unknown_keys_are_ignored() -> None:
    assert MAPPING.from_partner({**LICENCE_WIRE, "extra_field": 1}, Licence) == LICENCE


def test_an_unknown_canonical_code_cannot_be_sent() -> None:
    bogus = LICENCE.model_construct(**{**dict(LICENCE), "licence_type": "no_such_type"})
    with pytest.raises(ValueError, match="license_type"):
        MAPPING.to_partner(bogus)


def test_the_mapping_fits_the_adapter_interface() -> None:
    mapping: PartnerMapping = MAPPING  # mypy checks the structural fit
    assert mapping.city == "150100"


def test_the_package_exports_exactly_its_modules_public_names() -> None:
    import adapters.hohhot
    from adapters.hohhot import _exceptions, client, mapping, sandbox

    declared = {name for module in (_exceptions, client, mapping, sandbox) for name in module.__all__}
    assert adapters.hohhot.__all__ == sorted(adapters.hohhot.__all__)
    assert set(adapters.hohhot.__all__) == declared
