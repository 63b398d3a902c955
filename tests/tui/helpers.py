"""Driving the TUI with Textual's pilot against a live server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tests.client.helpers import device
from tidings.client.messaging import Messenger
from tidings.tui.app import TidingsApp, clock_text
from tidings.tui.screens.main import MainScreen
from tidings.tui.screens.requests import RequestsScreen
from tidings.tui.session import Session
from tidings.tui.widgets.conversation_list import ConversationList
from tidings.tui.widgets.message_list import MessageList

SIZE = (110, 32)
WAIT_S = 15.0


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str,
                timeout: float = WAIT_S) -> None:
    """Let the app run until ``check()`` holds (fails the test after ``timeout``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def person_app(server_url: str, tmp: Path, user: str, *, first: bool = True,
                     time_text: Callable[[int], str] = clock_text) -> TidingsApp:
    """An app for ``user``, already logged in (keys in memory: no argon2id per save;
    tests/tui/test_login.py covers the key store)."""
    messenger = await device(server_url, tmp, user, "tui", first=first)
    return TidingsApp(tmp / f"{user}-tui", server_url, session=Session(messenger),
                      time_text=time_text)


async def peer(server_url: str, tmp: Path, user: str, name: str = "phone", *,
               first: bool = True) -> Messenger:
    """Someone using the SDK (or the CLI) on the other side."""
    return await device(server_url, tmp, user, name, first=first)


def main(app: TidingsApp) -> MainScreen:
    """The chat screen, under any dialog open over it."""
    screens = [s for s in app.screen_stack if isinstance(s, MainScreen)]
    assert screens, f"no chat screen under {app.screen_stack}"
    return screens[0]


def session(app: TidingsApp) -> Session:
    assert app.session is not None
    return app.session


def shown(app: TidingsApp, selector: str) -> str:
    """The text of a Static on the top screen."""
    return str(app.screen.query_one(selector, Static).content)


def on_main(app: TidingsApp) -> bool:
    return isinstance(app.screen, MainScreen) and app.stream_state == "live"


def rows(app: TidingsApp) -> list[str]:
    return main(app).query_one(MessageList).texts()


def unread(app: TidingsApp, key: str) -> int:
    try:
        return main(app).query_one(ConversationList).unread_of(key)
    except Exception:  # noqa: BLE001 - not listed (yet)
        return -1


def status(app: TidingsApp) -> str:
    return str(main(app).query_one("#status", Static).content)


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector, Input)
    widget.value = text
    widget.focus()
    await pilot.pause()


def listed(app: TidingsApp, selector: str) -> list[str]:
    """The ids listed in an OptionList of the top screen."""
    widget = app.screen.query_one(selector, OptionList)
    return [o.id for o in widget.options if o.id is not None]


async def answer(pilot: Pilot[None], selector: str, target: str, button: str) -> str:
    """On F11's requests screen (opened if needed): pick ``target`` in the ``selector``
    list, press ``button``; the screen's answer."""
    app = pilot.app
    assert isinstance(app, TidingsApp)
    if not isinstance(app.screen, RequestsScreen):
        await pilot.press("f11")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "requests screen")
    await until(pilot, lambda: target in listed(app, selector), f"{target} in {selector}")
    widget = app.screen.query_one(selector, OptionList)
    widget.highlighted = widget.get_option_index(target)
    before = shown(app, "#error")
    app.screen.query_one(f"#{button}").scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.click(f"#{button}")
    await until(pilot, lambda: shown(app, "#error") != before, f"the answer to {button}")
    return shown(app, "#error")
