"""`tidings report`, `tidings mod`, `tidings appeal`, `tidings notices` against a live server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.apps import kernel_of
from tests.cli.inproc import as_user as tidings
from tests.cli.test_messages_cli import PASSWORD, Live, lines
from tidings.services.accounts import AccountService


async def test_report_a_message_then_decide_and_appeal_via_cli(live_server: Live,
                                                               tmp_path: Path) -> None:
    async with live_server() as server:
        accounts: AccountService = kernel_of(server).accounts
        for name in ("mod_anna", "mod_ben"):
            await accounts.create_user(name, PASSWORD.strip(), "moderator",
                                       check_reserved=False)
        a, b = tmp_path / "alice", tmp_path / "bob"
        anna, ben = tmp_path / "anna", tmp_path / "ben"
        for profile, cmd, user in ((a, "register", "alice"), (b, "register", "bob"),
                                   (anna, "login", "mod_anna"), (ben, "login", "mod_ben")):
            code, _, err = await tidings(server, profile, "account", cmd, user,
                                         "--password-stdin", "--json", stdin=PASSWORD)
            assert code == 0, err
        for text in ("first", "second", "the threat"):
            code, _, err = await tidings(server, b, "send", "alice", text, "--json")
            assert code == 0, err
        picture = tmp_path / "threat.txt"
        picture.write_text("written down, too")
        code, _, err = await tidings(server, b, "send", "alice", "--file", str(picture))
        assert code == 0, err
        code, out, err = await tidings(server, a, "receive", "--json")
        assert code == 0, err
        received = lines(out)
        threat = next(r["id"] for r in received if r.get("text") == "the threat")
        attached = next(r["id"] for r in received if r.get("kind") == "file")
        code, out, err = await tidings(server, a, "report", "message", threat,
                                       "--category", "harassment", "--context", "2", "--json")
        assert code == 0, err
        ack = json.loads(out)
        assert ack["verified"] is True
        code, out, err = await tidings(server, anna, "mod", "queue", "--json")
        assert code == 0, err
        [case] = json.loads(out)
        assert case["id"] == ack["case_id"] and case["source"] == "verified_private_report"
        detail = await kernel_of(server).review.case(case["id"])
        assert [m["text"] for m in detail["reports"][0]["messages"]] == [
            "the threat", "first", "second"]
        code, out, err = await tidings(server, a, "report", "message", attached,
                                       "--category", "harassment", "--disclose", "--json")
        assert code == 0, err
        filed = json.loads(out)
        assert filed["verified"] is True and filed["disclosed"] == 1
        shown = await kernel_of(server).review.case(filed["case_id"])
        assert shown["reports"][0]["messages"][0]["file"]["name"] == "threat.txt"
        # a report category is accepted as the policy (issue 21: one vocabulary)
        code, out, err = await tidings(server, anna, "mod", "decide", case["id"],
                                       "--action", "suspend_account", "--policy", "harassment")
        assert code == 0, err
        assert "decided" in out
        code, out, err = await tidings(server, b, "notices")
        assert code == 0, err
        assert "Your account was suspended" in out
        code, out, err = await tidings(server, b, "appeal", case["id"], "--text", "Misread.")
        assert code == 0, err
        code, out, err = await tidings(server, anna, "mod", "decide", case["id"],
                                       "--action", "reverse")
        assert code == 1 and "same_moderator" in err
        code, out, err = await tidings(server, ben, "mod", "decide", case["id"],
                                       "--action", "reverse", "--note", "Fair enough.")
        assert code == 0, err
        code, out, err = await tidings(server, a, "report", "status", str(ack["id"]))
        assert code == 0 and "decided" in out
        code, out, err = await tidings(server, b, "channel", "create", "bob_desk",
                                       "--title", "Bob desk")
        assert code == 0, err  # the suspension is lifted


async def test_report_a_post_via_cli(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        a, b = tmp_path / "alice", tmp_path / "bob"
        for profile, user in ((a, "alice"), (b, "bob")):
            code, _, err = await tidings(server, profile, "account", "register", user,
                                         "--password-stdin", stdin=PASSWORD)
            assert code == 0, err
        code, _, err = await tidings(server, a, "channel", "create", "news_desk",
                                     "--title", "Daily desk")
        assert code == 0, err
        code, out, err = await tidings(server, a, "channel", "post", "news_desk", "hello",
                                       "--json")
        assert code == 0, err
        number = json.loads(out)["number"]
        code, out, err = await tidings(server, b, "report", "post", "news_desk", str(number),
                                       "--category", "spam")
        assert code == 0, err
        assert "received" in out
        code, out, err = await tidings(server, b, "report", "post", f"/c/news_desk/{number}",
                                       "--category", "spam", "--json")
        assert code == 0, err
        assert json.loads(out)["case_id"]
        code, out, err = await tidings(server, b, "report", "post", "/c/news_desk/9",
                                       "--category", "spam")
        assert code == 1 and "post_not_found" in err
        code, out, err = await tidings(server, b, "report", "message", "Mnope",
                                       "--category", "spam")
        assert code == 1 and "message_not_found" in err
