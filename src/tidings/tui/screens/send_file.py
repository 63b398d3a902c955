"""Pick a file to send, encrypted, as an attachment."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tidings.tui.screens.new_chat import MODAL_CSS


class SendFileScreen(ModalScreen[Path | None]):
    DEFAULT_CSS = MODAL_CSS + "SendFileScreen { align: center middle; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Send a file (encrypted on this device; the server gets only "
                         "ciphertext)", classes="hint")
            yield Input(placeholder="path to the file", id="path")
            yield Static(id="error", classes="hint")

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if not path.is_file():
            self.query_one("#error", Static).update(f"no such file: {path}")
            return
        self.dismiss(path)
