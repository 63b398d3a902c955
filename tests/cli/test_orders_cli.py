"""`tidings admin create-authority` and `tidings order ...` against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.test_messages_cli import PASSWORD, Live, tidings
from tests.conftest import bearer, register


async def test_authority_submits_and_staff_answer_via_cli(live_server: Live,
                                                          tmp_path: Path) -> None:
    async with live_server() as server:
        data = str(server.app.state.settings.data_dir)
        bka, anna = tmp_path / "bka", tmp_path / "anna"
        code, out, err = await tidings(
            server, bka, "admin", "create-authority", "bka", "--authority-name",
            "Bundeskriminalamt", "--member-state", "DE", "--data", data,
            "--save-profile", str(bka), "--server", server.url, "--json")
        assert code == 0, err
        created = json.loads(out)
        assert created["role"] == "authority" and created["token"].startswith("tdg_")
        await server.app.state.accounts.create_user("mod_anna", PASSWORD.strip(), "moderator",
                                                    check_reserved=False)
        async with httpx.AsyncClient(base_url=server.url) as client:
            alice = bearer(await register(client, "alice"))
            r = await client.post("/api/v1/channels", headers=alice,
                                  json={"handle": "news_desk", "title": "Daily Desk"})
            assert r.status_code == 201, r.text
            r = await client.post("/api/v1/channels/news_desk/posts", headers=alice,
                                  json={"text": "join the fight", "media": []})
            post_id = r.json()["id"]
            url = f"{server.url}/c/news_desk/{post_id}"
            code, out, err = await tidings(
                server, bka, "order", "submit", "--target", url, "--legal-basis",
                "TCO Art. 3", "--reasons", "Incites terrorist offences.", "--reference",
                "BKA-7", "--withhold-days", "42", "--json")
            assert code == 0, err
            order = json.loads(out)
            assert order["status"] == "completed"
            assert order["confirmation"]["order_reference"] == "BKA-7"
            assert order["withhold_until_ms"] is not None
            page = await client.get(f"/c/news_desk/{post_id}")
            assert page.status_code == 410 and "join the fight" not in page.text
        code, out, err = await tidings(server, bka, "order", "show", order["id"])
        assert code == 0, err
        assert "BKA-7" in out and "completed" in out and "withheld until" in out
        code, out, err = await tidings(server, bka, "order", "submit", "--target",
                                       "account:mod_anna", "--legal-basis", "TCO Art. 3",
                                       "--reasons", "r", "--reference", "BKA-8", "--json")
        assert code == 0, err
        stuck = json.loads(out)
        assert stuck["status"] == "open"
        code, out, err = await tidings(server, bka, "order", "cannot-comply", stuck["id"],
                                       "--reason", "manifest_error", "--details", "x")
        assert code == 1 and "forbidden_role" in err
        code, _, err = await tidings(server, anna, "account", "login", "mod_anna",
                                     "--password-stdin", stdin=PASSWORD)
        assert code == 0, err
        code, out, err = await tidings(server, anna, "order", "cannot-comply", stuck["id"],
                                       "--reason", "manifest_error", "--details",
                                       "The target is our own moderator.", "--json")
        assert code == 0, err
        assert json.loads(out)["status"] == "cannot_comply"
        code, out, err = await tidings(server, anna, "order", "list", "--json")
        assert code == 0, err
        assert {o["reference"]: o["status"] for o in json.loads(out)} == {
            "BKA-7": "completed", "BKA-8": "cannot_comply"}
