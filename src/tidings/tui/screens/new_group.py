"""Create a private group: a title and its first members."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tidings.tui.screens.new_chat import MODAL_CSS


class NewGroupScreen(ModalScreen[tuple[str, list[str]] | None]):
    DEFAULT_CSS = MODAL_CSS + "NewGroupScreen { align: center middle; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New group (end-to-end encrypted, you are its admin)", classes="hint")
            yield Input(placeholder="title", id="title")
            yield Input(placeholder="members, separated by commas or spaces", id="members")
            yield Button("Create", id="create", variant="primary")
            yield Static(id="error", classes="hint")

    @on(Button.Pressed, "#create")
    @on(Input.Submitted, "#members")
    def _create(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        raw = self.query_one("#members", Input).value.replace(",", " ")
        members = [m.strip().lower() for m in raw.split() if m.strip()]
        if not title or not members:
            self.query_one("#error", Static).update("a title and at least one member")
            return
        self.dismiss((title, members))
