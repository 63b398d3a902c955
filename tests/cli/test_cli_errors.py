"""Every `tidings` command, run the ways a newcomer gets it wrong: missing and wrong
arguments, no profile, no data directory, no server. Never a traceback; a failure is one
line, ``error (code): message``, or with ``--json`` one JSON object on stdout; the exit
code is the documented one (cli/errors.py, docs/cli.md).

The commands come from the Typer app itself, so a new command is covered the day it is
added. They run in-process (typer.testing.CliRunner): one process for all of them.
"""

from __future__ import annotations

import json
import socket
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tidings.cli import errors
from tidings.cli.main import app
from tidings.client import profile as profiles

NO_JSON = {
    "tui": "a full-screen terminal program, nothing to print",
    "demo": "a story told to people; `--no-wait` exits 1 on any failed claim (CI runs it)",
}
"""Commands without --json, each with why."""
LONG_RUNNING = {"serve", "demo", "tui"}
"""Run only with wrong arguments here: given right ones they start a server or a UI."""


CLI = typer.main.get_command(app)
"""Built once: CliRunner.invoke would build all the commands again on every call."""


def commands() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield " ".join(path), cmd
            return
        for name, sub in sorted(subs.items()):
            yield from walk(sub, [*path, name])

    yield from walk(CLI, [])


COMMANDS = dict(commands())


def placeholder(cmd: Any, name: str) -> str:
    """A value of the parameter's type that names nothing that exists."""
    hint = typing.get_type_hints(cmd.callback)[name]
    kinds = set(typing.get_args(hint)) | {hint}
    if kinds & {int, float}:
        return "1"
    if Path in kinds:
        return "/nonexistent/tidings-test-file"
    return "nobody_here"


def required_args(cmd: Any) -> list[str]:
    args: list[str] = []
    for param in cmd.params:
        if not param.required:
            continue
        value = placeholder(cmd, param.name)
        args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    home = tmp_path_factory.mktemp("newcomer")
    with socket.socket() as sock:  # a port nothing listens on: the server is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"HOME": str(home), "TIDINGS_PROFILE": str(home / "no-profile"),
           "TIDINGS_DATA": str(home / "no-data"), "TIDINGS_SERVER": f"http://127.0.0.1:{port}",
           "TIDINGS_PASSPHRASE": "newcomer", "TIDINGS_CONFIG": None,
           "TIDINGS_DATABASE_URL": None, "TIDINGS_DEBUG": None, "NO_COLOR": "1",
           "COLUMNS": "200"}
    return CliRunner(env=env)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(runner: CliRunner, args: list[str], stdin: str = "") -> Result:
    """Run `tidings ARGS` in the runner's isolation (its env, captured streams, empty
    stdin), the way the entry point does; an exception that escapes fails the test."""
    with runner.isolation(input=stdin) as streams:
        code = CLI.main(args=args, prog_name="tidings", standalone_mode=False)
        sys.stdout.flush()
        sys.stderr.flush()
        result = Result(code, streams[0].getvalue().decode(), streams[1].getvalue().decode())
    where = f"`tidings {' '.join(args)}`"
    assert "Traceback" not in result.stdout + result.stderr, (where, result)
    return result


def assert_json_failure(result: Result, where: str, exit_code: int | None = None) -> None:
    assert result.exit_code != 0, (where, result.stdout)
    if exit_code is not None:
        assert result.exit_code == exit_code, (where, result.exit_code, result.stdout)
    body = json.loads(result.stdout)
    assert set(body) == {"error"}, (where, body)
    assert body["error"]["code"] and body["error"]["message"], (where, body)


def assert_one_line(result: Result, where: str) -> None:
    """The failure is the last line on stderr, and the only one (a progress line such as
    `fetching NAME` may come before it)."""
    assert result.exit_code != 0, where
    lines = result.stderr.strip().splitlines()
    errors_said = [line for line in lines if "error" in line]
    assert errors_said == lines[-1:] and lines[-1].startswith("error ("), (where, result)


def test_the_commands_are_found() -> None:
    assert {"account register", "bank add", "serve", "db upgrade", "order submit",
            "transparency report", "mod queue"} <= set(COMMANDS)
    assert len(COMMANDS) > 60


def test_every_command_takes_json() -> None:
    missing = sorted(name for name, cmd in COMMANDS.items()
                     if name not in NO_JSON
                     and not any("--json" in p.opts for p in cmd.params))
    assert missing == [], f"add --json (cli/common.py JsonOpt) to: {missing}"


