"""`tidings verify` in subprocesses: safety numbers, --mark, SAS, device-change warning."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from tests.cli.test_messages_cli import PASSWORD, SRC, TIDINGS, Live, tidings
from tests.conftest import LiveServer


def _env(server: LiveServer, profile: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "TIDINGS_SERVER": server.url,
            "TIDINGS_PROFILE": str(profile), "TIDINGS_PASSPHRASE": "key store pass 1",
            "COLUMNS": "200"}


async def test_verify_numbers_sas_and_warning(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        ann, ben, ben2 = tmp_path / "ann", tmp_path / "ben", tmp_path / "ben2"
        for profile, cmd, user in ((ann, "register", "ann"), (ben, "register", "ben")):
            code, _, err = await tidings(server, profile, "account", cmd, user,
                                         "--password-stdin", stdin=PASSWORD)
            assert code == 0, err
        code, out_a, err = await tidings(server, ann, "verify", "ben", "--json")
        assert code == 0, err
        code, out_b, err = await tidings(server, ben, "verify", "ann", "--json")
        assert json.loads(out_a)["safety_number"] == json.loads(out_b)["safety_number"]
        assert len(json.loads(out_a)["safety_number"]) == 60

        # SAS: ann starts, ben answers; both confirm (--yes)
        starter = await asyncio.create_subprocess_exec(
            TIDINGS, "verify", "ben", "--sas", "--yes", "--json", "--timeout", "60",
            env=_env(server, ann), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        assert starter.stderr is not None
        line = await asyncio.wait_for(starter.stderr.readline(), 60)
        assert b"asked" in line
        code, out, err = await tidings(server, ben, "verify", "ann", "--sas", "--yes", "--json")
        assert code == 0, err
        assert json.loads(out)["verified"] is True
        out_s, err_s = await asyncio.wait_for(starter.communicate(), 60)
        assert starter.returncode == 0, err_s
        assert json.loads(out_s)["verified"] is True

        # ben adds a device: ann is warned when sending
        code, _, err = await tidings(server, ben2, "account", "login", "ben",
                                     "--password-stdin", stdin=PASSWORD)
        assert code == 0, err
        code, _, err = await tidings(server, ann, "send", "ben", "hi")
        assert code == 0, err
        assert "warning" in err and "ben's devices changed" in err
