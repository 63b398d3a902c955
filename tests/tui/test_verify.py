"""Two people, each in the TUI: the same safety number, emoji (SAS) verification, and the
banner when one of them adds a device."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from textual.widgets import Static

from tests.conftest import LiveServer
from tests.tui.helpers import SIZE, main, on_main, peer, person_app, status, type_into, until
from tidings.client.verification import safety
from tidings.crypto import format_safety_number
from tidings.tui.app import TidingsApp
from tidings.tui.screens.safety import SafetyScreen
from tidings.tui.screens.sas import SasScreen
from tidings.tui.widgets.banner import DeviceBanner

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


def shown(app: TidingsApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def number_shown(app: TidingsApp) -> Callable[[], bool]:
    return lambda: isinstance(app.screen, SafetyScreen) and shown(app, "#number")[:5].isdigit()


async def test_safety_number_sas_and_device_banner(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        alice = await person_app(server.url, tmp_path, "alice")
        bob = await person_app(server.url, tmp_path, "bob")
        async with alice.run_test(size=SIZE) as pa, bob.run_test(size=SIZE) as pb:
            await until(pa, lambda: on_main(alice) and on_main(bob), "both chat screens")
            for pilot, other in ((pa, "bob"), (pb, "alice")):
                await pilot.press("f2")
                await type_into(pilot, "#user", other)
                await pilot.press("enter")

            numbers = []
            for pilot, app in ((pa, alice), (pb, bob)):
                await pilot.press("f5")
                await until(pilot, number_shown(app), "the safety number")
                numbers.append(shown(app, "#number"))
                await pilot.press("escape")
            assert numbers[0] == numbers[1]
            assert alice.session is not None
            number, _ = await safety(alice.session.m, "bob")
            assert " ".join(numbers[0].split()) == format_safety_number(number)

            await pa.press("f6")  # alice asks; bob's app is told and answers with F6
            await until(pb, lambda: "alice" in bob.pending_sas, "bob sees the request")
            await pb.press("f6")
            await until(pa, lambda: isinstance(alice.screen, SasScreen) and isinstance(
                bob.screen, SasScreen) and shown(alice, "#emoji") != "" and shown(
                bob, "#emoji") != "", "emoji on both sides")
            assert shown(alice, "#emoji") == shown(bob, "#emoji")
            assert len(shown(alice, "#emoji").split("   ")) == 7
            await pa.click("#match")
            await pb.click("#match")
            await until(pa, lambda: "verified" in status(alice) and "verified" in status(bob),
                        "both verified")
            assert status(alice).startswith("verified bob's device")
            assert "verified ✓" in shown(alice, "#chat-title")
            assert not main(alice).query_one(DeviceBanner).has_class("-shown")

            # bob logs in on a new device: alice's next message raises the banner
            bob_laptop = await peer(server.url, tmp_path, "bob", "laptop", first=False)
            await pa.press(*"still you?", "enter")
            banner = main(alice).query_one(DeviceBanner)
            await until(pa, lambda: banner.has_class("-shown"), "the device-change banner")
            assert "bob's devices changed since you verified them (1 new device)" in str(
                banner.content)
            assert "verified ✓" not in shown(alice, "#chat-title")
            # the new device can read it: the message was encrypted for it too
            inbox = await bob_laptop.receive()
            assert [m.text for m in inbox.messages] == ["still you?"]
            await pa.press("f9")
            await until(pa, lambda: not banner.has_class("-shown"), "the banner hidden")
            await bob_laptop.client.close()
