"""`tidings tui` is wired into the command with the shared --server/--profile options."""

from __future__ import annotations

from typer.testing import CliRunner

from tidings.cli.main import app


def test_tui_command_takes_the_shared_options() -> None:
    result = CliRunner().invoke(app, ["tui", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "terminal chat client" in result.output
    assert "--server" in result.output and "--profile" in result.output
    assert "TIDINGS_PROFILE" in result.output
