"""Every API operation has a `tidings` command, or a stated reason to be left to the API.

Compares the app's OpenAPI document with the CLI's command tree through the table in
tidings/cli/coverage.py, so a new route without a command (or a renamed command) fails
here until the table says what covers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from tests.conftest import make_settings
from tidings.cli.coverage import COMMANDS, LEFT_TO_API, command_for, left_to_api, shape
from tidings.cli.main import app
from tidings.server.app import create_app

HANDFUL = 5
METHODS = {"get", "put", "post", "patch", "delete"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli-commands.md"


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The app's OpenAPI operations as "METHOD /path" (the app is built once)."""
    app_ = create_app(make_settings(tmp_path_factory.mktemp("coverage")))
    spec: dict[str, Any] = app_.openapi()
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items()
            for method in item if method in METHODS}


def commands() -> set[str]:
    def walk(cmd: Any, prefix: tuple[str, ...]) -> Iterator[str]:
        subs = getattr(cmd, "commands", None)
        if subs is None or getattr(cmd, "invoke_without_command", False):
            yield " ".join(prefix)  # a command, or a group that also runs by itself
        for name, sub in (subs or {}).items():
            yield from walk(sub, (*prefix, name))

    return set(walk(get_command(app), ())) - {""}


def test_every_operation_has_a_command_or_a_reason(ops: set[str]) -> None:
    assert len(ops) > 100  # the document was read, not an empty app
    uncovered = sorted(op for op in ops if command_for(op) is None and left_to_api(op) is None)
    assert uncovered == [], "operations with neither a command nor a reason"
    both = sorted({shape(op) for op in COMMANDS} & {shape(op) for op in LEFT_TO_API})
    assert both == [], "operations both mapped and left to the API"


def test_the_table_names_real_operations_and_real_commands(ops: set[str]) -> None:
    assert sorted({shape(op) for op in COMMANDS} - {shape(op) for op in ops}) == [], \
        "stale entries: no such operation"
    assert len({shape(op) for op in COMMANDS}) == len(COMMANDS), "an operation twice"
    missing = sorted(set(COMMANDS.values()) - commands())
    assert missing == [], "mapped commands the CLI does not have"
    for key in LEFT_TO_API:  # each reason still applies to something
        assert any(left_to_api(op) == LEFT_TO_API[key] for op in ops), key


def test_a_handful_left_to_the_api_each_with_its_reason_in_the_docs() -> None:
    assert len(LEFT_TO_API) <= HANDFUL
    docs = DOCS.read_text(encoding="utf-8")
    for key, reason in LEFT_TO_API.items():
        assert len(reason) > 20, key
        assert f"`{key}`" in docs, f"docs/cli-commands.md does not list {key}"


def test_docs_list_every_command() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = sorted(c for c in commands() if f"`tidings {c}`" not in docs)
    assert missing == [], "commands docs/cli-commands.md does not list"


def test_an_operation_is_known_by_its_shape() -> None:
    assert shape("PATCH /api/v1/channels/{handle}/posts/{number}") == \
        "PATCH /api/v1/channels/{}/posts/{}"
    assert command_for("PATCH /api/v1/channels/{h}/posts/{n}") == "post edit"
    assert command_for("PATCH /api/v1/channels/{h}/posts") is None
    assert left_to_api("POST /hma/c/banks") is not None  # under "* /hma/*"
    assert left_to_api("GET /hma/m/lookup") is None  # `bank match` performs it


def test_the_walker_sees_groups_that_run_by_themselves() -> None:
    found = commands()
    assert {"requests", "requests accept", "channel post", "bank exchange fetch"} <= found
    assert "channel" not in found  # a group that only holds commands is not one
