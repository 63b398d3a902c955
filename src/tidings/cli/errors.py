"""How the `tidings` command fails: one line that says what and how to fix it, or with
``--json`` one JSON object on stdout, and an exit code a script can act on.

Every command runs inside ``TidingsGroup.main``, which turns any exception into a
``Failure`` (``describe``) and prints it (``report``); a traceback appears only for a bug,
and only with ``TIDINGS_DEBUG=1``. The exit codes are documented in docs/cli.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from tidings.client.profile import ProfileError
from tidings.protocol.errors import TidingsError, Unavailable
from tidings.protocol.keys import CryptoError
from tidings.protocol.safe_text import safe_json, safe_line, safe_text

EXIT_OK = 0
EXIT_FAILED = 1
"""The command ran and failed: the server refused, no such object, a wrong passphrase."""
EXIT_USAGE = 2
"""Unknown command or option, a missing or invalid argument (nothing was done)."""
EXIT_UNAVAILABLE = 3
"""The server or the database could not be reached or opened: fix the setup, retry."""
EXIT_INTERNAL = 70
"""A bug in Tidings (EX_SOFTWARE, sysexits.h); TIDINGS_DEBUG=1 shows the traceback."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""

DEBUG_ENV = "TIDINGS_DEBUG"
DATA_FIX = "pass --data DIR or set TIDINGS_DATA (`tidings db upgrade --data DIR` creates one)"
SERVER_FIX = "is the server running? pass --server URL or set TIDINGS_SERVER"
UNREACHABLE = "unreachable"
"""The SDK's code when a request got no answer (client/transport.py)."""

_stderr = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    exit_code: int = EXIT_FAILED


