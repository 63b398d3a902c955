"""Report a received private message (franked, with context) or a channel post."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from tidings.protocol import limits
from tidings.protocol.errors import TidingsError
from tidings.tui.screens.new_chat import MODAL_CSS
from tidings.tui.session import Session
from tidings.tui.state import Conversation, Kind, Line

CATEGORIES = ("harassment", "spam", "illegal", "terrorist_content", "violent_extremism",
              "impersonation", "other")
"""The server's report categories (services/reports.py ``CATEGORIES``)."""
DEFAULT_CONTEXT = 2


class ReportScreen(ModalScreen[str | None]):
    """Dismisses with a line for the status bar once the server took the report."""

    DEFAULT_CSS = MODAL_CSS + "ReportScreen { align: center middle; } #quote { margin: 1 0; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, session: Session, conv: Conversation, line: Line) -> None:
        super().__init__()
        self.session = session
        self.conv = conv
        self.line = line

    @property
    def is_message(self) -> bool:
        return self.conv.kind is not Kind.CHANNEL

    def compose(self) -> ComposeResult:
        what = "message" if self.is_message else "post"
        with Vertical(classes="dialog"):
            yield Static(f"Report this {what} to the moderators", classes="hint")
            yield Static(f"[b]{self.line.sender}[/b]: {self.line.text}", id="quote",
                         markup=False)
            yield Select([(c.replace("_", " "), c) for c in CATEGORIES], value="harassment",
                         allow_blank=False, id="category")
            yield Input(placeholder="why (optional)", id="explanation")
            if self.is_message:
                yield Static(f"Earlier messages sent as context (0-{limits.REPORT_CONTEXT_MAX}); "
                             "the server checks every one against its franking tag, so the "
                             "report is verified as really sent", classes="hint")
                yield Input(str(DEFAULT_CONTEXT), id="context", type="integer")
            with Horizontal(classes="buttons"):
                yield Button("Send report", id="send", variant="error")
                yield Button("Cancel", id="cancel")
            yield Static(id="error", classes="hint")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#send")
    def _send(self) -> None:
        self.send()

    @work(exclusive=True, group="report")
    async def send(self) -> None:
        category = str(self.query_one("#category", Select).value)
        explanation = (self.query_one("#explanation", Input).value.strip()
                       or "Reported from the terminal client.")
        context = 0
        if self.is_message:
            raw = self.query_one("#context", Input).value.strip()
            context = max(0, min(int(raw) if raw.isdigit() else 0, limits.REPORT_CONTEXT_MAX))
        try:
            ack = await self.session.report(self.conv.key, self.line.id, category,
                                            explanation, context)
        except TidingsError as exc:
            self.query_one("#error", Static).update(f"{exc.message} [{exc.code}]")
            return
        verified = " (verified)" if ack.get("verified") else ""
        self.dismiss(f"report {ack['id']} received{verified}; case {ack['case_id']}")
