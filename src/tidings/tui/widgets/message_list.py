"""The chat view: one row per message or post; a highlighted row can be reported."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tidings.protocol.safe_text import safe_line, safe_text
from tidings.tui.state import Conversation, Line

TimeText = Callable[[int], str]


def row(line: Line, time_text: TimeText) -> Text:
    """Plain ``Text``, never markup; names and bodies made safe (protocol/safe_text.py)."""
    text = Text(f"{time_text(line.ts)} ", style="dim")
    text.append(safe_line(line.sender), style="bold green" if line.mine else "bold cyan")
    text.append(": ")
    text.append(safe_text(line.text), style="red" if line.error else "")
    return text


class MessageList(OptionList):
    def __init__(self, time_text: TimeText, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.time_text = time_text
        self.shown: str | None = None
        self.line_ids: list[str] = []

    def show(self, conv: Conversation | None) -> None:
        """Re-render; keeps the highlighted row, or follows the newest one."""
        ids = [x.id for x in conv.lines] if conv is not None else []
        key = conv.key if conv is not None else None
        if key == self.shown and ids == self.line_ids:
            return
        following = (self.highlighted is None or key != self.shown
                     or self.highlighted >= len(self.line_ids) - 1)
        keep = self.highlighted_line_id() if key == self.shown else None
        self.clear_options()
        self.shown, self.line_ids = key, ids
        if conv is None:
            return
        self.add_options(Option(row(x, self.time_text), id=f"m{i}")
                         for i, x in enumerate(conv.lines))
        if keep is not None and keep in ids and not following:
            self.highlighted = ids.index(keep)
        self.scroll_end(animate=False)

    def highlighted_line_id(self) -> str | None:
        if self.highlighted is None or self.highlighted >= len(self.line_ids):
            return None
        return self.line_ids[self.highlighted]

    def texts(self) -> list[str]:
        """The rows as plain text, oldest first."""
        return [str(self.get_option_at_index(i).prompt) for i in range(self.option_count)]
