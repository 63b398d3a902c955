"""Issue 17: the system inbox in the TUI. A statement of reasons that arrives while the
app runs appears at once in the read-only "Tidings notices" conversation (at start the
session also loads the inbox from ``GET /notices``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx

from tests.apps import attach
from tests.conftest import LiveServer
from tests.server.channel_util import internal_id
from tests.server.order_util import member
from tests.tui.helpers import SIZE, main, on_main, person_app, rows, session, status, until
from tidings.tui.state import NOTICES_KEY

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_a_statement_of_reasons_shows_in_the_notices_conversation(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        async with httpx.AsyncClient(base_url=server.url) as http:
            attach(http, server.app)
            mod = await member(http, "mod_anna", "moderator")
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: on_main(app), "the chat screen, live")
                client = session(app).client
                await client.create_channel("news_desk", "Daily news desk")
                post = await client.publish("news_desk", "words a moderator removes")
                pid = await internal_id(http, mod, "news_desk", post["number"])
                r = await http.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod,
                                    json={"labels": ["other_illegal"]})
                assert r.status_code == 200, r.text
                await until(pilot, lambda: NOTICES_KEY in session(app).book.conversations,
                            "the notices conversation, live")
                main(app).open(NOTICES_KEY)
                await until(pilot, lambda: len(rows(app)) == 1, "the statement")
                assert "Your content was removed" in rows(app)[0]
                assert "[statement_of_reasons]" in rows(app)[0]
                await pilot.press(*"hello", "enter")
                await until(pilot, lambda: "read only" in status(app), "a refusal")
                assert len(rows(app)) == 1
