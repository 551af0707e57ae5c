"""The canonical model: what the gateway means by a licence, a credit subject, an application, an
electronic seal or a trading project, whatever each city's systems call them. Adapters map partner
formats to and from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "ApplicationState",
    "ApplicationStatus",
    "ApplicationSubmission",
    "CommitmentOutcome",
    "CreditRecord",
    "CreditRecordKind",
    "CreditSubject",
    "EvaluationExpert",
    "ExpertRelation",
    "ExpertRelationKind",
    "ExpertSanction",
    "HolderIdType",
    "Licence",
    "LicenceStatus",
    "Party",
    "Seal",
    "SealStatus",
    "SealType",
    "SubjectType",
    "SubmittedMaterial",
    "TradingCategory",
    "TradingProject",
    "TradingProjectStatus",
]

HolderIdType = Literal["uscc", "resident_id"]  # GB 32100 unified social credit code, GB 11643 ID number
LicenceStatus = Literal["valid", "suspended", "revoked", "cancelled", "expired"]
SubjectType = Literal["enterprise", "individual_business", "person", "public_institution"]
CreditRecordKind = Literal[
    "commendation",
    "sanction",
    "serious_dishonesty",
    "administrative_penalty",
    "administrative_licence",
    "abnormal_operation",
    "dishonest_judgement_debtor",
    "credit_commitment",
]
CommitmentOutcome = Literal["kept", "breached"]
ApplicationState = Literal[
    "received",
    "accepted",
    "correction",
    "processing",
    "concluded",
    "delivered",
    "not_accepted",
    "returned",
    "withdrawn",
]
# 法定名称章 (the unit's official seal), 财务专用章, 发票专用章, 合同专用章, 法定代表人名章, 其他业务专用章
SealType = Literal["official", "finance", "invoice", "contract", "legal_representative", "business"]
SealStatus = Literal["valid", "suspended", "revoked", "expired"]
# 工程建设, 政府采购, 土地使用权出让, 矿业权出让, 国有产权交易, 其他
TradingCategory = Literal[
    "construction", "government_procurement", "land_use_rights", "mining_rights", "state_property", "other"
]
# 公告, 开标, 评标, 中标候选人公示, 定标 (中标结果), 终止 (流标/废标)
TradingProjectStatus = Literal[
    "announced", "bid_opened", "evaluating", "candidates_publicised", "awarded", "terminated"
]
# 近亲属任职, 持股 (现持有或近三年曾持有), 近三年曾任职
ExpertRelationKind = Literal["close_relative_employed", "shareholder", "former_employer"]


class _Canonical(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Canonical):
    """A person or organisation identified by its code."""

    name: str = Field(min_length=1, max_length=200)
    id_type: HolderIdType
    id_number: str = Field(min_length=15, max_length=18)


class Licence(_Canonical):
    """An electronic licence (电子证照) as its issuing registry holds it."""

    licence_number: str = Field(
        min_length=1, max_length=128, description="the issuer's number (证照编号), or its GB/T 36904 identifier"
    )
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
    """One public-credit record as the national public-credit report sorts them: an administrative
    licence (行政许可) or penalty (行政处罚), a list entry (严重失信主体名单, 失信被执行人, 经营异常名录,
    红名单 or an older 黑名单 entry), or a credit commitment (信用承诺)."""

    kind: CreditRecordKind
    title: str
    authority: str
    decided_on: date
    valid_until: date | None = Field(default=None, description="end of the publication window (公示截止日期)")
    decision_number: str | None = Field(default=None, max_length=100, description="the decision's number (决定文书号)")
    repaired_on: date | None = Field(
        default=None, description="the day its publication ended through credit repair (信用修复); None: not repaired"
    )
    commitment_outcome: CommitmentOutcome | None = Field(
        default=None, description="whether a credit commitment was kept (kept, breached); None while it runs"
    )


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


class SubmittedMaterial(_Canonical):
    """One material of an application as the handling city receives it: by digest, never the bytes
    of another city's licence (免提交: the licence number the handling city can look up itself)."""

    code: str
    name: str
    digest: str = Field(description="RFC 9530 sha-256 of the material (the uploaded bytes, or the licence record)")
    reference: str | None = None  # where the receiving city keeps the uploaded file
    licence_number: str | None = None  # when an e-licence stands in for the material
    issuing_city: str | None = None


