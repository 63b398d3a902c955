"""Register and log in from the TUI; a profile the CLI logged in opens in the TUI (a first
message there is a request, accepted in the TUI), and its history and read state come
back from the key store after a restart."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from textual.widgets import Static

from tests.cli.test_messages_cli import PASSWORD, tidings
from tests.conftest import LiveServer
from tests.tui.helpers import (
    SIZE,
    answer,
    main,
    on_main,
    peer,
    rows,
    session,
    type_into,
    unread,
    until,
)
from tidings.client.profile import load as load_profile
from tidings.tui.app import TidingsApp
from tidings.tui.screens.login import LoginScreen
from tidings.tui.screens.main import MainScreen
from tidings.tui.screens.unlock import UnlockScreen

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
PASSPHRASE = "key store pass 1"  # what tests/cli's `tidings` helper unlocks with


def error_text(app: TidingsApp) -> str:
    return str(app.screen.query_one("#error", Static).content)


async def test_register_then_login_on_the_login_screen(live_server: Live,
                                                       tmp_path: Path) -> None:
    async with live_server() as server:
        first = TidingsApp(tmp_path / "dana-1", server.url)
        async with first.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(first.screen, LoginScreen), "login screen")
            await type_into(pilot, "#username", "dana")
            await type_into(pilot, "#password", "too short")
            await type_into(pilot, "#passphrase", PASSPHRASE)
            await pilot.click("#register")
            await until(pilot, lambda: "password" in error_text(first), "the server's refusal")
            assert isinstance(first.screen, LoginScreen)
            await type_into(pilot, "#password", PASSWORD.strip())
            await pilot.click("#register")
            await until(pilot, lambda: on_main(first), "the chat screen")
            assert "dana" in str(first.screen.query_one("#top", Static).content)
        assert load_profile(tmp_path / "dana-1").username == "dana"
        assert (tmp_path / "dana-1" / "keys.tidks").exists()

        second = TidingsApp(tmp_path / "dana-2", server.url)
        async with second.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(second.screen, LoginScreen), "login screen")
            await type_into(pilot, "#username", "dana")
            await type_into(pilot, "#password", PASSWORD.strip())
            await type_into(pilot, "#passphrase", PASSPHRASE)
            await pilot.press("enter")
            await until(pilot, lambda: on_main(second), "the chat screen")
        devices = {load_profile(tmp_path / d).device_id for d in ("dana-1", "dana-2")}
        assert len(devices) == 2  # a login is a new device with its own keys


async def test_a_cli_login_opens_in_the_tui_and_keeps_history(live_server: Live,
                                                                  tmp_path: Path) -> None:
    async with live_server() as server:
        profile = tmp_path / "erin"
        code, _, err = await tidings(server, profile, "account", "register", "erin",
                                     "--password-stdin", stdin=PASSWORD)
        assert code == 0, err
        fred = await peer(server.url, tmp_path, "fred")
        await fred.send_text("erin", "welcome erin")
        app = TidingsApp(profile)  # no --server: the profile's
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
            await type_into(pilot, "#passphrase", "not the passphrase")
            await pilot.press("enter")
            await until(pilot, lambda: "wrong passphrase" in error_text(app), "a clear error")
            await type_into(pilot, "#passphrase", PASSPHRASE)
            await pilot.press("enter")
            await until(pilot, lambda: on_main(app) and "fred" in session(app).book.requests,
                        "fred's message request")
            await answer(pilot, "#requests", "fred", "accept")
            await pilot.press("escape")
            await until(pilot, lambda: unread(app, "fred") == 0, "fred among the chats")
            main(app).open("fred")
            await pilot.press(*"thanks", "enter")
            await until(pilot, lambda: len(rows(app)) == 2, "the reply")
        # with TIDINGS_PASSPHRASE (as the CLI takes it) it opens straight away, and the
        # conversation comes back from the key store: read, with both lines
        again = TidingsApp(profile, passphrase=PASSPHRASE)
        async with again.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: on_main(again), "the chat screen")
            assert isinstance(again.screen, MainScreen)
            assert session(again).user == "erin"
            assert unread(again, "fred") == 0
            main(again).open("fred")
            await pilot.pause()
            assert [r.split(" ", 1)[1] for r in rows(again)] == [
                "fred: welcome erin", "erin: thanks"]
        inbox = await fred.receive()
        assert [m.text for m in inbox.messages] == ["thanks"]
        await fred.client.close()
