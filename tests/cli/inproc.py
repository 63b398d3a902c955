"""Run `tidings` commands in-process against a live server, cheaply.

Typer's ``CliRunner.invoke`` rebuilds the Click command tree of the whole app on every
call, which is most of an in-process invocation's cost (about 60% measured with
cProfile, `webhook list`); here the tree is built once and each call runs it inside the
runner's isolation (its own stdin, stdout, stderr and environment), in a worker thread
so the command's own event loop does not block the server's.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner, Result

from tests.cli import helpers
from tests.conftest import LiveServer
from tidings.cli.main import app

COMMAND = get_command(app)


def invoke(args: list[str], input: str = "", env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    code, exc_info = 0, None
    exception: BaseException | None = None
    with runner.isolation(input=input, env=env) as streams:
        try:
            COMMAND.main(args=args, prog_name="tidings")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            exception = exc if code else None
            exc_info = sys.exc_info() if code else None
        except Exception as exc:  # noqa: BLE001 - reported in the Result, as CliRunner does
            code, exception, exc_info = 1, exc, sys.exc_info()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        out, err, both = (s.getvalue() for s in streams)
    return Result(runner=runner, stdout_bytes=out, stderr_bytes=err, output_bytes=both,
                  return_value=None, exit_code=code, exception=exception,
                  exc_info=exc_info)  # type: ignore[arg-type]


async def tidings(server: LiveServer, profile: Path, *args: str, input: str = "") -> Result:
    """``tidings ARGS`` as the account in ``profile``, talking to ``server``."""
    env = {"TIDINGS_SERVER": server.url, "TIDINGS_PROFILE": str(profile), "COLUMNS": "200",
           "NO_COLOR": "1"}
    return await asyncio.to_thread(invoke, list(args), input, env)


async def command(*args: str, stdin: str = "", env: dict[str, str] | None = None
                  ) -> helpers.Result:
    """tests/cli/helpers.py's ``tidings`` (same arguments and result), in-process."""
    result = await asyncio.to_thread(invoke, list(args), stdin,
                                     {"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    return helpers.Result(result.exit_code, result.stdout, result.stderr)


async def as_user(server: LiveServer, profile: Path, *args: str, stdin: str = "",
                  passphrase: str = "key store pass 1") -> tuple[int, str, str]:
    """tests/cli/test_messages_cli.py's ``tidings`` (which runs the console script in a
    subprocess), in-process: same arguments, same (code, stdout, stderr)."""
    env = {"TIDINGS_SERVER": server.url, "TIDINGS_PROFILE": str(profile),
           "TIDINGS_PASSPHRASE": passphrase, "COLUMNS": "200"}
    result = await asyncio.to_thread(invoke, list(args), stdin, env)
    return result.exit_code, result.stdout, result.stderr
