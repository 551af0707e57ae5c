"""Catalogue files: CSV and XLSX export round-trips through import; bad rows are all reported, each
with its line and column, and nothing of a bad file is accepted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from catalogs.service_items import load_service_items
from gateway.services.catalog import COLUMNS, CatalogueFileError, export_catalogue, read_catalogue

SHIPPED = list(load_service_items().values())
HEADER = ",".join(COLUMNS)
GOOD_ROW = (
    "SCJG-9001,食品经营许可证核发（测试窗口）,市场监管,enterprise,异地代收代办,"
    "440300=深圳市市场监督管理局;442000=中山市市场监督管理局,"
    "application_form:食品经营许可申请书;business_licence:营业执照:business_licence;agent_letter?:授权委托书,"
    "20,5,0,《中华人民共和国食品安全法》第三十五条,licence,food_operation_permit"
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_export_then_import_gives_the_same_catalogue(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"catalogue{suffix}"
    export_catalogue(SHIPPED, path, version="v1")
    assert read_catalogue(path).items == SHIPPED


def test_csv_export_is_readable_by_excel_and_people(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.csv"
    export_catalogue(SHIPPED, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel it is UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == list(COLUMNS)
    food = next(row for row in rows if row[0] == "SCJG-0002")
    assert food[1] == "食品经营许可证核发"
    assert food[5] == "440300=深圳市市场监督管理局;442000=中山市市场监督管理局"
    assert "business_licence:营业执照:business_licence" in food[6]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_typed_csv_with_or_without_bom_is_read(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "official.csv"
    path.write_bytes(bom + f"{HEADER}\n{GOOD_ROW}\n".encode())
    (item,) = read_catalogue(path).items
    assert item.name == "食品经营许可证核发（测试窗口）"
    assert [m.required for m in item.materials] == [True, True, False]
    assert item.materials[1].licence_types == ("business_licence",)
    assert item.result_licence_type == "food_operation_permit"


def test_every_bad_row_is_reported_with_its_line_and_column(tmp_path: Path) -> None:
    bad_mode = (
        GOOD_ROW.replace("SCJG-9001", "SCJG-9002").replace("异地代收代办", "上门办").replace("（测试窗口）", "（二）")
    )
    bad_limits = (
        GOOD_ROW.replace("SCJG-9001", "SCJG-9003").replace(",20,5,", ",5,20,").replace("（测试窗口）", "（三）")
    )
    bad_licence = GOOD_ROW.replace("SCJG-9001", "SCJG-9004").replace(":business_licence;", ":no_such_licence;")
    bad_licence = bad_licence.replace("（测试窗口）", "（四）")
    bad_departments = (
        GOOD_ROW.replace("SCJG-9001", "SCJG-9005").replace("440300=", "440300 ").replace("（测试窗口）", "（五）")
    )
    repeated = GOOD_ROW  # same code and name as line 2
    path = tmp_path / "official.csv"
    lines = [HEADER, GOOD_ROW, bad_mode, bad_limits, "", bad_licence, bad_departments, repeated]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(CatalogueFileError) as caught:
        read_catalogue(path)
    found = [(p.line, p.column) for p in caught.value.problems]
    assert found == [(3, "mode"), (4, None), (6, "materials"), (7, "departments"), (8, "code"), (8, "name")]
    messages = [str(p) for p in caught.value.problems]
    assert "exceeds the legal limit" in messages[1]
    assert "no_such_licence" in messages[2] and "material 2" in messages[2]
    assert messages[4] == "line 8, column code: SCJG-9001 is already on line 2"


def test_a_bad_header_is_refused_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "official.csv"
    path.write_text("code,name,colour\nSCJG-0001,x,y\n", "utf-8")
    with pytest.raises(CatalogueFileError) as caught:
        read_catalogue(path)
    assert [p.line for p in caught.value.problems] == [1, 1]
    assert "unknown column(s) colour" in str(caught.value.problems[0])


def test_an_xlsx_row_number_is_the_spreadsheet_row(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    good = next(csv.reader([GOOD_ROW]))
    sheet.append([*good[:7], 20, 5, 0, *good[10:]])  # numbers as Excel keeps them
    sheet.append([*good[:2], "外星事务", *good[3:7], 20, 5, 0.5, *good[10:]])
    path = tmp_path / "official.xlsx"
    workbook.save(path)
    with pytest.raises(CatalogueFileError) as caught:
        read_catalogue(path)
    assert [(p.line, p.column) for p in caught.value.problems] == [(3, "sector")]


def test_xlsx_numbers_are_read_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.xlsx"
    export_catalogue(SHIPPED[:3], path)
    sheet = load_workbook(path).active
    assert sheet is not None
    assert sheet.cell(row=2, column=COLUMNS.index("legal_limit_days") + 1).value == 15


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\xff\xfe\x00c", "not UTF-8"), (HEADER.encode() + b"\n", "no items")],
)
def test_empty_or_undecodable_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "official.csv"
    path.write_bytes(content)
    with pytest.raises(CatalogueFileError, match=message):
        read_catalogue(path)


def test_material_names_with_separators_travel_as_json(tmp_path: Path) -> None:
    item = SHIPPED[0].model_copy(
        update={"materials": (SHIPPED[0].materials[0].model_copy(update={"name": "申请书（格式：A4;双面）"}),)}
    )
    path = tmp_path / "catalogue.csv"
    export_catalogue([item], path)
    row = list(csv.reader(path.read_text("utf-8-sig").splitlines()))[1]
    assert json.loads(row[COLUMNS.index("materials")])[0]["name"] == "申请书（格式：A4;双面）"
    assert read_catalogue(path).items == [item]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(SHIPPED), min_size=1, max_size=20, unique_by=lambda item: item.code))
def test_any_selection_round_trips_through_csv(tmp_path_factory: pytest.TempPathFactory, selection: list) -> None:
    path = tmp_path_factory.mktemp("round") / "catalogue.csv"
    export_catalogue(selection, path)
    assert read_catalogue(path).items == selection
