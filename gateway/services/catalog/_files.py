"""Catalogue files an operator edits: CSV (UTF-8, with or without BOM) and XLSX, one row per item,
and the shipped JSON form. Every row is checked against the item model; every problem is reported
with its line (the spreadsheet's row) and column, and a file with any problem is refused whole.

Columns, in this order (a header row names them; result_licence_type may be left out):

    code, name, sector, subject, mode, departments, materials, legal_limit_days,
    promised_limit_days, fee, legal_basis, result_type, result_licence_type

List-valued cells:

    departments   440300=深圳市市场监督管理局;442000=中山市市场监督管理局
    materials     application_form:食品经营许可申请书;business_licence:营业执照:business_licence
                  (code:name[:licence_type|licence_type...], items separated by ';'; a code ending
                  in '?' marks a material needed only in some cases: agent_letter?:授权委托书)

A materials cell may instead hold the JSON array of the shipped form ([{"code": ..., "name": ...}]),
for names that contain the separators; export writes that form only for such items.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalogs.service_items import ServiceItem

__all__ = [
    "COLUMNS",
    "CatalogueFile",
    "CatalogueFileError",
    "RowProblem",
    "export_catalogue",
    "read_catalogue",
]

COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "sector",
    "subject",
    "mode",
    "departments",
    "materials",
    "legal_limit_days",
    "promised_limit_days",
    "fee",
    "legal_basis",
    "result_type",
    "result_licence_type",
)
_OPTIONAL_COLUMNS = frozenset({"result_licence_type"})
_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
_SEPARATORS = (";", ":", "|", "=")


@dataclass(frozen=True)
class RowProblem:
    line: int  # 1 is the header row
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class CatalogueFileError(ValueError):
    """The file cannot be loaded; `problems` lists every bad row (nothing of the file was loaded)."""

    def __init__(self, source: str, problems: Sequence[RowProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s), nothing imported; first: {self.problems[0]}")


@dataclass(frozen=True)
class CatalogueFile:
    items: list[ServiceItem]
    version: str | None  # what a JSON file names; CSV and XLSX carry none


def file_format(path: Path) -> str:
    found = _FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValueError(f"{path}: a catalogue file is .csv, .xlsx or .json")
    return found


# ---- reading -------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text an operator sees (numbers without a spurious '.0')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(str(value)))
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")  # with or without BOM
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for row in reader:
        yield line, [cell.strip() for cell in row]
        line = reader.line_num + 1  # a quoted cell may span lines: the next row starts after it


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a bad file
        raise CatalogueFileError(str(path), [RowProblem(1, None, f"not a readable XLSX workbook ({exc})")]) from exc
    try:
        sheet = workbook["catalogue"] if "catalogue" in workbook.sheetnames else workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _departments(cell: str) -> dict[str, str]:
    departments: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in cell.split(";"))):
        city, equals, name = part.partition("=")
        if not equals:
            raise ValueError(f"{part!r} is not CITY=department (e.g. 440300=深圳市市场监督管理局)")
        if city.strip() in departments:
            raise ValueError(f"city {city.strip()} is named twice")
        departments[city.strip()] = name.strip()
    return departments


def _materials(cell: str) -> list[dict[str, Any]]:
    if cell.startswith("["):
        try:
            parsed = json.loads(cell)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the JSON array does not parse: {exc.msg} at character {exc.pos}") from exc
        if not isinstance(parsed, list):
            raise ValueError("the JSON form of materials is an array of objects")
        return parsed
    materials = []
    for part in filter(None, (piece.strip() for piece in cell.split(";"))):
        fields = [field.strip() for field in part.split(":")]
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise ValueError(f"{part!r} is not code:name[:licence_type|...]")
        code = fields[0]
        material: dict[str, Any] = {"code": code.rstrip("?"), "name": fields[1]}
        if code.endswith("?"):
            material["required"] = False
        if len(fields) == 3 and fields[2]:
            material["licence_types"] = [kind.strip() for kind in fields[2].split("|") if kind.strip()]
        materials.append(material)
    return materials


def _row_item(values: dict[str, str]) -> dict[str, Any]:
    """The row as the model's input; list cells decoded (a ValueError names the column)."""
    raw: dict[str, Any] = {name: value for name, value in values.items() if name in COLUMNS}
    for name, decode in (("departments", _departments), ("materials", _materials)):
        try:
            raw[name] = decode(values.get(name, ""))
        except ValueError as exc:
            raise _ColumnError(name, str(exc)) from exc
    if not raw.get("result_licence_type"):
        raw["result_licence_type"] = None
    return raw


class _ColumnError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _problems_of(error: ValidationError, line: int) -> list[RowProblem]:
    problems = []
    for detail in error.errors():
        location = detail["loc"]
        message = str(detail["msg"]).removeprefix("Value error, ")
        column = str(location[0]) if location else None
        if column == "materials" and len(location) > 1:
            message = (
                f"material {int(location[1]) + 1}" + (f" {location[2]}" if len(location) > 2 else "") + f": {message}"
            )
        problems.append(RowProblem(line, column, message))
    return problems


