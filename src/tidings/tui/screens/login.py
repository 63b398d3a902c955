"""Log in (a new device of an existing account) or register, as `tidings account` does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError
from tidings.tui.session import Session

if TYPE_CHECKING:
    from tidings.tui.app import TidingsApp

FORM_CSS = """
.form { width: 72; height: auto; border: round $primary; padding: 0 2; }
.form .buttons { height: auto; }
.form .buttons Button { margin-right: 2; }
.error { color: $error; height: auto; }
.hint { color: $text-muted; height: auto; margin-bottom: 1; }
"""


class LoginScreen(Screen[None]):
    DEFAULT_CSS = FORM_CSS + "LoginScreen { align: center middle; }"

    def compose(self) -> ComposeResult:
        app = self.tapp
        with Vertical(classes="form"):
            yield Static("[b]Tidings[/b] — log in or create an account", classes="hint")
            yield Input(app.default_server, placeholder="server URL", id="server")
            yield Input(placeholder="username", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield Input(app.passphrase or "", placeholder="key store passphrase "
                        "(encrypts this device's keys)", password=True, id="passphrase")
            with Horizontal(classes="buttons"):
                yield Button("Log in", id="login", variant="primary")
                yield Button("Register", id="register")
            yield Static(f"profile: {app.profile_dir}", classes="hint")
            yield Static(id="error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    @property
    def tapp(self) -> TidingsApp:
        from tidings.tui.app import TidingsApp

        assert isinstance(self.app, TidingsApp)
        return self.app

    def value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    @on(Button.Pressed, "#login")
    def _login(self) -> None:
        self.sign_in(register=False)

    @on(Button.Pressed, "#register")
    def _register(self) -> None:
        self.sign_in(register=True)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.sign_in(register=False)

    @work(exclusive=True, group="login")
    async def sign_in(self, *, register: bool) -> None:
        error = self.query_one("#error", Static)
        server, user = self.value("server"), self.value("username")
        password = self.query_one("#password", Input).value
        passphrase = self.query_one("#passphrase", Input).value
        if not (server and user and password and passphrase):
            error.update("server, username, password and passphrase are all needed")
            return
        error.update("registering…" if register else "logging in…")
        try:
            session = await Session.sign_in(server, self.tapp.profile_dir, user, password,
                                            passphrase, register=register)
        except (TidingsError, CryptoError) as exc:
            error.update(f"{exc.message} [{exc.code}]")
            return
        self.tapp.begin(session)
