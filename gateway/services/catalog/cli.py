"""`tongban catalog ...`: check, load, export and read the service-item catalogue.

Imports here stay light (typer, the shared CLI helpers); the catalogue code, the database and
openpyxl are imported inside the commands that use them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli_support import console, database_writer, fail, one_line_errors, settings

if TYPE_CHECKING:
    from catalogs.service_items import ServiceItem
    from gateway.services.catalog import CatalogueFile, CatalogueFileError

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="The cross-city service-item catalogue (通办事项目录): validate, import, export, list, show.",
)

FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="A .csv, .xlsx or .json catalogue file")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _now() -> Any:
    from gateway.clock import SystemClock

    return SystemClock().now()


def _report(error: CatalogueFileError) -> typer.Exit:
    """Every problem on a line of its own, then the one-line reason."""
    for problem in error.problems:
        typer.echo(f"{error.source}: {problem}", err=True)
    return fail(f"{error.source}: {len(error.problems)} problem(s); nothing was imported")


def _read(path: Path) -> CatalogueFile:
    """The file, read and checked row by row under a progress bar."""
    from gateway.services.catalog import CatalogueFileError, read_catalogue

    if not path.is_file():
        raise fail(f"{path}: no such file")
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    screen = console(stderr=True)
    try:
        if not screen.is_terminal:  # a pipe or a log file gets the result lines only
            return read_catalogue(path)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=screen, transient=True) as progress:
            task = progress.add_task(f"checking {path.name}, rows", total=None)
            return read_catalogue(path, on_row=lambda: progress.advance(task))
    except CatalogueFileError as exc:
        raise _report(exc) from None


@app.command("validate")
@one_line_errors
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(metavar="[FILE]", help="A catalogue file; without it, the catalogue in the database"),
    ] = None,
    shipped: Annotated[bool, typer.Option(help="Check the shipped catalogue instead (no database)")] = False,
) -> None:
    """Check a catalogue file, every row against the item model; exit 1 listing every bad row."""
    if file is not None:
        loaded = _read(file)
        typer.echo(f"{file}: {len(loaded.items)} items valid")
        return
    if shipped:
        from catalogs.service_items import load_service_items

        typer.echo(f"shipped catalogue: {len(load_service_items())} items valid")
        return
    from gateway.services.catalog import ensure_catalogue, stored_items

    with database_writer(settings()) as connection:
        version = ensure_catalogue(connection, _now())
        items = stored_items(connection)  # each row re-read through the model
    typer.echo(f"catalogue {version.version} in the database: {len(items)} items valid (digest {version.digest})")


@app.command("import")
@one_line_errors
def import_(
    file: FileArgument,
    version: Annotated[str | None, typer.Option(help="Version to record (default: the file's, or its digest)")] = None,
) -> None:
    """Replace the catalogue in the database with FILE, all or nothing, and record its version."""
    from rich.progress import Progress

    from gateway.services.catalog import replace_catalogue
    from gateway.services.catalog._store import catalogue_digest

    loaded = _read(file)
    chosen = version or loaded.version or f"import-{catalogue_digest(loaded.items)[:12]}"
    if len(chosen) > 64:
        raise fail("the version is at most 64 characters")
    screen = console(stderr=True)
    with Progress(console=screen, transient=True, disable=not screen.is_terminal) as progress:
        task = progress.add_task(f"storing {len(loaded.items)} items", total=len(loaded.items))
        with database_writer(settings()) as connection:
            stored = replace_catalogue(
                connection, loaded.items, version=chosen, source=f"import: {file.name}", now=_now()
            )
            progress.update(task, completed=len(loaded.items))
    typer.echo(f"imported {stored.item_count} items from {file} as catalogue {stored.version} (digest {stored.digest})")


@app.command("export")
@one_line_errors
def export(file: FileArgument) -> None:
    """Write the catalogue in the database to FILE (.csv, .xlsx or .json), ready to edit and import."""
    from gateway.services.catalog import ensure_catalogue, export_catalogue, stored_items

    with database_writer(settings()) as connection:
        version = ensure_catalogue(connection, _now())
        items = stored_items(connection)
    export_catalogue(items, file, version=version.version)
    typer.echo(f"exported {len(items)} items of catalogue {version.version} to {file}")


def _city_names() -> dict[str, str]:
    from catalogs import cities

    return {city.region: city.name for city in cities()}


@app.command("list")
@one_line_errors
def list_(
    q: Annotated[str | None, typer.Option("--q", help="Words in the item name, e.g. 食品 or 社保")] = None,
    sector: Annotated[str | None, typer.Option(help="e.g. 市场监管")] = None,
    city: Annotated[str | None, typer.Option(help="GB/T 2260 code, e.g. 442000")] = None,
    mode: Annotated[str | None, typer.Option(help="全程网办, 异地代收代办 or 多地联办")] = None,
    subject: Annotated[str | None, typer.Option(help="enterprise or person")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=500)] = 500,
    as_json: JsonOption = False,
) -> None:
    """List catalogue items, filtered like GET /v1/catalog/items."""
    from gateway.services.catalog import ensure_catalogue, search_items
    from gateway.services.catalog._queries import catalogue_query

    given = {"q": q, "sector": sector, "city": city, "mode": mode, "subject": subject}
    params = {name: value for name, value in given.items() if value is not None}
    query = catalogue_query({**params, "page": str(page), "page_size": str(page_size)})
    with database_writer(settings()) as connection:
        ensure_catalogue(connection, _now())
        items, total = search_items(connection, query)
    if as_json:
        page_of = {"items": items, "total": total, "page": query.page, "page_size": query.page_size}
        typer.echo(json.dumps(page_of, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("code", "name", "sector", "mode", "subject", title=f"{total} item(s)")
    for item in items:
        table.add_row(item["code"], item["name"], item["sector"], item["mode"], item["subject"])
    console().print(table)


def _show_item(item: ServiceItem) -> None:
    from rich.table import Table

    names = _city_names()
    table = Table(show_header=False, title=f"{item.code} {item.name}")
    table.add_column(style="bold")
    table.add_column()
    for label, value in (("sector", item.sector), ("subject", item.subject), ("mode", item.mode)):
        table.add_row(label, value)
    for city, department in item.departments.items():
        table.add_row(f"department {city}", f"{department}（{names.get(city, city)}）")
    for material in item.materials:
        stand_in = f"  免提交: {', '.join(material.licence_types)}" if material.licence_types else ""
        optional = "" if material.required else "（如需）"
        table.add_row(f"material {material.code}", f"{material.name}{optional}{stand_in}")
    table.add_row("time limit", f"legal {item.legal_limit_days}, promised {item.promised_limit_days} working days")
    table.add_row("fee", f"{item.fee} 元")
    table.add_row("legal basis", item.legal_basis)
    table.add_row("result", item.result_type + (f" ({item.result_licence_type})" if item.result_licence_type else ""))
    console().print(table)


@app.command("show")
@one_line_errors
def show(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The item code, e.g. SCJG-0002")],
    as_json: JsonOption = False,
) -> None:
    """Show one item: departments, materials (and the e-licences that stand in), limits, fee, basis."""
    from gateway.services.catalog import ensure_catalogue, item_by_code

    with database_writer(settings()) as connection:
        ensure_catalogue(connection, _now())
        item = item_by_code(connection, code)
    if item is None:
        raise fail(f"no service item {code} in the catalogue")
    if as_json:
        typer.echo(json.dumps(item.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    _show_item(item)
