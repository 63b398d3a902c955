"""The sidebar: requests waiting (one entry), people and groups by latest activity, then
followed channels."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tidings.protocol.safe_text import safe_line
from tidings.tui.state import REQUESTS_KEY, Book, Conversation, Kind

MARKS = {Kind.PERSON: "@", Kind.GROUP: "#", Kind.CHANNEL: "»", Kind.SYSTEM: "!"}
"""A one-cell mark per kind (emoji widths differ between terminals)."""


def label(conv: Conversation, blocked: frozenset[str] | set[str] = frozenset()) -> Text:
    text = Text(f"{MARKS[conv.kind]} ", style="dim")
    text.append(safe_line(conv.title), style="bold" if conv.unread else "")
    if conv.kind is Kind.CHANNEL and not conv.followed:
        text.append(" (preview)", style="dim italic")
    if conv.kind is Kind.PERSON and conv.key in blocked:
        text.append(" (blocked)", style="dim italic")
    if conv.change is not None:
        text.append(" ⚠", style="bold yellow")
    if conv.unread:
        text.append(f" ({conv.unread})", style="bold reverse")
    return text


class ConversationList(OptionList):
    """Options are keyed by conversation key; Enter or a click opens one."""

    def show(self, book: Book) -> None:
        keep = self.highlighted_option.id if self.highlighted_option is not None else book.active
        self.clear_options()
        if book.pending:  # message requests and invitations: one entry, opens F11's screen
            entry = Text("+ Requests", style="bold")
            entry.append(f" ({book.pending})", style="bold reverse")
            self.add_option(Option(entry, id=REQUESTS_KEY))
        for conv in book.ordered():
            self.add_option(Option(label(conv, book.blocked), id=conv.key))
        if keep is not None and (keep in book.conversations
                                 or (keep == REQUESTS_KEY and book.pending)):
            self.highlighted = self.get_option_index(keep)

    def unread_of(self, key: str) -> int:
        """The count shown for ``key`` (0 if none): what a person sees in the list."""
        prompt = str(self.get_option(key).prompt)
        if not prompt.endswith(")") or " (" not in prompt:
            return 0
        tail = prompt.rsplit(" (", 1)[1][:-1]
        return int(tail) if tail.isdigit() else 0
