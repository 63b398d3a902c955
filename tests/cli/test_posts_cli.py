"""`tidings channel show|edit|avatar|invite|admins|admin-set|admin-remove|delete`,
`tidings post ...`, `tidings media get|preview`, `tidings group show` and
`tidings account profile|delete` against a live server, in-process (tests/cli/inproc.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.inproc import tidings
from tests.cli.test_messages_cli import Live
from tests.cli.test_orders_cli import token_profile
from tests.conftest import register
from tests.server.channel_util import photo


async def test_an_owner_runs_a_channel_and_its_posts(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        owner, helper = tmp_path / "owner", tmp_path / "helper"
        await token_profile(server, owner, "owner", "user")
        await token_profile(server, helper, "helper", "user")
        r = await tidings(server, owner, "channel", "create", "deskmain", "--title", "Desk")
        assert r.exit_code == 0, r.output
        r = await tidings(server, owner, "channel", "create", "deskcopy", "--title", "Copies")
        assert r.exit_code == 0, r.output

        r = await tidings(server, owner, "channel", "edit", "deskmain", "--title",
                          "The Desk", "--description", "Notes from the desk", "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["title"] == "The Desk"
        r = await tidings(server, owner, "channel", "edit", "deskmain")
        assert r.exit_code == 1 and "error (no_change):" in r.output
        picture = tmp_path / "avatar.png"
        picture.write_bytes(photo(96, 96, seed=7))
        r = await tidings(server, owner, "channel", "avatar", "deskmain", str(picture),
                          "--json")
        assert r.exit_code == 0, r.output
        avatar_url = json.loads(r.stdout)["avatar_url"]
        assert avatar_url.startswith("/media/")
        saved = tmp_path / "saved.bin"
        r = await tidings(server, tmp_path / "nobody", "media", "get", avatar_url,
                          "--out", str(saved), "--json")
        assert r.exit_code == 0, r.output
        assert saved.stat().st_size == json.loads(r.stdout)["bytes"] > 0
        r = await tidings(server, owner, "media", "preview", avatar_url.rsplit("/", 1)[1],
                          "--json")
        assert r.exit_code == 0 and "/media/" in json.loads(r.stdout)["preview_url"], r.output

        r = await tidings(server, owner, "channel", "admin-set", "deskmain", "helper",
                          "--edit-others")
        assert r.exit_code == 0, r.output
        r = await tidings(server, owner, "channel", "admins", "deskmain", "--json")
        rights = {a["username"]: a for a in json.loads(r.stdout)}
        assert rights["helper"]["can_edit_others"] and not rights["helper"]["owner"]
        r = await tidings(server, owner, "channel", "admins", "deskmain")
        assert "owner (owner)" in r.stdout and "helper" in r.stdout
        r = await tidings(server, helper, "channel", "post", "deskmain", "first draft",
                          "--json")
        assert r.exit_code == 0, r.output
        posted = json.loads(r.stdout)
        post = str(posted["number"])
        r = await tidings(server, owner, "channel", "admin-remove", "deskmain", "helper")
        assert r.exit_code == 0, r.output
        r = await tidings(server, helper, "post", "edit", "deskmain", post, "mine still?")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output

        r = await tidings(server, owner, "post", "edit", "deskmain", post, "final text",
                          "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["text"] == "final text", r.output
        r = await tidings(server, owner, "post", "edit", "deskmain", post)
        assert r.exit_code == 1 and "error (no_change):" in r.output, r.output
        r = await tidings(server, owner, "post", "pin", "deskmain", post)
        assert r.exit_code == 0, r.output
        r = await tidings(server, tmp_path / "nobody", "channel", "show", "deskmain",
                          "--json")
        assert r.exit_code == 0, r.output
        shown = json.loads(r.stdout)
        assert shown.get("pinned_number", shown.get("pinned_post_id")) == int(post)
        assert shown["description"] == "Notes from the desk"
        r = await tidings(server, owner, "channel", "show", "deskmain")
        assert "The Desk" in r.stdout and f"pinned: #{post}" in r.stdout
        r = await tidings(server, tmp_path / "nobody", "post", "show", "deskmain", post)
        assert r.exit_code == 0 and "final text" in r.stdout, r.output
        r = await tidings(server, owner, "post", "forward", "deskmain", post, "--to",
                          "@deskcopy", "--json")
        assert r.exit_code == 0, r.output
        copy = json.loads(r.stdout)
        assert copy["channel"] == "deskcopy"
        assert copy["forwarded_from"]["channel"] == "deskmain"
        r = await tidings(server, owner, "post", "unpin", "deskmain", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["pinned"] is None, r.output
        r = await tidings(server, owner, "post", "delete", "deskmain", post)
        assert r.exit_code == 0 and f"deleted #{post}" in r.stdout, r.output
        r = await tidings(server, owner, "post", "show", "deskmain", post, "--json")
        assert r.exit_code == 0 and "text" not in json.loads(r.stdout), r.output  # tombstone

        r = await tidings(server, owner, "channel", "create", "deskhide", "--title", "Hidden",
                          "--unlisted", "--json")
        first = json.loads(r.stdout)["invite_token"]
        r = await tidings(server, owner, "channel", "invite", "deskhide", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["invite_token"] != first, r.output
        r = await tidings(server, owner, "channel", "delete", "deskmain")  # not a terminal
        assert r.exit_code == 1 and "error (not_confirmed):" in r.output, r.output
        r = await tidings(server, owner, "channel", "delete", "deskmain", "--yes", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout) == {"deleted": "deskmain"}, r.output
        r = await tidings(server, owner, "channel", "show", "deskmain")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output


async def test_a_person_manages_profile_group_and_account(live_server: Live,
                                                          tmp_path: Path) -> None:
    async with live_server() as server:
        me = tmp_path / "me"
        token = await token_profile(server, me, "dora", "user")
        await token_profile(server, tmp_path / "ed", "ed", "user")
        r = await tidings(server, me, "account", "profile", "--display-name", "Dora D",
                          "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["display_name"] == "Dora D", r.output
        r = await tidings(server, me, "account", "profile")
        assert "dora: Dora D" in r.stdout, r.output
        async with httpx.AsyncClient(base_url=server.url,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            resp = await client.post("/api/v1/groups", json={"title": "Book club",
                                                             "members": ["ed"]})
            assert resp.status_code in (200, 201), resp.text
            gid = resp.json()["id"]
        r = await tidings(server, me, "group", "show", gid, "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["title"] == "Book club"

        async with httpx.AsyncClient(base_url=server.url) as client:
            await register(client, "fern")  # an account with a password, as people have
        fern = tmp_path / "fern"
        r = await tidings(server, fern, "account", "login", "fern", "--password-stdin",
                          input="a long enough passphrase\n")
        assert r.exit_code == 0, r.output
        r = await tidings(server, fern, "account", "delete", "--password-stdin",
                          input="a long enough passphrase\n")
        assert r.exit_code == 1 and "error (not_confirmed):" in r.output, r.output
        r = await tidings(server, fern, "account", "delete", "--yes", "--json")
        assert r.exit_code == 1 and "missing_password" in r.output, r.output
        r = await tidings(server, fern, "account", "delete", "--yes", "--password-stdin",
                          input="wrong password\n")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output
        r = await tidings(server, fern, "account", "delete", "--yes", "--password-stdin",
                          "--json", input="a long enough passphrase\n")
        assert r.exit_code == 0 and json.loads(r.stdout) == {"deleted": "fern"}, r.output
        r = await tidings(server, fern, "account", "whoami")
        assert r.exit_code == 1
