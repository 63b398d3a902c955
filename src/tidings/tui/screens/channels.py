"""Browse and search public channels; follow one or read its history first."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tidings.protocol.errors import TidingsError
from tidings.tui.screens.new_chat import MODAL_CSS
from tidings.tui.session import Session


def result_row(channel: dict[str, Any]) -> Text:
    text = Text(f"@{channel['handle']}", style="bold")
    text.append(f"  {channel['title']}")
    text.append(f"  · {channel['subscriber_count']} subscribers", style="dim")
    if channel.get("description"):
        text.append(f"\n  {channel['description']}", style="dim")
    return text


class ChannelsScreen(ModalScreen[str | None]):
    """Dismisses with the key of the channel to open, or None."""

    DEFAULT_CSS = MODAL_CSS + """
    ChannelsScreen { align: center middle; }
    #results { height: 12; border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.found: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Public channels: search by handle, title or description",
                         classes="hint")
            yield Input(placeholder="search, then Enter", id="query")
            yield OptionList(id="results")
            with Horizontal(classes="buttons"):
                yield Button("Follow", id="follow", variant="primary")
                yield Button("Read without following", id="read")
            yield Static(id="error", classes="hint")

    @on(Input.Submitted, "#query")
    def _search(self, event: Input.Submitted) -> None:
        self.search(event.value.strip())

    @work(exclusive=True, group="search")
    async def search(self, query: str) -> None:
        results = self.query_one("#results", OptionList)
        error = self.query_one("#error", Static)
        if not query:
            return
        try:
            self.found = await self.session.search_channels(query)
        except TidingsError as exc:
            error.update(f"{exc.message} [{exc.code}]")
            return
        results.clear_options()
        results.add_options(Option(result_row(c), id=str(c["handle"])) for c in self.found)
        error.update(f"{len(self.found)} found" if self.found else "nothing found")
        if self.found:
            results.highlighted = 0
            results.focus()

    def picked(self) -> str | None:
        option = self.query_one("#results", OptionList).highlighted_option
        return option.id if option is not None else None

    @on(OptionList.OptionSelected, "#results")
    @on(Button.Pressed, "#follow")
    def _follow(self) -> None:
        self.take(follow=True)

    @on(Button.Pressed, "#read")
    def _read(self) -> None:
        self.take(follow=False)

    @work(exclusive=True, group="take")
    async def take(self, *, follow: bool) -> None:
        handle = self.picked()
        if handle is None:
            self.query_one("#error", Static).update("search and pick a channel first")
            return
        try:
            key = (await self.session.subscribe(handle) if follow
                   else await self.session.open_channel(handle, followed=False))
        except TidingsError as exc:
            self.query_one("#error", Static).update(f"{exc.message} [{exc.code}]")
            return
        self.dismiss(key)
