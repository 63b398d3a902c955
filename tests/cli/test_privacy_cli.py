"""`tidings block/unblock/blocked`, `tidings requests ...` and group invitations, in
subprocesses against a live server (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.inproc import as_user as tidings
from tests.cli.test_messages_cli import PASSWORD, Live, lines


async def test_requests_block_and_invitations(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        profiles = {u: tmp_path / u for u in ("amy", "bob", "cyd")}
        for user, profile in profiles.items():
            code, _, err = await tidings(server, profile, "account", "register", user,
                                         "--password-stdin", stdin=PASSWORD)
            assert code == 0, err
        hostile = "buy now \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \u202egnp.exe"
        code, _, err = await tidings(server, profiles["bob"], "send", "amy", hostile)
        assert code == 0, err
        code, out, err = await tidings(server, profiles["amy"], "receive")
        assert code == 0 and "message request from bob" in out and "buy now" not in out, err
        code, out, err = await tidings(server, profiles["amy"], "requests")
        assert code == 0, err
        assert "request from bob" in out and "buy now" in out
        assert "\x1b" not in out and "\u202e" not in out and "<U+202E>" in out
        code, out, err = await tidings(server, profiles["amy"], "requests", "--json")
        assert code == 0 and [r["user"] for r in json.loads(out)] == ["bob"], err
        code, out, err = await tidings(server, profiles["amy"], "requests", "block", "bob")
        assert code == 0 and "reported 1 message(s) and blocked bob" in out, err
        code, out, err = await tidings(server, profiles["amy"], "blocked")
        assert code == 0 and out.startswith("bob  since"), err
        # bob learns nothing: his send still succeeds, and nothing reaches amy
        code, _, err = await tidings(server, profiles["bob"], "send", "amy", "hello?")
        assert code == 0, err
        code, out, err = await tidings(server, profiles["amy"], "receive", "--json")
        assert code == 0 and lines(out) == [], err
        code, out, err = await tidings(server, profiles["amy"], "unblock", "bob")
        assert code == 0 and "unblocked bob" in out, err
        code, out, err = await tidings(server, profiles["amy"], "blocked", "--json")
        assert code == 0 and json.loads(out) == [], err
        code, out, err = await tidings(server, profiles["amy"], "block", "nobody")
        assert code != 0 and "user_not_found" in err
        # group invitations: decline is silent, accept joins
        code, out, err = await tidings(server, profiles["cyd"], "group", "create", "Club",
                                       "--member", "amy")
        gid = out.strip()
        code, out, err = await tidings(server, profiles["amy"], "group", "invitations",
                                       "--json")
        assert code == 0 and json.loads(out)[0]["group"] == gid and "Club" not in out, err
        code, out, err = await tidings(server, profiles["amy"], "group", "decline", gid)
        assert code == 0 and f"declined {gid}" in out, err
        code, out, err = await tidings(server, profiles["amy"], "group", "accept", gid)
        assert code != 0 and "no_invitation" in err