def _check_header(header: list[str]) -> list[RowProblem]:
    problems = []
    unknown = [name for name in header if name and name not in COLUMNS]
    missing = [name for name in COLUMNS if name not in header and name not in _OPTIONAL_COLUMNS]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if unknown:
        problems.append(
            RowProblem(1, None, f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
        )
    if missing:
        problems.append(RowProblem(1, None, f"missing column(s) {', '.join(missing)}"))
    if repeated:
        problems.append(RowProblem(1, None, f"column(s) {', '.join(repeated)} appear twice"))
    return problems


def _validate_rows(
    rows: Iterator[tuple[int, list[str]]], source: str, on_row: Callable[[], None] | None
) -> list[ServiceItem]:
    try:
        first = next(rows)
    except StopIteration:
        raise CatalogueFileError(source, [RowProblem(1, None, "the file is empty; a header row comes first")]) from None
    header = [name.strip().lower() for name in first[1]]
    while header and not header[-1]:
        header.pop()
    problems = _check_header(header)
    if problems:
        raise CatalogueFileError(source, problems)
    items: list[ServiceItem] = []
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for line, cells in rows:
        if on_row is not None:
            on_row()
        if not any(cells):
            continue  # blank rows between blocks are harmless
        if len(cells) > len(header) and any(cells[len(header) :]):
            problems.append(RowProblem(line, None, f"{len(cells)} cells, but the header names {len(header)} columns"))
            continue
        values = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        try:
            item = ServiceItem.model_validate(_row_item(values))
        except _ColumnError as exc:
            problems.append(RowProblem(line, exc.column, str(exc)))
            continue
        except ValidationError as exc:
            problems.extend(_problems_of(exc, line))
            continue
        for key, seen, column in ((item.code, seen_codes, "code"), (item.name, seen_names, "name")):
            if key in seen:
                problems.append(RowProblem(line, column, f"{key} is already on line {seen[key]}"))
            seen.setdefault(key, line)
        items.append(item)
    if not items and not problems:
        problems.append(RowProblem(2, None, "no items: a catalogue has at least one row after the header"))
    if problems:
        raise CatalogueFileError(source, problems)
    return items


def _read_json(path: Path) -> CatalogueFile:
    source = str(path)
    try:
        document = json.loads(path.read_text("utf-8-sig"))
        raw_items = document["items"]
        if not isinstance(raw_items, list):
            raise TypeError("items is not an array")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CatalogueFileError(source, [RowProblem(1, None, f"not a catalogue document ({exc})")]) from exc
    problems: list[RowProblem] = []
    items: list[ServiceItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_items, start=1):
        try:
            item = ServiceItem.model_validate(raw)
        except ValidationError as exc:
            problems.extend(RowProblem(number, p.column, p.message) for p in _problems_of(exc, number))
            continue
        if item.code in seen:
            problems.append(RowProblem(number, "code", f"{item.code} is already item {seen[item.code]}"))
        seen.setdefault(item.code, number)
        items.append(item)
    if problems:
        raise CatalogueFileError(f"{source} (line = item number)", problems)
    version = document.get("version")
    return CatalogueFile(items, str(version) if version else None)


def read_catalogue(path: Path, on_row: Callable[[], None] | None = None) -> CatalogueFile:
    """Every item of the file, checked; CatalogueFileError listing every problem otherwise.
    `on_row` is called as each CSV or XLSX row is read (a progress bar)."""
    kind = file_format(path)
    if kind == "json":
        return _read_json(path)
    rows = _csv_rows(path) if kind == "csv" else _xlsx_rows(path)
    try:
        return CatalogueFile(_validate_rows(rows, str(path), on_row), None)
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(str(path), [RowProblem(1, None, f"not UTF-8 text ({exc.reason})")]) from exc


# ---- writing -------------------------------------------------------------------------------------


def _plain(value: str) -> bool:
    return not any(separator in value for separator in _SEPARATORS)


def _materials_cell(item: ServiceItem) -> str:
    typed = all(_plain(m.code) and _plain(m.name) for m in item.materials)
    if not typed:
        return json.dumps([m.model_dump(mode="json") for m in item.materials], ensure_ascii=False)
    parts = []
    for material in item.materials:
        code = material.code + ("" if material.required else "?")
        kinds = "|".join(material.licence_types)
        parts.append(f"{code}:{material.name}" + (f":{kinds}" if kinds else ""))
    return ";".join(parts)


def _departments_cell(item: ServiceItem) -> str:
    for name in item.departments.values():
        if ";" in name:
            raise ValueError(f"{item.code}: the department {name!r} contains ';', which the cell format cannot hold")
    return ";".join(f"{city}={name}" for city, name in item.departments.items())


def _row(item: ServiceItem) -> list[Any]:
    return [
        item.code,
        item.name,
        item.sector,
        item.subject,
        item.mode,
        _departments_cell(item),
        _materials_cell(item),
        item.legal_limit_days,
        item.promised_limit_days,
        str(item.fee),
        item.legal_basis,
        item.result_type,
        item.result_licence_type or "",
    ]


def export_catalogue(items: Sequence[ServiceItem], path: Path, *, version: str | None = None) -> None:
    """Write the items as CSV (UTF-8 with BOM, which Excel reads as UTF-8), XLSX or JSON."""
    kind = file_format(path)
    if kind == "json":
        document = {"version": version or "exported", "items": [item.model_dump(mode="json") for item in items]}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")
    elif kind == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(_row(item) for item in items)
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("catalogue")
        sheet.append(list(COLUMNS))
        for item in items:
            sheet.append(_row(item))
        workbook.save(path)
