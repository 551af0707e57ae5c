"""Hypothesis strategies for canonical records drawn around one city's seed, and helpers to read a partner's wire."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from catalogs import RecordMap, code_table
from catalogs.seed import CitySeed
from gateway.canonical import CreditRecord, CreditSubject, Licence, Party

__all__ = [
    "codes",
    "credit_records",
    "credit_subjects",
    "leaves",
    "licences",
    "optional_texts",
    "parties",
    "partner_names",
    "texts",
]

texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
optional_texts = st.none() | texts


def codes(table: str) -> st.SearchStrategy[str]:
    """Any canonical code of the code table `table`."""
    return st.sampled_from(code_table(table).canonical_codes)


@st.composite
def parties(draw: st.DrawFn, seed: CitySeed, organisations_only: bool = False) -> Party:
    """A seeded enterprise or person (only enterprises, as USCC holders, if `organisations_only`), its name varied."""
    base = draw(st.sampled_from(seed.enterprises if organisations_only else seed.enterprises + seed.persons))
    id_type = "uscc" if organisations_only else draw(codes("holder_id_type"))
    return base.model_copy(update={"name": draw(st.just(base.name) | texts), "id_type": id_type})


@st.composite
def licences(draw: st.DrawFn, seed: CitySeed, dates: st.SearchStrategy[date]) -> Licence:
    """A licence from one of the seed's issuers, every other field drawn."""
    base = draw(st.sampled_from(seed.licences))
    return Licence(
        licence_number=draw(st.just(base.licence_number) | st.text(min_size=1, max_size=64)),
        licence_type=draw(codes("licence_type")),
        title=draw(texts),
        holder=draw(parties(seed)),
        issuer_name=base.issuer_name,
        issuer_code=base.issuer_code,
        issuing_city=base.issuing_city,
        issued_on=draw(dates),
        valid_from=draw(dates),
        valid_until=draw(st.none() | dates),
        status=draw(codes("licence_status")),
        scope=draw(optional_texts),
        address=draw(optional_texts),
        legal_representative=draw(optional_texts),
    )


def credit_records(
    dates: st.SearchStrategy[date], titles: st.SearchStrategy[str] = texts
) -> st.SearchStrategy[CreditRecord]:
    """A credit record of any kind; its title and authority drawn from `titles`."""
    return st.builds(
        CreditRecord,
        kind=codes("credit_record_kind"),
        title=titles,
        authority=titles,
        decided_on=dates,
        valid_until=st.none() | dates,
        decision_number=st.none() | titles,
        repaired_on=st.none() | dates,
        commitment_outcome=st.none() | codes("commitment_outcome"),
    )


@st.composite
def credit_subjects(
    draw: st.DrawFn, seed: CitySeed, dates: st.SearchStrategy[date], vary_name: bool = False
) -> CreditSubject:
    """A seeded credit subject (its USCC kept, and its name unless `vary_name`), every other field drawn."""
    base = draw(st.sampled_from(seed.credit_subjects))
    name = {"name": draw(texts)} if vary_name else {}
    return base.model_copy(
        update={
            **name,
            "subject_type": draw(codes("subject_type")),
            "status": draw(codes("subject_status")),
            "established_on": draw(st.none() | dates),
            "legal_representative": draw(optional_texts),
            "registered_capital_cny": draw(st.none() | st.integers(0, 10**15)),
            "address": draw(optional_texts),
            "records": tuple(draw(st.lists(credit_records(dates), max_size=4))),
        }
    )


def leaves(value: Any) -> list[Any]:
    """Every value in a JSON-like wire record, however deeply nested in objects and arrays."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def partner_names(record_map: RecordMap) -> set[str]:
    """The names a record is sent under on the partner's wire."""
    return set(record_map.partner_names())
