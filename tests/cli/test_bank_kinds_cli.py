"""`tidings bank create --partner/--negative` and `tidings bank set --trusted`, in-process
against a live server (Typer's runner in a worker thread)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_messages_cli import Live
from tests.cli.test_orders_cli import tidings, token_profile


async def test_bank_kinds_via_cli(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        boss = tmp_path / "boss"
        await token_profile(server, boss, "boss", "admin")
        r = await tidings(server, boss, "bank", "create", "TCAP_FILE", "--partner", "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["trust"] == "partner"
        r = await tidings(server, boss, "bank", "create", "ALLOWED", "--negative")
        assert r.exit_code == 0 and "created bank ALLOWED (negative)" in r.stdout, r.output
        r = await tidings(server, boss, "bank", "set", "TCAP_FILE", "--trusted")
        assert r.exit_code == 0 and "bank TCAP_FILE: trusted, enabled" in r.stdout, r.output
        r = await tidings(server, boss, "bank", "set", "ALLOWED", "--trusted")
        assert r.exit_code == 1 and "error (invalid_bank_kind)" in r.output, r.output
        r = await tidings(server, boss, "bank", "set", "ALLOWED")
        assert r.exit_code != 0 and "give at least one" in r.output
        r = await tidings(server, boss, "bank", "list", "--json")
        kinds = {b["name"]: (b["trust"], b["negative"]) for b in json.loads(r.stdout)["banks"]}
        assert kinds == {"TCAP_FILE": ("trusted", False), "ALLOWED": ("own", True)}
