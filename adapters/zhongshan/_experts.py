"""Zhongshan's expert pool records (评标专家, element PBZJ of JyxmCxService.SearchPbzj) to and from the
canonical EvaluationExpert: the trading centre's one record kept outside the field map, since its
specialties, declared relations and sanctions are lists of codes and dated entries the map's layouts
do not carry (as Hohhot's and Shenzhen's expert rows are read by hand too).

    <PBZJ>
      <ZJBH>442000ZJ0001</ZJBH> <ZJXM>..</ZJXM> <SFZH>..</SFZH> <ZC>高级工程师</ZC>
      <ZYLB><ZYDM>XXJS</ZYDM>..</ZYLB>                  专业, Zhongshan's codes, the main one first
      <GZDW>..</GZDW> <GZDWXYDM>..</GZDWXYDM>           工作单位 and its USCC
      <SSQH>442000</SSQH> <ZJZT>ZC|ZT</ZJZT>            所属区划; 正常 or 暂停 (not to be drawn)
      <HBDW><DW><TYSHXYDM>..</TYSHXYDM><GXLX>JQS</GXLX></DW>..</HBDW>      declared relations (回避单位)
      <CFJL><CF><CFYY>..</CFYY><KSRQ>yyyyMMdd</KSRQ><JSRQ>yyyyMMdd</JSRQ></CF>..</CFJL>   sanctions
    </PBZJ>

Reading raises ValueError naming the element at fault (the client makes it MalformedPartnerData).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from lxml import etree
from pydantic import ValidationError

from catalogs import CatalogError, code_table
from gateway.canonical import EvaluationExpert

__all__ = ["EXPERT_ELEMENT", "SPECIALTY_PARAMETER", "expert_from_partner", "expert_to_partner"]

CITY: Final = "zhongshan"
EXPERT_ELEMENT: Final = "PBZJ"
SPECIALTY_PARAMETER: Final = "ZYDM"  # SearchPbzj's one (optional) parameter: a Zhongshan specialty code
_STATUS: Final = {"ZC": True, "ZT": False}  # 正常, 暂停
_DAY: Final = re.compile(r"^\d{8}$")
_VALUES: Final = ("ZJBH", "ZJXM", "SFZH", "ZC", "GZDW", "GZDWXYDM", "SSQH", "ZJZT")
_LISTS: Final = ("ZYLB", "HBDW", "CFJL")


def _day(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def expert_to_partner(expert: EvaluationExpert) -> Any:
    """The expert as Zhongshan's PBZJ element."""
    specialties, relations = code_table("evaluation_specialty"), code_table("expert_relation")
    element = etree.Element(EXPERT_ELEMENT)

    def add(parent: Any, name: str, text: str) -> Any:
        child = etree.SubElement(parent, name)
        child.text = text
        return child

    add(element, "ZJBH", expert.expert_id)
    add(element, "ZJXM", expert.name)
    add(element, "SFZH", expert.id_number)
    if expert.title:
        add(element, "ZC", expert.title)
    listed = etree.SubElement(element, "ZYLB")
    for code in expert.specialties:
        add(listed, SPECIALTY_PARAMETER, specialties.to_city(CITY, code))
    add(element, "GZDW", expert.employer.name)
    add(element, "GZDWXYDM", expert.employer.id_number)
    add(element, "SSQH", expert.city)
    add(element, "ZJZT", "ZC" if expert.available else "ZT")
    if expert.relations:
        units = etree.SubElement(element, "HBDW")
        for relation in expert.relations:
            unit = etree.SubElement(units, "DW")
            add(unit, "TYSHXYDM", relation.credit_code)
            add(unit, "GXLX", relations.to_city(CITY, relation.relation))
    if expert.sanctions:
        records = etree.SubElement(element, "CFJL")
        for sanction in expert.sanctions:
            record = etree.SubElement(records, "CF")
            add(record, "CFYY", sanction.reason)
            add(record, "KSRQ", _day(sanction.starts_on))
            add(record, "JSRQ", _day(sanction.ends_on))
    return element


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _children(element: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _local(child)
        if name not in allowed:
            raise ValueError(f"{where}/{name}: not a field of {_local(element)}")
        if name in found:
            raise ValueError(f"{where}/{name}: appears more than once")
        found[name] = child
    return found


def _items(container: Any, tag: str, where: str) -> list[Any]:
    if container is None:
        return []
    items = [child for child in container if isinstance(child.tag, str)]
    for index, item in enumerate(items, start=1):
        if _local(item) != tag:
            raise ValueError(f"{where}[{index}]: expected only {tag} elements, found {_local(item)}")
    return items


def _text(fields: dict[str, Any], name: str) -> str | None:
    child = fields.get(name)
    if child is None:
        return None
    if len(child):
        raise ValueError(f"{name}: holds elements where a value belongs")
    return (child.text or "").strip() or None


def _code(table: str, text: str | None, where: str) -> str:
    try:
        return code_table(table).from_city(CITY, text or "")
    except CatalogError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _date(text: str | None, where: str) -> date:
    if text is None or not _DAY.match(text):
        raise ValueError(f"{where}: {text!r} is not a date as yyyyMMdd")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a calendar date") from None


def expert_from_partner(element: Any, where: str = EXPERT_ELEMENT) -> EvaluationExpert:
    """The canonical expert from a PBZJ element; ValueError naming the element at fault."""
    if not etree.iselement(element) or not isinstance(element.tag, str) or _local(element) != EXPERT_ELEMENT:
        raise ValueError(f"{where}: expected the element {EXPERT_ELEMENT}")
    fields = _children(element, where, _VALUES + _LISTS)
    specialties = [
        _code("evaluation_specialty", (item.text or "").strip(), f"{where}/ZYLB/{SPECIALTY_PARAMETER}[{index}]")
        for index, item in enumerate(_items(fields.get("ZYLB"), SPECIALTY_PARAMETER, f"{where}/ZYLB"), start=1)
    ]
    if not specialties:
        raise ValueError(f"{where}/ZYLB: an expert has at least one specialty")
    status = _text(fields, "ZJZT")
    if status not in _STATUS:
        raise ValueError(f"{where}/ZJZT: expected ZC or ZT, got {status!r}")
    relations = []
    for index, unit in enumerate(_items(fields.get("HBDW"), "DW", f"{where}/HBDW/DW"), start=1):
        at = f"{where}/HBDW/DW[{index}]"
        inner = _children(unit, at, ("TYSHXYDM", "GXLX"))
        relations.append(
            {
                "credit_code": _text(inner, "TYSHXYDM"),
                "relation": _code("expert_relation", _text(inner, "GXLX"), f"{at}/GXLX"),
            }
        )
    sanctions = []
    for index, record in enumerate(_items(fields.get("CFJL"), "CF", f"{where}/CFJL/CF"), start=1):
        at = f"{where}/CFJL/CF[{index}]"
        inner = _children(record, at, ("CFYY", "KSRQ", "JSRQ"))
        sanctions.append(
            {
                "reason": _text(inner, "CFYY"),
                "starts_on": _date(_text(inner, "KSRQ"), f"{at}/KSRQ"),
                "ends_on": _date(_text(inner, "JSRQ"), f"{at}/JSRQ"),
            }
        )
    try:
        return EvaluationExpert.model_validate(
            {
                "expert_id": _text(fields, "ZJBH"),
                "name": _text(fields, "ZJXM"),
                "id_number": _text(fields, "SFZH"),
                "specialties": specialties,
                "title": _text(fields, "ZC") or "",
                "employer": {"name": _text(fields, "GZDW"), "id_type": "uscc", "id_number": _text(fields, "GZDWXYDM")},
                "city": _text(fields, "SSQH"),
                "available": _STATUS[status],
                "relations": relations,
                "sanctions": sanctions,
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error.get("loc", ())) or EXPERT_ELEMENT
        raise ValueError(f"{where}: not an expert record ({field}: {error.get('msg', 'invalid')})") from None
