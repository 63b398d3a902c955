"""Options every client command shares, and how commands print and fail."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import typer
from rich.console import Console
from rich.text import Text

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
from tidings.protocol.safe_text import safe_json, safe_line, safe_text

if TYPE_CHECKING:  # the server's modules load only in the commands that use them
    from tidings.config import Settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

PIPED_WIDTH: Final = 10_000
"""Columns of output that goes to a file or pipe: whole lines, never wrapped or cut."""


def fit_output() -> None:
    """Size both consoles for this invocation, from the streams as they are now.

    Rich fixes a console's width when it is built, at import, from ``COLUMNS`` as it was
    then (a pytest-xdist worker has ``COLUMNS=80``), and wraps lines and cuts table
    cells to it. Output to a terminal takes the terminal's width now; output to a file
    or pipe is never wrapped or cut (``PIPED_WIDTH``), so what ``grep`` or a script
    reads does not depend on the environment. ``--json`` is the stable format."""
    for target, stream in ((console, sys.stdout), (err_console, sys.stderr)):
        target.width = _width_of(stream)


def _width_of(stream: Any) -> int:
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        terminal = False
    return shutil.get_terminal_size().columns if terminal else PIPED_WIDTH

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


Part = str | tuple[str, str]
"""A piece of a printed line: text, or (text, Rich style)."""


def plain(*parts: Part) -> Text:
    """A line built from untrusted values, shown as plain text (docs/decisions.md).

    Each part goes through ``safe_text`` (control, escape and bidi characters replaced
    visibly) and into a Rich ``Text``, which is never parsed as markup: a message saying
    ``[link=https://evil]bank[/link]`` or ``[/bold]`` is printed as those characters.
    Styles come only from the tuples our own code writes.
    """
    text = Text()
    for part in parts:
        value, style = (part, "") if isinstance(part, str) else part
        text.append(safe_text(value), style=style)
    return text


def cell(value: object) -> Text:
    """A table cell or other one-line field (a name, a title) from untrusted text."""
    return Text(safe_line(value))


def show(*parts: Part, err: bool = False) -> None:
    """Print ``plain(*parts)``; no wrapping inserted, so text copies out as it came."""
    (err_console if err else console).print(plain(*parts), soft_wrap=True, highlight=False)


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
        sys.stdout.write(safe_json(value) + "\n")
    else:
        human(value)


async def noop() -> None:
    return None


__all__ = ["Awaitable", "DataOpt", "JsonOpt", "ProfileOpt", "ServerOpt"]
