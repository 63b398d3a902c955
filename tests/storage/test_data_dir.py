"""The data directory is 0700 and the database and secret files 0600 (issue 20 item 7),
made so by ``tidings db upgrade``, ``tidings serve`` and every server start, which also
tighten an existing directory with loose modes and say so."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import AppFactory, register
from tidings.cli.main import app


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_db_upgrade_makes_and_tightens_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    old = os.umask(0o022)  # the usual umask: files 0644, directories 0755
    try:
        r = CliRunner().invoke(app, ["db", "upgrade", "--data", str(data)])
        assert r.exit_code == 0, r.output
        assert _mode(data) == 0o700
        assert _mode(data / "tidings.db") == 0o600
        assert "tightened" not in r.output  # made right, nothing to fix
        # An existing directory from an older version, or copied with loose modes.
        data.chmod(0o755)
        (data / "tidings.db").chmod(0o644)
        (data / "tidings.toml").write_text('log_level = "info"\n')
        (data / "secrets.json").write_text("{}")
        (data / "secrets.json").chmod(0o664)
        r = CliRunner().invoke(app, ["db", "upgrade", "--data", str(data)])
        assert r.exit_code == 0, r.output
        for path, mode in ((data, 0o700), (data / "tidings.db", 0o600),
                           (data / "tidings.toml", 0o600), (data / "secrets.json", 0o600)):
            assert _mode(path) == mode, path
        assert r.output.count("tightened permissions of the data directory") == 4
        assert "0755 -> 0700" in r.output and "0644 -> 0600" in r.output
    finally:
        os.umask(old)


async def test_a_server_start_keeps_its_files_private(api: AppFactory, tmp_path: Path
                                                      ) -> None:
    data = tmp_path / "data"
    old = os.umask(0o022)
    try:
        data.mkdir(exist_ok=True)
        data.chmod(0o755)
        async with api() as client:
            await register(client, "alice")  # writes: the WAL and shared-memory files
            assert _mode(data) == 0o700
            for name in ("tidings.db", "tidings.db-wal", "tidings.db-shm", "secrets.json"):
                assert _mode(data / name) == 0o600, name
    finally:
        os.umask(old)
