"""The Textual application: which screen shows, and the live stream worker.

Screens get the :class:`Session` and call the client layer through it; this class owns
the one WebSocket stream of the device (a Textual worker running ``sync.StreamLoop``)
and tells the screens when something changed, so two readers never race over the same
Olm sessions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from tidings.client.e2ee import Received
from tidings.client.profile import PROFILE_FILE, ProfileError
from tidings.client.profile import load as load_profile
from tidings.crypto import WrongPassphraseError
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError
from tidings.tui.session import Session
from tidings.tui.sync import Batch, StreamLoop

DEFAULT_SERVER = "http://127.0.0.1:8080"
DEVICE_CHECK_S = 60.0
"""How often the open chat's contact's devices are looked up (besides every send)."""

SignalHandler = Callable[[Received], None]


def clock_text(ts: int) -> str:
    """A message time as the chat view shows it (local time, hours and minutes)."""
    return time.strftime("%H:%M", time.localtime(ts / 1000)) if ts else "--:--"


class TidingsApp(App[None]):
    TITLE = "Tidings"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, profile_dir: Path, server: str | None = None,
                 passphrase: str | None = None, session: Session | None = None,
                 time_text: Callable[[int], str] = clock_text) -> None:
        super().__init__()
        self.profile_dir = profile_dir
        self.server = server
        self.passphrase = passphrase
        self.session: Session | None = session
        self.time_text = time_text
        self.stream_state = "offline"
        self.signal_handlers: list[SignalHandler] = []
        """Screens waiting for control messages (SAS verification) from the stream."""
        self.pending_sas: dict[str, Received] = {}
        """user -> their latest SAS ``start`` that no screen took yet."""

    @property
    def default_server(self) -> str:
        if self.server:
            return self.server
        try:
            return load_profile(self.profile_dir).server
        except (ProfileError, OSError, ValueError, KeyError, TypeError):
            return DEFAULT_SERVER

    async def on_mount(self) -> None:
        from tidings.tui.screens.login import LoginScreen
        from tidings.tui.screens.unlock import UnlockScreen

        if self.session is not None:
            await self.start(self.session)
        elif (self.profile_dir / PROFILE_FILE).exists():
            if self.passphrase and await self.try_unlock(self.passphrase) is None:
                return
            await self.push_screen(UnlockScreen())
        else:
            await self.push_screen(LoginScreen())

    async def try_unlock(self, passphrase: str) -> str | None:
        """Open the CLI's profile and show the chat; an error message if it cannot."""
        try:
            session = await Session.unlock(self.profile_dir, self.server, passphrase)
        except WrongPassphraseError:
            return "wrong passphrase for this profile's key store"
        except (TidingsError, CryptoError) as exc:
            return f"{exc.message} [{exc.code}]"
        except Exception as exc:  # noqa: BLE001 - a damaged profile file: log in again
            return f"cannot open the profile: {exc}"
        self.begin(session)
        return None

    def begin(self, session: Session) -> None:
        """Start ``session`` from the app's own queue, not from the calling screen's
        worker: showing the chat removes that screen, which waits for its workers."""
        self.call_later(self.start, session)

    async def start(self, session: Session) -> None:
        """Load the conversations, show the chat screen and start the stream worker."""
        from tidings.tui.screens.main import MainScreen

        self.session = session
        self.sub_title = session.user
        try:
            await session.load()
        except TidingsError as exc:  # offline: show what the key store has; the stream retries
            self.notify(f"could not load everything: {exc.message}", severity="warning",
                        markup=False)
        session.collect_changes()
        if len(self.screen_stack) > 1:
            await self.switch_screen(MainScreen(session))  # in place of login / unlock
        else:
            await self.push_screen(MainScreen(session))
        loop = StreamLoop(session.m, self.on_batch, self.on_stream_state)
        self.run_worker(loop.run(), name="stream", group="stream", exclusive=True,
                        exit_on_error=False)
        self.set_interval(DEVICE_CHECK_S, self.check_active_devices)

    def on_stream_state(self, state: str) -> None:
        self.stream_state = state
        self.refresh_screens()

    async def on_batch(self, batch: Batch) -> None:
        session = self.session
        if session is None:
            return
        touched = session.absorb(batch.inbox)
        for frame in batch.posts:
            key = session.absorb_post(frame)
            if key is not None:
                touched.add(key)
        for signal in batch.inbox.signals:
            if signal.content.kind != "verification":
                continue
            if signal.content.body.get("step") == "start":
                self.pending_sas[signal.sender] = signal
                self.notify(f"{signal.sender} wants to verify with emoji: open the chat and "
                            "press F6", timeout=10, markup=False)
            for handler in list(self.signal_handlers):
                handler(signal)
        if batch.inbox.messages or batch.inbox.notices or batch.inbox.system:
            session.collect_changes()
        if session.book.active in touched:
            session.mark_read(session.book.active)
        self.refresh_screens()

    async def check_active_devices(self) -> None:
        session = self.session
        if session is None or session.book.active is None:
            return
        conv = session.book.conversations.get(session.book.active)
        if conv is not None and conv.kind.value == "person":
            await session.check_devices(conv.ref)
            self.refresh_screens()

    def refresh_screens(self) -> None:
        """Re-render the chat screen and, if open, the requests screen."""
        from tidings.tui.screens.main import MainScreen
        from tidings.tui.screens.requests import RequestsScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen | RequestsScreen):
                screen.refresh_view()

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.close()
