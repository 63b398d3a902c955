"""`tidings group ...` in subprocesses against a live server."""

from __future__ import annotations

from pathlib import Path

from tests.cli.inproc import as_user as tidings
from tests.cli.test_messages_cli import PASSWORD, Live, lines


async def test_group_create_send_receive_remove(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        profiles = {u: tmp_path / u for u in ("ann", "ben", "cat")}
        for user, profile in profiles.items():
            code, _, err = await tidings(server, profile, "account", "register", user,
                                         "--password-stdin", stdin=PASSWORD)
            assert code == 0, err
        code, out, err = await tidings(server, profiles["ann"], "group", "create", "Trio",
                                       "--member", "ben", "--member", "cat")
        assert code == 0, err
        gid = out.strip()
        assert gid.startswith("G")
        for user in ("ben", "cat"):  # being added is an invitation (issue 20)
            code, out, err = await tidings(server, profiles[user], "group", "invitations")
            assert code == 0 and f"{gid}  invited by ann" in out, err
            code, out, err = await tidings(server, profiles[user], "group", "accept", gid)
            assert code == 0, err
        code, out, err = await tidings(server, profiles["ann"], "group", "send", gid, "hi all")
        assert code == 0, err
        for user in ("ben", "cat"):
            code, out, err = await tidings(server, profiles[user], "receive", "--json")
            assert code == 0, err
            (msg,) = lines(out)
            assert (msg["from"], msg["text"], msg["conversation"]) == (
                "ann", "hi all", f"group:{gid}")
        code, out, err = await tidings(server, profiles["ann"], "group", "remove", gid, "cat")
        assert code == 0, err
        code, _, err = await tidings(server, profiles["ben"], "group", "send", gid, "no cat")
        assert code == 0, err
        code, out, err = await tidings(server, profiles["ann"], "receive")
        assert code == 0, err
        assert "no cat" in out and f"group:{gid}" in out
        code, out, err = await tidings(server, profiles["cat"], "receive", "--json")
        assert code == 0 and lines(out) == []
        code, _, err = await tidings(server, profiles["cat"], "group", "send", gid, "let me in")
        assert code != 0 and "not_a_member" in err
        code, out, err = await tidings(server, profiles["ann"], "timer", gid, "60", "--json")
        assert code == 0, err
        code, out, err = await tidings(server, profiles["ann"], "timer", "ben", "30")
        assert code == 1 and "bad_timer" in err  # issue 20: at least a minute
        code, out, err = await tidings(server, profiles["ann"], "timer", "ben", "90")
        assert code == 0 and "90 s" in out, err
        code, out, err = await tidings(server, profiles["ben"], "group", "leave", gid)
        assert code == 0, err


async def test_send_file_and_receive_saves_it(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        profiles = {u: tmp_path / u for u in ("dot", "eli")}
        for user, profile in profiles.items():
            code, _, err = await tidings(server, profile, "account", "register", user,
                                         "--password-stdin", stdin=PASSWORD)
            assert code == 0, err
        doc = tmp_path / "notes.txt"
        doc.write_text("meet at noon")
        code, _, err = await tidings(server, profiles["dot"], "send", "eli", "--file", str(doc))
        assert code == 0, err
        code, out, err = await tidings(server, profiles["eli"], "receive", "--json")
        assert code == 0, err
        saved = [line for line in lines(out) if "saved" in line]
        assert len(saved) == 1
        assert Path(saved[0]["saved"]).read_text() == "meet at noon"
        assert Path(saved[0]["saved"]).is_relative_to(profiles["eli"])
