"""`tongban evaluation ...`: re-run a published expert draw from its record; write a session's archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_support import fail, one_line_errors, settings

__all__ = ["app"]

app = typer.Typer(help="Remote cross-region bid evaluation (远程异地评标).", no_args_is_help=True)


@app.command()
@one_line_errors
def redraw(
    record: Annotated[Path, typer.Argument(help="the draw record (JSON), as the session's supervisors received it")],
) -> None:
    """Re-run a draw from its revealed seed and pool snapshot; exit 1 unless it gives the same result."""
    from gateway.services.evaluation import check_record

    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{record}: not a JSON draw record ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("draw"), dict):
        data = data["draw"]  # a whole session as a supervisor reads it
    if not isinstance(data, dict):
        raise fail(f"{record}: not a JSON draw record")
    problems = check_record(data)
    if problems:
        for problem in problems:
            typer.echo(f"mismatch: {problem}", err=True)
        raise typer.Exit(1)
    committee = ", ".join(f"{item['seat']}={item['city']}/{item['expert_id']}" for item in data["committee"])
    typer.echo(
        f"the draw re-runs to the same result: {committee}; {len(data['reserves'])} reserves, "
        f"{len(data['exclusions'])} exclusions"
    )


@app.command()
@one_line_errors
def archive(
    session_id: Annotated[str, typer.Argument(metavar="SESSION_ID")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the archive")],
    withhold_identities: Annotated[
        bool, typer.Option(help="Leave out the documents that name the experts, as the main venue receives it")
    ] = False,
) -> None:
    """Write a signed, archived or aborted session's archive bundle from the local database (check it
    with `tongban audit check FILE --key PEM`)."""
    from gateway.runtime import Runtime
    from gateway.services.evaluation._record import ARCHIVABLE_IN, build_archive
    from gateway.services.evaluation._sessions import _load

    runtime = Runtime.build(settings())
    try:
        with runtime.database.read() as connection:
            session = _load(connection, session_id)
        if session.position.state not in ARCHIVABLE_IN:
            raise fail(
                f"session {session_id} is {session.position.state}: it is archived once signed, archived or aborted"
            )
        bundle = build_archive(runtime, session, identities=not withhold_identities)
    finally:
        runtime.database.dispose()
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    withheld = f"; withheld: {', '.join(bundle['withheld'])}" if bundle["withheld"] else ""
    typer.echo(
        f"{output}: {len(bundle['events'])} events proven, documents {', '.join(sorted(bundle['documents']))}{withheld}"
    )
