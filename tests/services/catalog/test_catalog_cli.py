"""`tongban catalog ...` through typer's CliRunner, against a database in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from test_cli import ok, run, var_dir  # the command-line tests' helpers, and their var dir in tmp_path

from gateway.services.catalog._tables import catalog_items, catalog_version
from gateway.storage import Database

__all__ = ["var_dir"]  # an autouse fixture: every test here runs against a database in tmp_path

ROW = (
    "SCJG-9001,食品经营许可证核发（试点）,市场监管,enterprise,全程网办,"
    "440300=深圳市市场监督管理局;442000=中山市市场监督管理局,"
    "application_form:食品经营许可申请书;business_licence:营业执照:business_licence,"
    "20,5,0,《中华人民共和国食品安全法》第三十五条,licence,food_operation_permit"
)


def stored_codes(tmp_path: Path) -> list[str]:
    database = Database(f"sqlite:///{tmp_path / 'var' / 'tongban.db'}")
    try:
        with database.read() as connection:
            return list(connection.execute(select(catalog_items.c.code).order_by(catalog_items.c.position)).scalars())
    finally:
        database.dispose()


def test_validate_the_shipped_and_the_stored_catalogue() -> None:
    assert "633 items valid" in ok("catalog", "validate", "--shipped").stdout
    assert "catalogue 2026.12-representative in the database: 633 items valid" in ok("catalog", "validate").stdout


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_round_trips(tmp_path: Path, suffix: str) -> None:
    exported = tmp_path / f"catalogue{suffix}"
    ok("catalog", "export", str(exported))
    before = json.loads(ok("catalog", "list", "--json").stdout)
    assert "633 items valid" in ok("catalog", "validate", str(exported)).stdout
    result = ok("catalog", "import", str(exported), "--version", "2027.01")
    assert "imported 633 items" in result.stdout and "2027.01" in result.stdout
    assert json.loads(ok("catalog", "list", "--json").stdout) == before


def test_a_bad_file_lists_every_bad_row_and_imports_nothing(tmp_path: Path) -> None:
    ok("catalog", "validate")  # loads the shipped catalogue
    exported = tmp_path / "catalogue.csv"
    ok("catalog", "export", str(exported))
    lines = exported.read_text("utf-8-sig").splitlines()
    lines[3] = lines[3].replace("全程网办", "上门办").replace("异地代收代办", "上门办").replace("多地联办", "上门办")
    lines.append(ROW.replace("business_licence:营业执照:business_licence", "business_licence:营业执照:z"))
    exported.write_text("\n".join(lines) + "\n", "utf-8")
    before = stored_codes(tmp_path)
    result = run("catalog", "import", str(exported))
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0] == f"{exported}: line 4, column mode: Input should be '全程网办', '异地代收代办' or '多地联办'"
    assert errors[1].startswith(f"{exported}: line 635, column materials: material 2 licence_types: unknown licence")
    assert errors[-1] == f"tongban: {exported}: 2 problem(s); nothing was imported"
    assert stored_codes(tmp_path) == before
    assert run("catalog", "validate", str(exported)).exit_code == 1


def test_import_replaces_the_catalogue_and_records_its_version(tmp_path: Path) -> None:
    official = tmp_path / "official.csv"
    official.write_text(
        "code,name,sector,subject,mode,departments,materials,legal_limit_days,"
        "promised_limit_days,fee,legal_basis,result_type,result_licence_type\n" + ROW + "\n",
        "utf-8",
    )
    ok("catalog", "import", str(official))
    assert stored_codes(tmp_path) == ["SCJG-9001"]
    database = Database(f"sqlite:///{tmp_path / 'var' / 'tongban.db'}")
    try:
        with database.read() as connection:
            version = connection.execute(select(catalog_version)).one()
    finally:
        database.dispose()
    assert version.version.startswith("import-") and version.source == "import: official.csv"
    assert version.item_count == 1


def test_list_and_show_print_chinese_and_json() -> None:
    listed = ok("catalog", "list", "--q", "食品", "--sector", "市场监管", "--city", "442000").stdout
    assert "食品经营许可证核发" in listed and "15 item(s)" in listed
    page = json.loads(ok("catalog", "list", "--q", "社保", "--json").stdout)
    assert page["total"] == 8 and page["items"][0]["name"] == "社会保障卡申领"
    shown = ok("catalog", "show", "SCJG-0002").stdout
    assert "食品经营许可证核发" in shown and "中山市市场监督管理局" in shown and "免提交" in shown
    assert json.loads(ok("catalog", "show", "SCJG-0002", "--json").stdout)["promised_limit_days"] == 5


def test_failures_are_one_line_reasons() -> None:
    missing = run("catalog", "show", "NONE-0001")
    assert missing.exit_code == 1 and missing.stderr == "tongban: no service item NONE-0001 in the catalogue\n"
    bad_mode = run("catalog", "list", "--mode", "上门办")
    assert bad_mode.exit_code == 1 and bad_mode.stderr.startswith("tongban: mode must be one of")
    wrong_kind = run("catalog", "import", "catalogue.txt")
    assert wrong_kind.exit_code == 1 and wrong_kind.stderr.count("\n") == 1
