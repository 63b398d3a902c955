"""Message requests, group invitations and blocks in the TUI (issue 20): a first message
waits on F11's screen as plain text until accepted; report and block, delete and unblock
there; F12 blocks the open chat's person and their next message never appears; a
refused invitation lets nothing of the group through."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList

from tests.conftest import LiveServer
from tests.tui.helpers import (
    SIZE,
    answer,
    main,
    on_main,
    peer,
    person_app,
    rows,
    session,
    shown,
    status,
    unread,
    until,
)
from tidings.client.groups import Groups, get_group, my_groups
from tidings.tui.screens.requests import RequestsScreen
from tidings.tui.state import REQUESTS_KEY

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
HOSTILE = ("win \x1b]8;;https://evil.example\x07a prize\x1b]8;;\x07 "
           "[link=https://evil.example]now[/link] \u202eexe.txt")


async def test_accept_report_and_block_block_from_a_chat_delete_unblock(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        bob = await peer(server.url, tmp_path, "bob")
        mallory = await peer(server.url, tmp_path, "mallory")
        carol = await peer(server.url, tmp_path, "carol")
        await bob.send_text("alice", "hi, it's bob")
        await mallory.send_text("alice", HOSTILE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app) and unread(app, REQUESTS_KEY) == 2,
                        "two message requests")
            book = session(app).book
            assert "bob" not in book.conversations and "mallory" not in book.conversations
            await pilot.press("f11")
            await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "F11's screen")
            listing = app.screen.query_one("#requests", OptionList)
            evil = next(o.prompt for o in listing.options if o.id == "mallory")
            assert isinstance(evil, Text)
            assert "\x1b" not in evil.plain and "\u202e" not in evil.plain
            assert "␛]8;;https://evil.example␇a prize" in evil.plain
            assert "[link=https://evil.example]now[/link] <U+202E>exe.txt" in evil.plain
            assert not any("link" in str(span.style) for span in evil.spans)

            assert "accepted bob" in await answer(pilot, "#requests", "bob", "accept")
            assert "reported 1 message(s) from mallory (1 verified) and blocked them" in \
                await answer(pilot, "#requests", "mallory", "report-block")
            assert [r["user"] for r in await session(app).privacy.requests()] == []
            await pilot.press("escape")
            main(app).open("bob")
            await pilot.pause()
            assert [r.split(" ", 1)[1] for r in rows(app)] == ["bob: hi, it's bob"]
            await pilot.press("f12")
            await until(pilot, lambda: "blocked bob" in status(app), "the block")
            assert "blocked (F12 to unblock)" in shown(app, "#chat-title")

            await mallory.send_text("alice", "still there?")  # answered as for anyone
            await bob.send_text("alice", "why no answer?")
            await carol.send_text("alice", "hello from carol")
            await until(pilot, lambda: "carol" in book.requests, "carol's request, sent last")
            assert [r.split(" ", 1)[1] for r in rows(app)] == ["bob: hi, it's bob"]
            assert set(book.requests) == {"carol"} and "mallory" not in book.conversations

            assert "deleted the request from carol (1 messages)" in await answer(
                pilot, "#requests", "carol", "delete")
            assert "unblocked mallory" in await answer(pilot, "#blocked", "mallory", "unblock")
            assert [b["user"] for b in await session(app).privacy.blocked()] == ["bob"]
            assert await session(app).privacy.requests() == []
        for person in (bob, mallory, carol):
            await person.client.close()


async def test_a_refused_invitation_lets_nothing_of_the_group_through(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        carol = await peer(server.url, tmp_path, "carol")
        gid = str((await Groups(carol).create("Secret club", ["alice"]))["id"])
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app) and unread(app, REQUESTS_KEY) == 1,
                        "the invitation")
            book = session(app).book
            assert book.invitations == {gid: "carol"}
            assert "refused the invitation" in await answer(pilot, "#invitations", gid,
                                                             "refuse")
            await pilot.press("escape")
            await Groups(carol).send_text(gid, "welcome to the secret club")
            await carol.send_text("alice", "did you get my invitation?")
            await until(pilot, lambda: "carol" in book.requests, "carol's request, sent last")
            assert f"group:{gid}" not in book.conversations
            assert all("Secret club" not in c.title for c in book.conversations.values())
            assert [line.text for line in book.requests["carol"]] == [
                "did you get my invitation?"]
            assert await session(app).privacy.invitations() == []
            assert (await session(app).client.call(my_groups()))["groups"] == []
            assert (await carol.client.call(get_group(gid)))["members"] == ["carol"]
        await carol.client.close()
