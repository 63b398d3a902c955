"""Unlock the key store of a profile that is already logged in (by the CLI or the TUI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from tidings.client.profile import load as load_profile
from tidings.tui.screens.login import FORM_CSS, LoginScreen

if TYPE_CHECKING:
    from tidings.tui.app import TidingsApp


class UnlockScreen(Screen[None]):
    DEFAULT_CSS = FORM_CSS + "UnlockScreen { align: center middle; }"

    @property
    def tapp(self) -> TidingsApp:
        from tidings.tui.app import TidingsApp

        assert isinstance(self.app, TidingsApp)
        return self.app

    def compose(self) -> ComposeResult:
        profile = load_profile(self.tapp.profile_dir)
        with Vertical(classes="form"):
            yield Static(f"[b]{profile.username}[/b] on {self.tapp.server or profile.server}"
                         f"\ndevice {profile.device_id}", classes="hint")
            yield Input(placeholder="key store passphrase", password=True, id="passphrase")
            with Horizontal(classes="buttons"):
                yield Button("Unlock", id="unlock", variant="primary")
                yield Button("Log in as someone else", id="other")
            yield Static(id="error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @on(Button.Pressed, "#other")
    def _other(self) -> None:
        self.app.switch_screen(LoginScreen())

    @on(Button.Pressed, "#unlock")
    @on(Input.Submitted)
    def _unlock(self) -> None:
        self.unlock()

    @work(exclusive=True, group="unlock")
    async def unlock(self) -> None:
        error = self.query_one("#error", Static)
        error.update("unlocking…")
        message = await self.tapp.try_unlock(self.query_one("#passphrase", Input).value)
        if message is not None:
            error.update(message)