class ApplicationSubmission(_Canonical):
    """An application received in one city and sent to the handling city's service-handling system."""

    application_id: str
    item_code: str
    item_name: str
    department: str = Field(description="the responsible department in the handling city")
    applicant: Party
    agent: Party | None = Field(None, description="the authorised agent (代办员) who applied on the applicant's behalf")
    receiving_city: str = Field(pattern=r"^[1-8]\d{5}$")
    submitted_at: datetime
    materials: tuple[SubmittedMaterial, ...]
    report_to: str | None = Field(None, description="where the handling system reports state changes (the gateway)")


class Seal(_Canonical):
    """An organisation's electronic seal (电子印章) as the seal platform of the city that made it records it.

    Whether a seal may still be relied on is `status` at its platform: a seal stays cryptographically
    sound after it is revoked, so verification asks the issuing city's platform (get_seal).
    """

    seal_code: str = Field(min_length=1, max_length=64, description="the seal's code (印章编码, GB/T 38540 esID)")
    name: str = Field(min_length=1, max_length=200, description="the name engraved on the seal (印章名称)")
    seal_type: SealType = Field(description="canonical seal type code, catalogs: seal_type")
    holder: Party = Field(description="the organisation the seal belongs to, by its unified social credit code")
    status: SealStatus = Field(description="canonical seal status code, catalogs: seal_status")
    valid_from: date
    valid_until: date | None = None
    maker_name: str | None = Field(default=None, description="the seal maker (制章单位)")
    signer_certificate_serial: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{1,40}$",
        description="serial number, lower-case hex, of the holder's signing certificate bound to the seal "
        "(GB/T 38540 SES_ESPropertyInfo.certList); an SM2 certificate in the cities' PKI",
    )
    signer_certificate_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of that certificate's DER, lower-case hex"
    )

    @field_validator("holder")
    @classmethod
    def _held_by_an_organisation(cls, holder: Party) -> Party:
        if holder.id_type != "uscc":
            raise ValueError(
                "an electronic seal is held by an organisation, identified by its unified social credit code"
            )
        return holder


class TradingProject(_Canonical):
    """A project at a public-resource trading centre (公共资源交易中心): a tender, procurement or transfer."""

    project_code: str = Field(min_length=1, max_length=64, description="the trading centre's project code (项目编号)")
    title: str = Field(min_length=1, max_length=300)
    category: TradingCategory = Field(description="canonical trading category, catalogs: trading_category")
    tenderer: Party = Field(description="the tenderer, purchaser or transferor (招标人/采购人/出让人)")
    budget_cny: int | None = Field(default=None, ge=0, description="budget or reserve price, in yuan")
    evaluation_at: datetime | None = Field(
        default=None, description="when bid evaluation (评标) starts, with its offset"
    )
    venue: str | None = Field(default=None, description="where it is evaluated (评标场所)")
    status: TradingProjectStatus = Field(description="canonical project status, catalogs: trading_project_status")


class ExpertRelation(_Canonical):
    """An enterprise an expert declared to the pool as related (回避关系): a close relative works there, the
    expert holds or held shares in it, or worked for it in the last three years."""

    credit_code: str = Field(min_length=18, max_length=18, description="the enterprise's unified social credit code")
    relation: ExpertRelationKind = Field(description="canonical kind, catalogs: expert_relation")


class ExpertSanction(_Canonical):
    """A sanction the pool recorded against an expert (暂停评标资格, 通报批评...), in force on the days
    from `starts_on` through `ends_on`."""

    reason: str = Field(min_length=1, max_length=200)
    starts_on: date
    ends_on: date

    @field_validator("ends_on")
    @classmethod
    def _ends_after_it_starts(cls, ends_on: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on < starts_on:
            raise ValueError("a sanction cannot end before it starts")
        return ends_on


class EvaluationExpert(_Canonical):
    """A bid-evaluation expert in a city's pool (评标专家库), as the gateway's expert draw reads it."""

    expert_id: str = Field(min_length=1, max_length=32, description="the pool's number for the expert")
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=18, max_length=18, description="GB 11643 resident identity number")
    specialties: tuple[str, ...] = Field(
        min_length=1, description="canonical codes, catalogs: evaluation_specialty; the first is the main one"
    )
    title: str = Field(default="", max_length=100, description="professional title (职称)")
    employer: Party = Field(description="where the expert works, by its unified social credit code")
    city: str = Field(pattern=r"^[1-8]\d{5}$", description="GB/T 2260 code of the pool's city")
    available: bool = Field(description="False: suspended, sanctioned, on leave or otherwise not to be drawn")
    relations: tuple[ExpertRelation, ...] = Field(default=(), description="the enterprises the expert declared")
    sanctions: tuple[ExpertSanction, ...] = Field(default=(), description="recorded sanctions, past ones too")
