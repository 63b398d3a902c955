"""Create a group (the member accepts the invitation) and send to it; search, follow and
read a channel; report a post."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.apps import kernel_of
from tests.conftest import LiveServer
from tests.tui.helpers import (
    SIZE,
    main,
    on_main,
    peer,
    person_app,
    rows,
    session,
    shown,
    status,
    type_into,
    unread,
    until,
)
from tidings.client.groups import Groups
from tidings.tui.screens.channels import ChannelsScreen
from tidings.tui.screens.new_group import NewGroupScreen
from tidings.tui.screens.report import ReportScreen

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_group_and_channel(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        bob = await peer(server.url, tmp_path, "bob")
        await bob.client.create_channel("news_desk", "Daily news desk", "Headlines, daily")
        await bob.client.create_channel("cooking_club", "Cooking club")
        for text in ("first headline", "second headline"):
            await bob.client.publish("news_desk", text)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app), "the chat screen, live")

            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, NewGroupScreen), "group form")
            await type_into(pilot, "#title", "Weekend plans")
            await type_into(pilot, "#members", "bob")
            await pilot.press("enter")
            await until(pilot, lambda: "Weekend plans" in shown(app, "#chat-title"),
                        "the new group, open")
            gid = (session(app).book.active or "").removeprefix("group:")
            assert gid.startswith("G")
            await Groups(bob).accept(gid)  # being added is being invited: bob joins
            await pilot.press(*"hello group", "enter")
            await until(pilot, lambda: len(rows(app)) == 1, "the sent line")
            inbox = await bob.receive()
            assert [(m.conversation, m.text) for m in inbox.messages] == [
                (f"group:{gid}", "hello group")]
            await Groups(bob).send_text(gid, "see you saturday")
            await until(pilot, lambda: len(rows(app)) == 2, "bob's group message, live")
            assert rows(app)[-1].endswith("bob: see you saturday")

            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, ChannelsScreen), "channels")
            await type_into(pilot, "#query", "news")
            await pilot.press("enter")
            await until(pilot, lambda: "1 found" in shown(app, "#error"), "search results")
            await pilot.press("enter")  # the highlighted result: follow it
            await until(pilot, lambda: session(app).book.active == "channel:news_desk",
                        "the channel, open")
            assert [r.split(" ", 1)[1] for r in rows(app)] == [
                "@news_desk: first headline", "@news_desk: second headline"]
            assert [c["handle"] for c in await session(app).client.subscriptions()] == [
                "news_desk"]
            await bob.client.publish("news_desk", "breaking: live post")
            await until(pilot, lambda: len(rows(app)) == 3, "a live post")

            main(app).open(f"group:{gid}")
            await bob.client.publish("news_desk", "while you were away")
            await until(pilot, lambda: unread(app, "channel:news_desk") == 1,
                        "the channel's unread count")

            main(app).open("channel:news_desk")
            await pilot.press("shift+tab", "end")
            await pilot.press("f8")
            await until(pilot, lambda: isinstance(app.screen, ReportScreen), "report form")
            await pilot.click("#send")
            await until(pilot, lambda: "received" in status(app), "the report's receipt")
            case_id = status(app).rsplit("case ", 1)[1]
            detail = await kernel_of(server).review.case(case_id)
            assert detail["target"]["kind"] == "post"
        await bob.client.close()
