"""Ask for a username to chat with."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

MODAL_CSS = """
.dialog { width: 76; height: auto; max-height: 90%; border: thick $primary; padding: 1 2;
          background: $surface; }
.dialog Input { margin-bottom: 1; }
.dialog .hint { color: $text-muted; height: auto; }
.dialog .buttons { height: auto; margin-top: 1; }
.dialog .buttons Button { margin-right: 2; }
"""


class NewChatScreen(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS + "NewChatScreen { align: center middle; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Chat with (username):", classes="hint")
            yield Input(placeholder="username", id="user")

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lower() or None)
