"""Issue 20 item 7: the TUI renders other people's text as plain, visibly defused text.

Message bodies (the Big List of Naughty Strings plus OSC 8, OSC 52, CSI, C1 and bidi
samples and Rich markup, in real end-to-end encrypted messages) and a hostile group title
are shown with no escape, C1 or bidi control character, with their visible stand-ins,
and with markup shown as the characters it is made of, on the rendered screen too.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.cli.hostile_text import DANGEROUS, MARKUP, SHOWN, TERMINAL, batches, blns, shown_form
from tests.conftest import LiveServer
from tests.tui.helpers import SIZE, main, on_main, peer, person_app, rows, session, shown, until
from tests.tui.svg_text import text_lines
from tidings.client.groups import Groups

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
TITLE = "[bold]Team[/bold] [link=https://evil.example/]x[/link] \u202egnp.exe \x1b]52;c;eA==\x07"


async def test_naughty_strings_render_defused_in_the_tui(live_server: Live, tmp_path: Path
                                                          ) -> None:
    async with live_server() as server:
        app = await person_app(server.url, tmp_path, "alice")
        bob = await peer(server.url, tmp_path, "bob")
        alice = session(app).m
        await alice.send_text("bob", "hello")  # alice wrote first: no message request
        gid = (await Groups(alice).create(TITLE, ["bob"]))["id"]
        strings = blns()
        sent = [*batches(strings, 3000), *TERMINAL]  # the samples last: on screen at the end
        for text in sent:
            await bob.send_text("alice", text)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(app), "the chat screen, live")
            await until(pilot, lambda: "bob" in session(app).book.conversations, "bob's chat")
            main(app).open("bob")
            await until(pilot, lambda: len(rows(app)) == len(sent), "every message")
            shown_rows = "\n".join(rows(app))
            assert DANGEROUS.search(shown_rows) is None
            assert all(piece in shown_rows for s in [*strings, *TERMINAL]
                       for piece in shown_form(s))
            for expected in SHOWN:
                assert expected in shown_rows
            await pilot.pause()
            screen = "\n".join(text_lines(app.export_screenshot()))
            assert "[bold]loud[/bold]" in screen and "[/]" in screen  # not interpreted
            assert rows(app)[-1].endswith(MARKUP)

            main(app).open(f"group:{gid}")
            await pilot.pause()
            title = shown(app, "#chat-title")
            assert title.startswith("[bold]Team[/bold] [link=https://evil.example/]x[/link] "
                                    "<U+202E>gnp.exe ␛]52;c;eA==␇")
            screen = "\n".join(text_lines(app.export_screenshot()))
            assert DANGEROUS.search(screen) is None
            assert "[bold]Team[/bold]" in screen and "<U+202E>gnp.exe" in screen
