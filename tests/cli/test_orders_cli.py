"""`tidings admin create-authority` and `tidings order ...` against a live server.

The commands run in-process (Typer's runner, in a worker thread with its own event loop)
rather than as subprocesses: importing the CLI costs 2.5 s of CPU per process on the
shared test machine, and these tests are about the commands, not process start-up.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from tests.apps import kernel_of
from tests.cli.test_messages_cli import Live
from tests.conftest import LiveServer
from tidings.cli.main import app
from tidings.client import profile as profiles
from tidings.services.accounts import new_device_id, new_token
from tidings.storage.accounts import AccountStore


async def tidings(server: LiveServer, profile: Path, *args: str) -> Result:
    env = {"TIDINGS_SERVER": server.url, "TIDINGS_PROFILE": str(profile), "COLUMNS": "200",
           "NO_COLOR": "1"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def token_profile(server: LiveServer, directory: Path, name: str, role: str) -> str:
    """An account with a device token saved as a CLI profile (no password, no argon2)."""
    accounts = kernel_of(server).accounts
    token = new_token()
    device = new_device_id()
    async with accounts.db.write() as conn:
        user = await AccountStore().create_user(conn, name, None, role, accounts.clock())
        await AccountStore().create_device(conn, user.id, device, "cli",
                                           accounts.hash_token(token), accounts.clock())
    profiles.save(directory, profiles.Profile(server.url, name, device, token))
    return token


async def test_authority_submits_and_staff_answer_via_cli(live_server: Live,
                                                          tmp_path: Path) -> None:
    async with live_server() as server:
        data = str(kernel_of(server).settings.data_dir)
        bka, anna = tmp_path / "bka", tmp_path / "anna"
        r = await tidings(server, bka, "admin", "create-authority", "bka", "--authority-name",
                          "Bundeskriminalamt", "--member-state", "DE", "--data", data,
                          "--save-profile", str(bka), "--server", server.url, "--json")
        assert r.exit_code == 0, r.output
        created = json.loads(r.stdout)
        assert created["role"] == "authority" and created["token"].startswith("tdg_")
        r = await tidings(server, bka, "admin", "create-authority", "xx_auth", "--authority-name",
                          "X", "--member-state", "US", "--data", data)
        assert r.exit_code == 1 and "invalid_member_state" in r.output
        await token_profile(server, anna, "mod_anna", "moderator")
        alice = await token_profile(server, tmp_path / "alice", "alice", "user")
        async with httpx.AsyncClient(base_url=server.url,
                                     headers={"Authorization": f"Bearer {alice}"}) as client:
            resp = await client.post("/api/v1/channels",
                                     json={"handle": "news_desk", "title": "Daily Desk"})
            assert resp.status_code == 201, resp.text
            resp = await client.post("/api/v1/channels/news_desk/posts",
                                     json={"text": "join the fight", "media": []})
            number = resp.json()["number"]
            url = f"http://127.0.0.1:8080/c/news_desk/{number}"  # the public URL setting
            r = await tidings(server, bka, "order", "submit", "--target", url,
                              "--legal-basis", "TCO Art. 3", "--reasons",
                              "Incites terrorist offences.", "--reference", "BKA-7",
                              "--withhold-days", "42", "--json")
            assert r.exit_code == 0, r.output
            order = json.loads(r.stdout)
            assert order["status"] == "completed"
            assert order["confirmation"]["order_reference"] == "BKA-7"
            assert order["withhold_until_ms"] is not None
            page = await client.get(f"/c/news_desk/{number}")
            assert page.status_code == 410 and "join the fight" not in page.text
        r = await tidings(server, bka, "order", "show", order["id"])
        assert r.exit_code == 0, r.output
        assert "BKA-7" in r.stdout and "completed" in r.stdout and "withheld until" in r.stdout
        r = await tidings(server, bka, "order", "confirmation", order["id"])
        assert json.loads(r.stdout)["removed"] is True
        r = await tidings(server, bka, "order", "submit", "--target", "account:mod_anna",
                          "--legal-basis", "TCO Art. 3", "--reasons", "r", "--reference",
                          "BKA-8", "--json")
        assert r.exit_code == 0, r.output
        stuck = json.loads(r.stdout)
        assert stuck["status"] == "open"
        r = await tidings(server, bka, "order", "cannot-comply", stuck["id"], "--reason",
                          "manifest_error", "--details", "x")
        assert r.exit_code == 1 and "forbidden_role" in r.output
        r = await tidings(server, anna, "order", "cannot-comply", stuck["id"], "--reason",
                          "manifest_error", "--details", "The target is our own moderator.",
                          "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["status"] == "cannot_comply"
        r = await tidings(server, anna, "order", "list", "--json")
        assert {o["reference"]: o["status"] for o in json.loads(r.stdout)} == {
            "BKA-7": "completed", "BKA-8": "cannot_comply"}
        r = await tidings(server, bka, "order", "list")
        assert r.exit_code == 0 and "BKA-8" in r.stdout and "cannot_comply" in r.stdout


async def test_orders_within_the_law_and_the_notices_they_leave(live_server: Live,
                                                                tmp_path: Path) -> None:
    """Issue 17: an order outside its law is refused with the reason on one line; a DSA
    Art. 9 order names its basis, category and territory; the provider reads the notice
    (and a rejection's statement) with `tidings notices`; an admin confirms an order that
    came above the hourly rate."""
    async with live_server(order_confirm_per_hour=1) as server:
        data = str(kernel_of(server).settings.data_dir)
        lka, alice_dir, boss = tmp_path / "lka", tmp_path / "alice", tmp_path / "boss"
        r = await tidings(server, lka, "admin", "create-authority", "lka", "--authority-name",
                          "LKA Berlin", "--member-state", "DE", "--data", data,
                          "--save-profile", str(lka), "--server", server.url)
        assert r.exit_code == 0, r.output
        await token_profile(server, boss, "boss", "admin")
        alice = await token_profile(server, alice_dir, "alice", "user")
        async with httpx.AsyncClient(base_url=server.url,
                                     headers={"Authorization": f"Bearer {alice}"}) as client:
            await client.post("/api/v1/channels", json={"handle": "hate_desk", "title": "Desk"})
            ids = [(await client.post("/api/v1/channels/hate_desk/posts", json={
                "text": f"hateful words {i}", "media": []})).json()["number"]
                for i in range(2)]
        r = await tidings(server, lka, "order", "submit", "--target", f"/c/hate_desk/{ids[0]}",
                          "--legal-basis", "none", "--reasons", "r", "--reference", "L-0",
                          "--label", "spam")
        assert r.exit_code == 1
        assert "unknown_legal_basis" in r.output and "2021/784" in r.output
        base = ["--legal-basis", "StGB § 130", "--reasons", "Incites hatred.", "--basis",
                "dsa_art9", "--category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"]
        r = await tidings(server, lka, "order", "submit", "--target", f"/c/hate_desk/{ids[0]}",
                          "--reference", "L-1", "--territory", "DE", "--territory", "AT",
                          *base)
        assert r.exit_code == 0, r.output
        assert "basis dsa_art9: StGB § 130" in r.stdout and "in AT, DE" in r.stdout
        r = await tidings(server, lka, "order", "submit", "--target", f"/c/hate_desk/{ids[1]}",
                          "--reference", "L-2", "--json", *base)
        second = json.loads(r.stdout)
        assert second["needs_confirmation"] is True and second["status"] == "completed"
        r = await tidings(server, lka, "order", "confirm", second["id"])
        assert r.exit_code == 1 and "forbidden_role" in r.output
        r = await tidings(server, boss, "order", "confirm", second["id"], "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["confirmed_by"] == "boss"
        r = await tidings(server, boss, "notices", "--json")
        assert [n["kind"] for n in json.loads(r.stdout)] == ["removal_order_rate_alert"]
        r = await tidings(server, alice_dir, "notices")
        assert r.exit_code == 0, r.output
        assert r.stdout.count("removal_order") == 2
        assert "Regulation (EU) 2022/2065, Art. 9; StGB § 130" in r.stdout
        assert "close variant" not in r.stdout
