"""`tongban credit ...`: the purposes catalogue, and recording a credit repair at a sandbox credit
platform (so that a report issued before it verifies as superseded)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from gateway import cli_support

app = typer.Typer(
    help="Public-credit reports: purposes, and repairs at the sandbox credit platforms.", no_args_is_help=True
)


@app.command("purposes")
@cli_support.one_line_errors
def purposes() -> None:
    """List the purposes a report may be asked for and the sections each releases."""
    from catalogs.credit_purposes import credit_purposes

    catalogue = credit_purposes()
    out = cli_support.console()
    out.print(f"catalogue {catalogue.version}")
    for purpose in catalogue.purposes:
        personal = "personal data" if purpose.personal_data else "organisations only"
        out.print(f"{purpose.code:24} {purpose.label}  ({personal}): {', '.join(purpose.sections)}")


@app.command("repair")
@cli_support.one_line_errors
def repair(
    subject_code: Annotated[str, typer.Argument(help="the subject's unified social credit code")],
    decision_number: Annotated[str, typer.Argument(help="the penalty decision's number (决定文书号)")],
    on: Annotated[str | None, typer.Option("--date", help="repair date, YYYY-MM-DD (default: today)")] = None,
    config: cli_support.ConfigOption = None,
) -> None:
    """Record a credit repair (信用修复) of a penalty at the subject's city's sandbox credit platform."""
    from adapters.sandboxes import record_credit_repair
    from gateway.services.credit._report import credit_city, identify_subject

    settings = cli_support.settings(config)
    subject = identify_subject(subject_code)
    city = credit_city(subject, settings.partner_urls)
    repaired_on = date.fromisoformat(on) if on else date.today()
    record_credit_repair(city, settings.partner_urls[city], subject.code, decision_number, repaired_on)
    cli_support.console().print(
        f"repaired: {decision_number} of {subject.code} at the {city} credit platform, {repaired_on}"
    )
