"""``tidings transparency``: bad periods and formats fail clearly before any work.
(The commands' output against a seeded history: tests/services/test_transparency.py.)"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tidings.cli.main import app


def test_bad_input_is_refused_with_its_reason(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path)
    r = runner.invoke(app, ["transparency", "report", "--since", "2026-02-30", "--data", data])
    assert r.exit_code == 1 and "invalid_period" in r.output
    r = runner.invoke(app, ["transparency", "report", "--since", "2026-02-01", "--until",
                            "2026-01-01", "--data", data])
    assert r.exit_code == 1 and "ends before it starts" in r.output
    r = runner.invoke(app, ["transparency", "report", "--since", "2026-01-01", "--format",
                            "xml", "--data", data])
    assert r.exit_code == 2 and "is not one of 'json', 'csv', 'html'" in r.output
    r = runner.invoke(app, ["transparency", "sor-export", "--since", "yesterday",
                            "--data", data])
    assert r.exit_code == 1 and "YYYY-MM-DD" in r.output
    assert not list(tmp_path.iterdir())  # nothing created
