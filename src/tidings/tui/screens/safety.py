"""The safety number with a contact, to compare in person or over another channel."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tidings.client.formatting import fingerprint
from tidings.crypto import format_safety_number
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import DeviceKeys
from tidings.tui.screens.new_chat import MODAL_CSS
from tidings.tui.session import Session

GROUPS_PER_ROW = 4


def number_rows(number: str) -> str:
    """60 digits as three rows of four groups of five, as Signal shows them."""
    groups = format_safety_number(number).split(" ")
    return "\n".join("  ".join(groups[i:i + GROUPS_PER_ROW])
                     for i in range(0, len(groups), GROUPS_PER_ROW))


class SafetyScreen(ModalScreen[None]):
    DEFAULT_CSS = MODAL_CSS + """
    SafetyScreen { align: center middle; }
    #number { text-style: bold; margin: 1 4; height: 3; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, session: Session, user: str) -> None:
        super().__init__()
        self.session = session
        self.user = user
        self.number = ""
        self.devices: dict[str, DeviceKeys] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Safety number with [b]{self.user}[/b]", classes="hint")
            yield Static("looking up keys…", id="number")
            yield Static(id="devices", classes="hint", markup=False)
            yield Static(f"Compare with what {self.user} sees (in person, or over a call you "
                         "trust). The same on both sides means no one is in between. It "
                         "changes whenever either of you adds or removes a device.",
                         classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("They match: mark verified", id="mark", variant="success",
                             disabled=True)
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="safety")
    async def load(self) -> None:
        try:
            self.number, self.devices = await self.session.safety(self.user)
        except TidingsError as exc:
            self.query_one("#number", Static).update(f"{exc.message} [{exc.code}]")
            return
        self.query_one("#number", Static).update(number_rows(self.number))
        self.query_one("#devices", Static).update("\n".join(
            f"{self.user}'s device {d}: {fingerprint(r.ed25519)}"
            for d, r in sorted(self.devices.items())))
        self.query_one("#mark", Button).disabled = False

    @on(Button.Pressed, "#mark")
    def _mark(self) -> None:
        self.session.mark_verified(self.user, self.devices)
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