class CliError(Exception):
    """A failure the CLI itself detects (no database, bad file), with its fix."""

    def __init__(self, message: str, code: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.failure = Failure(code, message, exit_code)


class _Mode:
    json = False


def json_mode() -> bool:
    """Whether this invocation asked for ``--json`` (failures are then JSON on stdout)."""
    return _Mode.json


def wants_json(args: Sequence[str]) -> bool:
    """``--json`` among the options (not after ``--``, where it is a value)."""
    options = args[:list(args).index("--")] if "--" in args else args
    return "--json" in options


def report(failure: Failure) -> int:
    """Print ``failure`` the way this invocation asked for; return its exit code."""
    if _Mode.json:
        body = {"error": {"code": failure.code, "message": failure.message}}
        sys.stdout.write(safe_json(body) + "\n")
        sys.stdout.flush()
    else:
        # The message may quote what someone else wrote (a title, a name): plain text,
        # control and bidi characters shown visibly (protocol/safe_text.py).
        _stderr.print(Text.assemble(("error", "red"), f" ({safe_line(failure.code)}): ",
                                    safe_text(failure.message)), soft_wrap=True,
                      highlight=False)
    return failure.exit_code


def _loaded(module: str, name: str) -> type[BaseException] | None:
    """An exception class of a module only if something already imported it: an error
    of a library the command never loaded cannot be the one raised."""
    found: Any = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _is(exc: BaseException, module: str, name: str) -> bool:
    cls = _loaded(module, name)
    return cls is not None and isinstance(exc, cls)


def _network(exc: BaseException) -> Failure | None:
    request: Any = getattr(exc, "_request", None)
    where = f" at {request.url.scheme}://{request.url.netloc.decode()}" if request else ""
    if _is(exc, "httpx", "ConnectError") or isinstance(exc, ConnectionError):
        return Failure("server_unreachable", f"cannot connect to the server{where} — "
                       f"{SERVER_FIX}", EXIT_UNAVAILABLE)
    if _is(exc, "httpx", "TimeoutException") or isinstance(exc, TimeoutError):
        return Failure("server_timeout", f"the server{where} did not answer in time — "
                       "retry, or check its health (GET /healthz)", EXIT_UNAVAILABLE)
    if _is(exc, "httpx", "InvalidURL") or _is(exc, "httpx", "UnsupportedProtocol"):
        return Failure("bad_server_url", f"{exc} — pass --server http://HOST:PORT",
                       EXIT_USAGE)
    if _is(exc, "httpx", "HTTPError") or _is(exc, "websockets.exceptions",
                                             "WebSocketException"):
        return Failure("network_error", f"{exc or type(exc).__name__} — {SERVER_FIX}",
                       EXIT_UNAVAILABLE)
    return None


def _database(exc: BaseException) -> Failure | None:
    if not _is(exc, "sqlalchemy.exc", "DBAPIError"):
        return None
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    if _is(exc, "sqlalchemy.exc", "OperationalError") or _is(exc, "sqlalchemy.exc",
                                                             "InterfaceError"):
        return Failure("database_unavailable", f"cannot open the database ({first}) — "
                       f"{DATA_FIX}, or check database_url", EXIT_UNAVAILABLE)
    return Failure("database_error", first)


def describe(exc: BaseException) -> Failure:
    """The one-line failure for ``exc``: its code, what happened and the fix."""
    if isinstance(exc, CliError):
        return exc.failure
    if isinstance(exc, TidingsError) and exc.code == UNREACHABLE:  # client/transport.py
        return Failure("server_unreachable", f"{exc.message} — {SERVER_FIX}",
                       EXIT_UNAVAILABLE)
    if isinstance(exc, TidingsError):
        status = EXIT_UNAVAILABLE if isinstance(exc, Unavailable) else EXIT_FAILED
        return Failure(exc.code, exc.message, status)
    if isinstance(exc, CryptoError):
        return Failure(exc.code, exc.message)
    if isinstance(exc, ProfileError):
        return Failure(exc.code, str(exc))
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", "interrupted", EXIT_INTERRUPTED)
    found = _network(exc) or _database(exc)
    if found is not None:
        return found
    if isinstance(exc, FileNotFoundError):
        return Failure("file_not_found", f"no such file or directory: {exc.filename}")
    if isinstance(exc, PermissionError):
        return Failure("permission_denied", f"permission denied: {exc.filename}")
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return Failure("not_a_file", f"{exc.strerror}: {exc.filename}")
    if isinstance(exc, OSError):
        return Failure("os_error", f"{exc.strerror or exc}"
                       + (f": {exc.filename}" if exc.filename else ""))
    if isinstance(exc, ValueError):  # ConfigError, bad dates and numbers in arguments
        return Failure(str(getattr(exc, "code", "invalid_value")), str(exc))
    return Failure("internal_error", f"{type(exc).__name__}: {exc} — a bug in Tidings; "
                   f"rerun with {DEBUG_ENV}=1 for the traceback", EXIT_INTERNAL)


def _usage(exc: Exception) -> Failure | None:
    """Click's own errors (unknown option, missing argument...), duck-typed: Typer vendors
    Click from 0.26 on, so the classes differ between the versions pyproject allows."""
    exit_code = getattr(exc, "exit_code", None)
    format_message = getattr(exc, "format_message", None)
    if not isinstance(exit_code, int) or not callable(format_message):
        return None
    message = str(format_message())
    ctx: Any = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" — see `{ctx.command_path} --help`"
    code = "bad_file" if type(exc).__name__ == "FileError" else "usage"
    return Failure(code, message, exit_code)


class TidingsGroup(TyperGroup):
    """The root command: runs the command without Click's standalone handling, then
    reports whatever went wrong in one line (or JSON) with a documented exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        _Mode.json = wants_json(argv)
        _plain_flags(self, None)
        try:
            result = super().main(args=argv, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
            code = result if isinstance(result, int) else EXIT_OK
        except typer.Abort:
            code = report(Failure("aborted", "aborted", EXIT_INTERRUPTED))
        except Exception as exc:  # noqa: BLE001 - the one place every failure is reported
            code = self._failed(exc)
        except KeyboardInterrupt as exc:
            code = report(describe(exc))
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _failed(exc: Exception) -> int:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already printed
            return EXIT_USAGE if not _Mode.json else report(
                Failure("usage", "a command is missing — see --help", EXIT_USAGE))
        found = _usage(exc) if not isinstance(exc, TidingsError | OSError) else None
        failure = found or describe(exc)
        if failure.exit_code == EXIT_INTERNAL and os.environ.get(DEBUG_ENV):
            raise exc
        return report(failure)


def _plain_flags(command: Any, parent: Any) -> None:
    """On/off flags take no value, so their help shows no type: Typer 0.2x labels every
    option with its Python type, which printed ``--json <bool>`` as if it took one."""
    context_class = getattr(command, "context_class", None)  # Click's, or Typer's copy
    ctx = context_class(command, parent=parent) if context_class is not None else None
    params = list(getattr(command, "params", []))
    get_help = getattr(command, "get_help_option", None)
    if ctx is not None and callable(get_help):
        params.append(get_help(ctx))
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub, ctx)
