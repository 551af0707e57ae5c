"""Writes catalogs/data/service_items.json, the representative 深中通办 catalogue, from curated tables.

    python -m catalogs._generate_service_items          # rewrite the shipped file
    python -m catalogs._generate_service_items --check  # exit 1 when the shipped file is stale

The item names are those real Chinese government service catalogues use (主项 and their 子项: a
permit's 核发/变更/延续/补办/注销, a registration's forms of enterprise); departments are the real
departments of Shenzhen and Zhongshan; the legal bases are real laws and regulations. The codes,
time limits, fees and material lists are representative, not the official ones: an operator loads
the official list with `tongban catalog import FILE`.

Numbering: each base item has a number within its sector's prefix; its principal item carries the
bare number (SCJG-0002 食品经营许可证核发) and its sub-items a two-digit suffix (SCJG-0002-01
食品经营许可证变更). Nothing here is random, so the output is the same on every run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CATALOGUE_VERSION", "EXPECTED_ITEMS", "generate", "main"]

CATALOGUE_VERSION = "2026.12-representative"
EXPECTED_ITEMS = 633
_TARGET = Path(__file__).resolve().parent / "data" / "service_items.json"
_SCHEMA = _TARGET.with_name("service_items.schema.json")
_DESCRIPTION = (
    "A representative catalogue of 深中通办 cross-city service items (fictional codes, real item names). "
    "Load the official list with `tongban catalog import FILE`."
)

SZ, ZS = "440300", "442000"
E, P = "enterprise", "person"
ONLINE, PROXY, JOINT = "全程网办", "异地代收代办", "多地联办"


# ---- materials ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class M:
    """A material: code, name, the e-licence types that stand in for it, whether it is required."""

    code: str
    name: str
    licence_types: tuple[str, ...] = ()
    required: bool = True

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        if not self.required:
            out["required"] = False
        if self.licence_types:
            out["licence_types"] = list(self.licence_types)
        return out


LIBRARY: dict[str, M] = {
    m.code: m
    for m in (
        M("applicant_id", "申请人居民身份证", ("resident_id_card",)),
        M("legal_rep_id", "法定代表人身份证件", ("resident_id_card",)),
        M("agent_letter", "授权委托书及受托人身份证件", required=False),
        M("business_licence", "营业执照", ("business_licence",)),
        M("individual_licence", "个体工商户营业执照", ("individual_business_licence",)),
        M("household", "居民户口簿", ("household_register",)),
        M("marriage", "结婚证", ("marriage_certificate",)),
        M("ss_card", "社会保障卡", ("social_security_card",)),
        M("driving_licence", "机动车驾驶证", ("motor_vehicle_driving_licence",)),
        M("property", "不动产权证书", ("real_estate_certificate",)),
        M("premises", "经营场所使用证明", ("real_estate_certificate",)),
        M("photo", "近期免冠彩色照片"),
        M("safety_rules", "安全管理制度和操作规程"),
        M("staff_list", "专业技术人员名单及资格证明"),
        M("equipment", "主要设备设施清单"),
        M("layout", "场所平面布局图"),
        M("change_proof", "变更事项的证明材料"),
        M("loss_statement", "遗失或损毁情况说明"),
        M("original", "原证件正本、副本"),
        M("labour_contract", "劳动合同或劳动关系证明"),
        M("bank_account", "本人银行账户信息"),
        M("medical_record", "诊断证明及病历资料"),
        M("invoices", "医疗费用发票及费用明细清单"),
        M("contract", "购房合同或租赁合同"),
        M("tax_form", "纳税申报表"),
        M("residence_proof", "居住证明", ("real_estate_certificate",)),
        M("birth_certificate", "出生医学证明"),
        M("health_check", "体检证明"),
        M("qualification", "学历或资格证书"),
        M("plan", "建设项目设计方案"),
        M("eia_report", "环境影响评价文件"),
        M("vehicle_licence", "机动车行驶证"),
        M("vehicle_photo", "车辆照片"),
        M("site_proof", "场地使用证明", ("real_estate_certificate",)),
        M("articles", "章程"),
        M("members_list", "成员名册及身份证明"),
    )
}


def mats(*specs: str | M) -> tuple[M, ...]:
    """Materials by library code, or given whole."""
    return tuple(LIBRARY[spec] if isinstance(spec, str) else spec for spec in specs)


def form(name: str) -> M:
    return M("application_form", name)


# ---- base items and their sub-items ------------------------------------------------------------


@dataclass(frozen=True)
class Sub:
    """A sub-item: the suffix after its base's name and what differs from the base."""

    suffix: str
    materials: tuple[M, ...] | None = None  # None: derived from the base (see _sub_materials)
    limits: tuple[int, int] | None = None
    fee: str | None = None
    result: tuple[str, str | None] | None = None
    mode: str | None = None


@dataclass(frozen=True)
class B:
    """A base item: its name (or stem), subject, mode, (legal, promised) working days, legal basis,
    materials, result (type, e-licence type) and sub-items (the first is the principal item)."""

    name: str
    subject: str
    mode: str
    limits: tuple[int, int]
    basis: str
    materials: tuple[M, ...]
    result: tuple[str, str | None] = ("decision", None)
    fee: str = "0"
    subs: tuple[Sub, ...] = (Sub(""),)
    departments: dict[str, str] | None = None


