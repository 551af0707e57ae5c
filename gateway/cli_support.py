"""What every `tongban` command shares, the domain services' commands included: the --config
option, settings, the database, one-line errors. Kept cheap to import, like gateway/cli.py."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from gateway import errors
from trust import TrustError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Connection

    from gateway.settings import Settings

__all__ = ["ConfigOption", "console", "database_writer", "fail", "one_line_errors", "settings", "state"]

F = TypeVar("F", bound=Callable[..., Any])
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (default: $TONGBAN_CONFIG)", show_default=False),
]
state: dict[str, Any] = {"config": None}


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"tongban: {message}", err=True)
    return typer.Exit(code)


def one_line_errors(function: F) -> F:
    """Every command exits non-zero with a one-line reason on stderr, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except errors.TongbanError as exc:
            raise fail(exc.detail, 2 if isinstance(exc, errors.ConfigurationError) else 1) from None
        except TrustError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None
        except ValueError as exc:  # bad key files, unknown algorithms: the message says which
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def settings(config: Path | None = None, **overrides: Any) -> Settings:
    from gateway.settings import load_settings

    return load_settings(config or state["config"], **overrides)


@contextmanager
def database_writer(current: Settings) -> Iterator[Connection]:
    from gateway.storage import Database

    database = Database(current.database_url)
    try:
        database.migrate()
        with database.write() as connection:
            yield connection
    finally:
        database.dispose()
