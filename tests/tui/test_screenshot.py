"""The chat screen as an SVG (docs/images/tui-chat.svg), checked line by line.

The state is seeded through a real server in a fixed order and message times are
frozen, so the visible text is the same on every run; a change to the UI shows up
here as a diff of text lines. After an intended change, regenerate with
``TIDINGS_UPDATE_SCREENSHOTS=1 pytest tests/tui/test_screenshot.py`` and commit it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.conftest import LiveServer
from tests.tui.helpers import (
    answer,
    main,
    on_main,
    peer,
    person_app,
    rows,
    session,
    unread,
    until,
)
from tests.tui.svg_text import text_lines
from tidings.client.groups import Groups
from tidings.tui.state import REQUESTS_KEY

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
SHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "tui-chat.svg"
SIZE = (100, 18)
FROZEN = "09:41"


async def test_chat_screen_matches_the_committed_screenshot(live_server: Live,
                                                            tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice", time_text=lambda ts: FROZEN)
        bob = await peer(server.url, tmp_path, "bob")
        carol = await peer(server.url, tmp_path, "carol")
        await bob.client.create_channel("news_desk", "Daily news desk")
        await bob.client.publish("news_desk", "Markets open higher")
        await bob.client.publish("news_desk", "Rain expected this weekend")
        await session(app).client.subscribe("news_desk")
        group = await Groups(carol).create("Weekend plans", ["alice", "bob"])
        await Groups(bob).accept(group["id"])
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app), "the chat screen, live")
            await answer(pilot, "#invitations", group["id"], "join")  # alice joins in the TUI
            await pilot.press("escape")
            await until(pilot, lambda: unread(app, REQUESTS_KEY) == -1, "no invitation left")
            await Groups(carol).send_text(group["id"], "Picnic or museum?")
            await until(pilot, lambda: unread(app, f"group:{group['id']}") == 1, "the group")
            # bob shares the group with alice now: his message is not a request
            await bob.send_text("alice", "Are we still on for Saturday?")
            await until(pilot, lambda: unread(app, "bob") == 1, "bob's message")
            main(app).open("bob")
            await pilot.press(*"Yes! 10:00 at the market", "enter")
            await until(pilot, lambda: len(rows(app)) == 2, "the sent line")
            await bob.send_text("alice", "Perfect, I'll bring the coffee ☕")
            await until(pilot, lambda: len(rows(app)) == 3, "bob's answer")
            await carol.send_text("alice", "Did you see the news?")
            await until(pilot, lambda: unread(app, "carol") == 1, "carol's message")
            await pilot.pause()
            svg = app.export_screenshot(title="tidings tui")
        for person in (bob, carol):
            await person.client.close()
    if os.environ.get("TIDINGS_UPDATE_SCREENSHOTS") == "1":
        SHOT.write_text(svg)
    assert text_lines(svg) == text_lines(SHOT.read_text())