def lifecycle(first: str = "核发", *, without: Iterable[str] = (), renew_fee: str | None = None) -> tuple[Sub, ...]:
    """A permit's sub-items: its issue (the principal item), change, renewal, reissue, cancellation."""
    skip = set(without)
    subs = [Sub(first)]
    for verb in ("变更", "延续", "补办", "注销"):
        if verb not in skip:
            subs.append(Sub(verb, fee=renew_fee if verb == "延续" else None))
    return tuple(subs)


CHANGE, RENEW, REISSUE, CANCEL = "变更", "延续", "补办", "注销"


def _sub_materials(base: B, sub: Sub, holder: M) -> tuple[M, ...]:
    """What a derived sub-item asks for: its own form, the holder's identity, the permit it changes
    (an e-licence stands in where the permit is one), and what the kind of change needs."""
    if sub.materials is not None:
        return sub.materials
    verb = sub.suffix.strip("（）")
    permit_types = (base.result[1],) if base.result[1] else ()
    permit = M("permit", f"{base.name}（原件或电子证照）", permit_types)
    extra = {
        CHANGE: (LIBRARY["change_proof"],),
        RENEW: (M("compliance_statement", "持续符合许可条件的说明"),),
        REISSUE: (LIBRARY["loss_statement"],),
        CANCEL: (LIBRARY["original"],) if not permit_types else (),
    }.get(verb, ())
    if verb not in (CHANGE, RENEW, REISSUE, CANCEL):
        return base.materials  # a form of the same item (企业设立登记（合伙企业）): the base's materials
    return (form(f"{base.name}{verb}申请表"), holder, permit, *extra)


def _sub_limits(base: B, sub: Sub) -> tuple[int, int]:
    if sub.limits is not None:
        return sub.limits
    legal, promised = base.limits
    verb = sub.suffix
    if verb == CHANGE:
        return legal, max(1, promised // 2)
    if verb in (REISSUE, CANCEL):
        return min(legal, 10), max(1, min(promised, 10) // 3)
    return legal, promised


def _sub_result(base: B, sub: Sub) -> tuple[str, str | None]:
    if sub.result is not None:
        return sub.result
    if sub.suffix == CANCEL:
        return ("decision", None)
    return base.result


@dataclass
class Group:
    """Base items sharing a code prefix, a sector and the departments that handle them."""

    prefix: str
    sector: str
    departments: dict[str, str]
    bases: list[B] = field(default_factory=list)


def _holder(base: B) -> M:
    return LIBRARY["business_licence"] if base.subject == E else LIBRARY["applicant_id"]


def _items_of(group: Group, number: int, base: B) -> Iterator[dict[str, Any]]:
    for index, sub in enumerate(base.subs):
        code = f"{group.prefix}-{number:04d}" + (f"-{index:02d}" if index else "")
        principal = index == 0
        materials = base.materials if principal else _sub_materials(base, sub, _holder(base))
        legal, promised = base.limits if principal else _sub_limits(base, sub)
        result_type, result_licence = base.result if principal else _sub_result(base, sub)
        item: dict[str, Any] = {
            "code": code,
            "name": base.name + sub.suffix,
            "sector": group.sector,
            "subject": base.subject,
            "mode": sub.mode or base.mode,
            "departments": dict(base.departments or group.departments),
            "materials": [material.as_json() for material in materials],
            "legal_limit_days": legal,
            "promised_limit_days": promised,
            "fee": sub.fee if sub.fee is not None else base.fee,
            "legal_basis": base.basis,
            "result_type": result_type,
        }
        if result_licence:
            item["result_licence_type"] = result_licence
        yield item


def generate() -> dict[str, Any]:
    """The whole catalogue document, as it is written to service_items.json."""
    from catalogs._service_item_tables import GROUPS

    counters: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    for group in GROUPS:
        for base in group.bases:
            counters[group.prefix] = counters.get(group.prefix, 0) + 1
            items.extend(_items_of(group, counters[group.prefix], base))
    if len(items) != EXPECTED_ITEMS:
        raise ValueError(f"the tables make {len(items)} items, not {EXPECTED_ITEMS}")
    names = [item["name"] for item in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"item names repeat: {', '.join(repeated)}")
    return {"description": _DESCRIPTION, "version": CATALOGUE_VERSION, "items": items}


def render(document: dict[str, Any]) -> str:
    """One item per line: the file stays readable and its diffs small."""
    lines = [
        "{",
        f' "description": {json.dumps(document["description"], ensure_ascii=False)},',
        f' "version": {json.dumps(document["version"])},',
        ' "items": [',
    ]
    rows = [json.dumps(item, ensure_ascii=False, separators=(", ", ": ")) for item in document["items"]]
    lines.append(",\n".join(f"  {row}" for row in rows))
    lines += [" ]", "}", ""]
    return "\n".join(lines)


def render_schema() -> str:
    from catalogs.service_items import catalogue_json_schema

    return json.dumps(catalogue_json_schema(), ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) the catalogue and its JSON Schema."""
    args = sys.argv[1:] if argv is None else argv
    outputs = {_TARGET: render(generate()), _SCHEMA: render_schema()}
    if "--check" in args:
        stale = [str(path) for path, text in outputs.items() if path.read_text("utf-8") != text]
        for name in stale:
            print(f"{name} is stale: run python -m catalogs._generate_service_items", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
