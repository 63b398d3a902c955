"""Two people chat end to end encrypted, one in the TUI: a first message is a request the
TUI user accepts, then live lines, unread counts, a file, and a verifiable report of a
received message."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.apps import kernel_of
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
    status,
    unread,
    until,
)
from tidings.client.attachments import fetch
from tidings.tui.screens.report import ReportScreen
from tidings.tui.state import REQUESTS_KEY
from tidings.tui.widgets.message_list import MessageList

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_live_messages_unread_send_and_file(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        bob = await peer(server.url, tmp_path, "bob")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app), "the chat screen, live")
            await bob.send_text("alice", "hi alice")
            await until(pilot, lambda: unread(app, REQUESTS_KEY) == 1, "bob's message request")
            await bob.send_text("alice", "are you there?")
            await until(pilot, lambda: len(session(app).book.requests["bob"]) == 2,
                        "both messages in the request")
            assert unread(app, "bob") == -1  # not among the chats before alice accepts
            assert "accepted bob" in await answer(pilot, "#requests", "bob", "accept")
            await pilot.press("escape")
            await until(pilot, lambda: unread(app, REQUESTS_KEY) == -1, "no request left")
            main(app).open("bob")
            await pilot.pause()
            assert unread(app, "bob") == 0
            assert [r.split(" ", 1)[1] for r in rows(app)] == [
                "bob: hi alice", "bob: are you there?"]
            third = await bob.send_text("alice", "third")
            await until(pilot, lambda: len(rows(app)) == 3, "a live message in the open chat")
            assert unread(app, "bob") == 0
            await pilot.press(*"hello bob")
            await pilot.press("enter")
            await until(pilot, lambda: len(rows(app)) == 4, "the sent line")
            assert rows(app)[-1].endswith("alice: hello bob")
            # the TUI holds its stream's socket, so its sends go over it (issue 22)
            assert session(app).m.client.transport.sent_over_socket == 1
            inbox = await bob.receive()
            assert [m.text for m in inbox.messages] == ["hello bob"]
            assert inbox.messages[0].sender == "alice"

            attachment = tmp_path / "notes.txt"
            attachment.write_bytes(b"secret notes \x00\x01")
            await pilot.press("f7")
            await pilot.press(*str(attachment))
            await pilot.press("enter")
            await until(pilot, lambda: len(rows(app)) == 5, "the file line")
            assert rows(app)[-1].endswith("alice: 📎 notes.txt")
            inbox = await bob.receive()
            (item,) = inbox.messages
            assert item.content.kind == "file"
            saved = await fetch(bob, item, tmp_path / "bob-downloads")
            assert saved.read_bytes() == b"secret notes \x00\x01"

            # report bob's "third", with the two messages before it as context
            await pilot.press("shift+tab", "end", "up", "up")
            assert main(app).query_one(MessageList).highlighted_line_id() == third["id"]
            await pilot.press("f8")
            await until(pilot, lambda: isinstance(app.screen, ReportScreen), "the report form")
            await pilot.click("#send")
            await until(pilot, lambda: "received" in status(app), "the server's answer")
            assert "(verified)" in status(app)
            case_id = status(app).rsplit("case ", 1)[1]
            detail = await kernel_of(server).review.case(case_id)
            (report,) = detail["reports"]
            assert report["verified"] is True and report["category"] == "harassment"
            assert [m["text"] for m in report["messages"]] == [
                "third", "hi alice", "are you there?"]
        await bob.client.close()
