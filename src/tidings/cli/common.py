"""Options every client command shares, and how commands print and fail."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from tidings.cli.errors import (
    DATA_FIX,
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    CliError,
    Failure,
    describe,
    json_mode,
    report,
)
from tidings.client.profile import ProfileError, default_dir
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError

if TYPE_CHECKING:  # the server's modules load only in the commands that use them
    from tidings.server.config import Settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

ServerOpt = Annotated[str | None, typer.Option(
    "--server", envvar="TIDINGS_SERVER", help="Server URL, e.g. http://127.0.0.1:8080.")]
ProfileOpt = Annotated[Path | None, typer.Option(
    "--profile", envvar="TIDINGS_PROFILE",
    help="Profile directory holding this person's device token and keys.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
DataOpt = Annotated[Path | None, typer.Option(
    "--data", envvar="TIDINGS_DATA", help="The server's data directory.")]

DEFAULT_SERVER = "http://127.0.0.1:8080"


def profile_dir(value: Path | None) -> Path:
    return value if value is not None else default_dir()


def read_password_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        fail("no password on standard input", "missing_password")
    return password


def ask_password(password_stdin: bool, *, confirm: bool = False) -> str:
    """From standard input with ``--password-stdin``, else a hidden prompt in a terminal;
    never a prompt a script or ``--json`` caller cannot answer."""
    if password_stdin:
        return read_password_stdin()
    if json_mode() or not sys.stdin.isatty():
        fail("no password: pass it on standard input with --password-stdin, or run in a "
             "terminal to be asked", "missing_password")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=confirm))


def fail(message: str, code: str = "error", exit_code: int = EXIT_FAILED) -> None:
    """Print one line, ``error (code): message`` (or the JSON error with ``--json``), and
    exit. Say the fix in ``message``; cli/errors.py lists the exit codes."""
    raise typer.Exit(report(Failure(code, message, exit_code)))


def database_url(settings: Settings) -> str:
    """The server's database for an operator command, which must exist already: a missing
    SQLite file is one line with the fix, not the driver's "unable to open" traceback."""
    if not settings.database_url and not (settings.data_dir / "tidings.db").is_file():
        raise CliError(f"no database at {settings.data_dir} — {DATA_FIX}", "no_database",
                       EXIT_UNAVAILABLE)
    return settings.resolved_database_url


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning typed errors into a clear message and exit 1."""
    try:
        return asyncio.run(coro)
    except (TidingsError, ProfileError, CryptoError) as exc:  # e.g. wrong_passphrase
        raise typer.Exit(report(describe(exc))) from None


def emit(as_json: bool, value: Any, human: Callable[[Any], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    else:
        human(value)


async def noop() -> None:
    return None


__all__ = ["Awaitable", "DataOpt", "JsonOpt", "ProfileOpt", "ServerOpt"]