def test_wrong_arguments_are_one_line(runner: CliRunner) -> None:
    for name in COMMANDS:
        path = name.split()
        result = invoke(runner, [*path, "--no-such-option"])
        assert result.exit_code == errors.EXIT_USAGE, name
        assert_one_line(result, name)
        assert "--help" in result.stderr, name  # says where to look
        if name not in NO_JSON:
            result = invoke(runner, [*path, "--no-such-option", "--json"])
            assert_json_failure(result, name, errors.EXIT_USAGE)


def test_missing_arguments_are_one_line(runner: CliRunner) -> None:
    for name, cmd in COMMANDS.items():
        if not any(p.required for p in cmd.params):
            continue
        path = name.split()
        assert_one_line(invoke(runner, path), name)
        if name not in NO_JSON:
            assert_json_failure(invoke(runner, [*path, "--json"]), name, errors.EXIT_USAGE)


def test_no_profile_no_data_no_server(runner: CliRunner) -> None:
    """Each command run as written, but nothing is set up: it fails in one line (or
    JSON) and says what to set; only `db upgrade` succeeds, creating the database."""
    for name, cmd in COMMANDS.items():
        if name in LONG_RUNNING or name == "db upgrade":
            continue
        path = [*name.split(), *required_args(cmd)]
        result = invoke(runner, [*path, "--json"])
        assert_json_failure(result, name)
        human = invoke(runner, path)
        assert_one_line(human, name)


def test_server_down(runner: CliRunner, tmp_path: Path) -> None:
    """Logged in, but the server is down: JSON (or one line) that says so, exit 3; or,
    before any request, what else is missing (here: the profile's keys)."""
    profile = tmp_path / "alice"
    profiles.save(profile, profiles.Profile(runner.env["TIDINGS_SERVER"] or "", "alice",
                                            "DEVICE", "not-a-token"))
    said = set()
    for name, cmd in COMMANDS.items():
        if name in LONG_RUNNING or not any("--profile" in p.opts for p in cmd.params):
            continue
        path = [*name.split(), *required_args(cmd), "--profile", str(profile)]
        result = invoke(runner, [*path, "--json"])
        assert_json_failure(result, name)
        said.add(json.loads(result.stdout)["error"]["code"])
    assert {"server_unreachable", "no_keys"} <= said  # the human form, once (~0.1 s each):
    human = invoke(runner, ["channel", "history", "news", "--profile", str(profile)])
    assert_one_line(human, "channel history")
    assert human.exit_code == errors.EXIT_UNAVAILABLE
    assert "is the server running? pass --server URL or set TIDINGS_SERVER" in human.stderr


def test_the_fix_is_in_the_message(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, ["admin", "set-password", "admin", "--password-stdin"],
                    "a new password\n")
    assert result.exit_code == errors.EXIT_UNAVAILABLE
    assert "error (no_database): no database at " in result.stderr
    assert "pass --data DIR or set TIDINGS_DATA" in result.stderr
    result = invoke(runner, ["channel", "history", "news", "--json"])
    assert json.loads(result.stdout)["error"]["code"] == "no_profile"
    assert "tidings account login" in result.stdout
    result = invoke(runner, ["channel", "history", "news", "--server", "http://127.0.0.1:1",
                             "--profile", str(tmp_path), "--json"])
    assert result.exit_code == errors.EXIT_FAILED  # no login in that profile either
    upgrade = invoke(runner, ["db", "upgrade", "--data", str(tmp_path / "new"), "--json"])
    assert upgrade.exit_code == 0 and json.loads(upgrade.stdout)["revision"]
    status = invoke(runner, ["db", "status", "--data", str(tmp_path / "new"), "--json"])
    assert json.loads(status.stdout)["up_to_date"] is True


OLD_SPELLINGS = {"--output": "--out", "--from": "--since", "--to": "--until"}
"""Flag names retired for the one vocabulary of docs/cli.md, and what replaced them."""


def test_one_set_of_flag_names() -> None:
    found = []
    for name, cmd in COMMANDS.items():
        for param in cmd.params:
            opts = [*param.opts, *param.secondary_opts]
            for old, new in OLD_SPELLINGS.items():
                if old in opts and not (name == "post forward" and old == "--to"):
                    found.append(f"{name}: {old} (say {new})")
            if "--format" in opts:
                # Typer 0.2x describes a parameter's type itself; older Typer, Click
                kind = getattr(param, "type_descriptor", None) or getattr(param, "type", None)
                choices = getattr(kind, "choices", None)
                if not choices:
                    found.append(f"{name}: --format takes any string")
    assert found == []


def test_help_shows_no_type_for_flags(runner: CliRunner) -> None:
    for name in ("channel create", "bank export", "transparency report", "send"):
        result = invoke(runner, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "<bool>" not in result.stdout, (name, result.stdout)
        assert "--json" in result.stdout, name
    result = invoke(runner, ["transparency", "report", "--help"])
    assert "json|csv|html" in result.stdout
