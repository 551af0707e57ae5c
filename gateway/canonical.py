"""The canonical model: what the gateway means by a licence, a credit subject or an application,
whatever each city's systems call them. Adapters map partner formats to and from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApplicationState",
    "ApplicationStatus",
    "CreditRecord",
    "CreditSubject",
    "HolderIdType",
    "Licence",
    "LicenceStatus",
    "Party",
    "SubjectType",
]

HolderIdType = Literal["uscc", "resident_id"]  # GB 32100 unified social credit code, GB 11643 ID number
LicenceStatus = Literal["valid", "suspended", "revoked", "cancelled", "expired"]
SubjectType = Literal["enterprise", "individual_business", "person", "public_institution"]
ApplicationState = Literal[
    "received", "accepted", "correction", "processing", "concluded", "delivered", "returned", "withdrawn"
]


class _Canonical(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Canonical):
    """A person or organisation identified by its code."""

    name: str = Field(min_length=1, max_length=200)
    id_type: HolderIdType
    id_number: str = Field(min_length=15, max_length=18)


class Licence(_Canonical):
    """An electronic licence (电子证照) as its issuing registry holds it."""

    licence_number: str = Field(min_length=1, max_length=64, description="the issuer's number (证照编号)")
    licence_type: str = Field(description="canonical licence type code, catalogs: licence_type")
    title: str = Field(description="the licence's name as issued, e.g. 营业执照")
    holder: Party
    issuer_name: str
    issuer_code: str = Field(description="unified social credit code of the issuing authority")
    issuing_city: str = Field(pattern=r"^[1-8]\d{5}$")
    issued_on: date
    valid_from: date
    valid_until: date | None = None
    status: LicenceStatus
    scope: str | None = Field(None, description="business scope (经营范围) or permitted items")
    address: str | None = None
    legal_representative: str | None = None


class CreditRecord(_Canonical):
    """One public-credit record: a commendation (红名单) or a sanction (黑名单/行政处罚)."""

    kind: Literal["commendation", "sanction", "serious_dishonesty", "administrative_penalty"]
    title: str
    authority: str
    decided_on: date
    valid_until: date | None = None


class CreditSubject(_Canonical):
    """A credit subject as a city's public-credit platform describes it."""

    uscc: str = Field(min_length=18, max_length=18)
    name: str
    subject_type: SubjectType
    status: Literal["active", "revoked", "cancelled", "dissolved"]
    established_on: date | None = None
    legal_representative: str | None = None
    registered_capital_cny: int | None = Field(None, ge=0, description="in yuan")
    address: str | None = None
    records: tuple[CreditRecord, ...] = ()


class ApplicationStatus(_Canonical):
    """Where an application stands in the handling city's system."""

    application_id: str
    item_code: str
    state: ApplicationState
    updated_at: datetime
    note: str | None = None
