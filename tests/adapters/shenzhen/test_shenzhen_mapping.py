"""ShenzhenMapping: Hypothesis round trips, every code survives, camelCase names, malformed data named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.shenzhen import MalformedPartnerData, ShenzhenMapping, seed_application_statuses
from catalogs import code_table, field_map
from catalogs.seed import generate
from gateway.canonical import (
    ApplicationStatus,
    CreditRecord,
    CreditSubject,
    Licence,
    Party,
    Seal,
    TradingProject,
)
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

SEED = generate().city("shenzhen")
MAPPING = ShenzhenMapping()
FIELD_MAP = field_map("shenzhen")


dates = st.dates(date(1950, 1, 1), date(2099, 12, 31))
offsets = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
aware_datetimes = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=offsets)


application_statuses = st.builds(
    ApplicationStatus,
    application_id=st.sampled_from([s.application_id for s in seed_application_statuses(SEED)]) | texts,
    item_code=texts,
    state=codes("application_state"),
    updated_at=aware_datetimes,
    note=optional_texts,
)


organisations = st.sampled_from(SEED.enterprises + SEED.authorities).flatmap(
    lambda base: st.builds(
        Party, name=st.just(base.name) | texts, id_type=st.just("uscc"), id_number=st.just(base.id_number)
    )
)
hex_digits = st.text("0123456789abcdef", min_size=1, max_size=40)
seals = st.builds(
    Seal,
    seal_code=st.sampled_from([seal.seal_code for seal in SEED.seals]) | st.text(min_size=1, max_size=64),
    name=texts,
    seal_type=codes("seal_type"),
    holder=organisations,
    status=codes("seal_status"),
    valid_from=dates,
    valid_until=st.none() | dates,
    maker_name=optional_texts,
    signer_certificate_serial=st.none() | hex_digits,
    signer_certificate_sha256=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
)
trading_projects = st.builds(
    TradingProject,
    project_code=st.sampled_from([p.project_code for p in SEED.trading_projects]) | st.text(min_size=1, max_size=64),
    title=texts,
    category=codes("trading_category"),
    tenderer=parties(SEED) | organisations,
    budget_cny=st.none() | st.integers(0, 10**15),
    evaluation_at=st.none() | aware_datetimes,
    venue=optional_texts,
    status=codes("trading_project_status"),
)


def round_trip(record: Any) -> Any:
    return MAPPING.from_partner(MAPPING.to_partner(record), type(record))


@settings(max_examples=150)
@given(licences(SEED, dates))
def test_licence_round_trip(licence: Licence) -> None:
    assert round_trip(licence) == licence


@settings(max_examples=150)
@given(credit_subjects(SEED, dates))
def test_credit_subject_round_trip(subject: CreditSubject) -> None:
    assert round_trip(subject) == subject


@settings(max_examples=150)
@given(application_statuses)
def test_application_status_round_trip(status: ApplicationStatus) -> None:
    back = round_trip(status)
    assert back == status
    assert back.updated_at.utcoffset() == timedelta(hours=8)  # sent at Shenzhen's local offset


@settings(max_examples=150)
@given(seals)
def test_seal_round_trip(seal: Seal) -> None:
    assert round_trip(seal) == seal


@settings(max_examples=150)
@given(trading_projects)
def test_trading_project_round_trip(project: TradingProject) -> None:
    back = round_trip(project)
    assert back == project
    if project.evaluation_at is not None:
        assert back.evaluation_at.utcoffset() == timedelta(hours=8)  # sent at Shenzhen's local offset


def test_every_seeded_record_round_trips() -> None:
    records = (*SEED.licences, *SEED.credit_subjects, *seed_application_statuses(SEED))
    for record in (*records, *SEED.seals, *SEED.trading_projects):
        assert round_trip(record) == record
    assert SEED.seals and SEED.trading_projects


@pytest.mark.parametrize(
    ("table", "make"),
    [
        ("licence_type", lambda code: SEED.licences[-1].model_copy(update={"licence_type": code})),
        ("licence_status", lambda code: SEED.licences[-1].model_copy(update={"status": code})),
        (
            "holder_id_type",
            lambda code: SEED.licences[-1].model_copy(
                update={"holder": SEED.licences[-1].holder.model_copy(update={"id_type": code})}
            ),
        ),
        ("subject_type", lambda code: SEED.credit_subjects[0].model_copy(update={"subject_type": code})),
        ("subject_status", lambda code: SEED.credit_subjects[0].model_copy(update={"status": code})),
        (
            "credit_record_kind",
            lambda code: SEED.credit_subjects[0].model_copy(
                update={"records": (CreditRecord(kind=code, title="t", authority="a", decided_on=date(2024, 1, 1)),)}
            ),
        ),
        (
            "commitment_outcome",
            lambda code: SEED.credit_subjects[0].model_copy(
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
        ("application_state", lambda code: seed_application_statuses(SEED)[0].model_copy(update={"state": code})),
        ("seal_type", lambda code: SEED.seals[0].model_copy(update={"seal_type": code})),
        ("seal_status", lambda code: SEED.seals[0].model_copy(update={"status": code})),
        ("trading_category", lambda code: SEED.trading_projects[0].model_copy(update={"category": code})),
        ("trading_project_status", lambda code: SEED.trading_projects[0].model_copy(update={"status": code})),
        (
            "holder_id_type",
            lambda code: SEED.trading_projects[0].model_copy(
                update={"tenderer": (SEED.persons[0] if code == "resident_id" else SEED.enterprises[0])}
            ),
        ),
    ],
)
def test_every_code_table_value_survives(table: str, make: Any) -> None:
    shenzhen_codes = set()
    for canonical_code in code_table(table).canonical_codes:
        record = make(canonical_code)
        wire = MAPPING.to_partner(record)
        shenzhen_code = code_table(table).to_city("shenzhen", canonical_code)
        assert shenzhen_code in leaves(wire)
        shenzhen_codes.add(shenzhen_code)
        assert MAPPING.from_partner(wire, type(record)) == record
    assert len(shenzhen_codes) == len(code_table(table))


def test_partner_keys_are_the_field_maps_camel_case_names() -> None:
    licence = next(item for item in SEED.licences if item.valid_until is None)
    wire = MAPPING.to_partner(licence)
    assert set(wire) == partner_names(FIELD_MAP.record("Licence"))
    assert wire["licenceNo"] == licence.licence_number
    assert wire["holderCertNo"] == licence.holder.id_number
    assert wire["validTo"] is None
    subject = next(item for item in SEED.credit_subjects if item.records)
    wire = MAPPING.to_partner(subject)
    assert set(wire) == partner_names(FIELD_MAP.record("CreditSubject"))
    assert set(wire["creditRecords"][0]) == partner_names(FIELD_MAP.record("CreditRecord"))
    assert set(MAPPING.to_partner(seed_application_statuses(SEED)[0])) == partner_names(
        FIELD_MAP.record("ApplicationStatus")
    )
    for name in (*wire, *wire["creditRecords"][0]):
        assert name[0].islower() and "_" not in name
    seal = next(item for item in SEED.seals if item.status == "revoked")
    seal_wire = MAPPING.to_partner(seal)
    assert set(seal_wire) == partner_names(FIELD_MAP.record("Seal"))
    assert (seal_wire["sealCode"], seal_wire["creditCode"]) == (seal.seal_code, seal.holder.id_number)
    assert seal_wire["sealStatus"] == "03" and seal_wire["certSn"] == seal.signer_certificate_serial
    project = next(item for item in SEED.trading_projects if item.evaluation_at is not None)
    project_wire = MAPPING.to_partner(project)
    assert set(project_wire) == partner_names(FIELD_MAP.record("TradingProject"))
    assert project_wire["budgetAmount"] == project.budget_cny and isinstance(project_wire["budgetAmount"], int)
    assert project_wire["evaluationTime"] == project.evaluation_at.isoformat()  # type: ignore[union-attr]
    assert project_wire["tendereeCreditCode"] == project.tenderer.id_number


def test_dates_and_times_are_iso_8601() -> None:
    status = ApplicationStatus(
        application_id="A1",
        item_code="I1",
        state="accepted",
        updated_at=datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC),
    )
    assert MAPPING.to_partner(status)["updateTime"] == "2026-11-23T09:02:03+08:00"
    assert MAPPING.to_partner(SEED.credit_subjects[0])["estDate"] == SEED.credit_subjects[0].established_on.isoformat()  # type: ignore[union-attr]


def test_a_naive_time_cannot_be_sent() -> None:
    status = ApplicationStatus(application_id="A1", item_code="I1", state="accepted", updated_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="updateTime"):
        MAPPING.to_partner(status)


LICENCE_WIRE = MAPPING.to_partner(SEED.licences[-1])
SUBJECT_WIRE = MAPPING.to_partner(next(item for item in SEED.credit_subjects if item.records))
STATUS_WIRE = MAPPING.to_partner(seed_application_statuses(SEED)[0])
SEAL_WIRE = MAPPING.to_partner(SEED.seals[0])
PROJECT_WIRE = MAPPING.to_partner(next(item for item in SEED.trading_projects if item.evaluation_at is not None))


@pytest.mark.parametrize(
    ("wire", "record_type", "change", "field"),
    [
        (LICENCE_WIRE, Licence, {"licenceNo": None}, "licenceNo"),
        (LICENCE_WIRE, Licence, {"licenceNo": 12345}, "licenceNo"),
        (LICENCE_WIRE, Licence, {"licenceTypeCode": "yyzz"}, "licenceTypeCode"),
        (LICENCE_WIRE, Licence, {"licenceStatus": "ZC"}, "licenceStatus"),
        (LICENCE_WIRE, Licence, {"holderCertType": "001"}, "holderCertType"),
        (LICENCE_WIRE, Licence, {"holderCertNo": "123"}, "holderCertNo"),
        (LICENCE_WIRE, Licence, {"issueDate": "20240101"}, "issueDate"),
        (LICENCE_WIRE, Licence, {"validFrom": "2024-02-30"}, "validFrom"),
        (LICENCE_WIRE, Licence, {"issueAreaCode": "4403"}, "issueAreaCode"),
        (SUBJECT_WIRE, CreditSubject, {"regCapital": "100万"}, "regCapital"),
        (SUBJECT_WIRE, CreditSubject, {"regCapital": True}, "regCapital"),
        (SUBJECT_WIRE, CreditSubject, {"subjectType": "enterprise"}, "subjectType"),
        (SUBJECT_WIRE, CreditSubject, {"creditRecords": {"recordType": "RED_LIST"}}, "creditRecords"),
        (SUBJECT_WIRE, CreditSubject, {"creditRecords": ["x"]}, "creditRecords[0]"),
        (SUBJECT_WIRE, CreditSubject, {"creditRecords": [{"recordType": "RED_LIST"}]}, "creditRecords[0].recordTitle"),
        (STATUS_WIRE, ApplicationStatus, {"handleStatus": "received"}, "handleStatus"),
        (STATUS_WIRE, ApplicationStatus, {"updateTime": "2026-11-20 09:00:00"}, "updateTime"),
        (STATUS_WIRE, ApplicationStatus, {"updateTime": "2026-11-20T09:00:00"}, "updateTime"),
        (SEAL_WIRE, Seal, {"sealCode": ""}, "sealCode"),
        (SEAL_WIRE, Seal, {"sealTypeCode": "GZ"}, "sealTypeCode"),
        (SEAL_WIRE, Seal, {"sealStatus": "valid"}, "sealStatus"),
        (SEAL_WIRE, Seal, {"validFrom": "20240101"}, "validFrom"),
        (SEAL_WIRE, Seal, {"validFrom": None}, "validFrom"),
        (SEAL_WIRE, Seal, {"certSn": "4EF9C6"}, "certSn"),
        (SEAL_WIRE, Seal, {"certFingerprint": "abc"}, "certFingerprint"),
        (SEAL_WIRE, Seal, {"creditCode": "123"}, "creditCode"),
        (PROJECT_WIRE, TradingProject, {"tradeType": "GCJS"}, "tradeType"),
        (PROJECT_WIRE, TradingProject, {"projectStatus": "PB"}, "projectStatus"),
        (PROJECT_WIRE, TradingProject, {"budgetAmount": "120万"}, "budgetAmount"),
        (PROJECT_WIRE, TradingProject, {"budgetAmount": -1}, "budgetAmount"),
        (PROJECT_WIRE, TradingProject, {"evaluationTime": "20261123093000"}, "evaluationTime"),
        (PROJECT_WIRE, TradingProject, {"tendereeCertType": "uscc"}, "tendereeCertType"),
    ],
)
def test_malformed_partner_data_names_the_field(
    wire: dict[str, Any], record_type: type[Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")) as caught:
        MAPPING.from_partner({**wire, **change}, record_type)
    assert isinstance(caught.value, MalformedPartnerData)
    assert caught.value.field == field


@pytest.mark.parametrize("data", [None, [], "licence", 42])
def test_a_partner_record_must_be_an_object(data: Any) -> None:
    with pytest.raises(MalformedPartnerData):
        MAPPING.from_partner(data, Licence)


def test_unknown_keys_are_ignored() -> None:
    assert MAPPING.from_partner({**LICENCE_WIRE, "extraField": 1}, Licence) == SEED.licences[-1]


def test_an_unknown_canonical_code_cannot_be_sent() -> None:
    bogus = SEED.licences[-1].model_construct(**{**dict(SEED.licences[-1]), "licence_type": "no_such_type"})
    with pytest.raises(ValueError, match="licenceTypeCode"):
        MAPPING.to_partner(bogus)


def test_a_seal_is_held_by_an_organisation() -> None:
    person_code = code_table("holder_id_type").to_city("shenzhen", "resident_id")
    wire = {**SEAL_WIRE, "entCertType": person_code, "creditCode": SEED.persons[0].id_number}
    with pytest.raises(MalformedPartnerData, match="unified social credit code") as caught:
        MAPPING.from_partner(wire, Seal)
    assert caught.value.field == "entName/entCertType/creditCode"
