"""Message requests, group invitations and the block list (issue 20), on one screen.

A request is a first message from someone you never wrote to: it is shown here, apart
from the chats, as plain text (no markup, no clickable links, control characters shown
as ``\\uXXXX``), and nothing goes back to the sender (no receipts, no typing) until it is
accepted. Invitations name only who invited you: nothing of a group reaches you until
you join. The server enforces both; this screen only answers them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from tidings.protocol.errors import TidingsError
from tidings.protocol.safe_text import safe_line
from tidings.tui.screens.new_chat import MODAL_CSS
from tidings.tui.session import Session
from tidings.tui.state import Line

PREVIEW_CHARS = 120
Op = Callable[[str], Awaitable[Any]]
Done = Callable[[str, Any], str]


def request_row(user: str, lines: list[Line]) -> Text:
    text = Text(user, style="bold")
    count = f"{len(lines)} message{'s' if len(lines) != 1 else ''}" if lines else \
        "no message on this device"
    text.append(f"  · {count}", style="dim")
    if lines:
        text.append(f"\n  {safe_line(lines[-1].text)[:PREVIEW_CHARS]}")
    return text


class RequestsScreen(ModalScreen[None]):
    DEFAULT_CSS = MODAL_CSS + """
    RequestsScreen { align: center middle; }
    RequestsScreen .dialog { width: 90; }
    #requests { height: 7; border: round $primary; }
    #invitations, #blocked { height: 4; border: round $primary; }
    RequestsScreen .buttons { margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static("Message requests: they get no receipts until you accept. "
                         "Links are not clickable.", classes="hint")
            yield OptionList(id="requests")
            with Horizontal(classes="buttons"):
                yield Button("Accept", id="accept", variant="primary", compact=True)
                yield Button("Delete", id="delete", compact=True)
                yield Button("Report and block", id="report-block", variant="error", compact=True)
            yield Static("Group invitations: nothing of a group reaches you until you join. "
                         "Refusing is silent.", classes="hint")
            yield OptionList(id="invitations")
            with Horizontal(classes="buttons"):
                yield Button("Join", id="join", variant="primary", compact=True)
                yield Button("Refuse", id="refuse", compact=True)
            yield Static("Blocked (F12 in a chat): nothing of theirs reaches you; they are "
                         "not told.", classes="hint")
            yield OptionList(id="blocked")
            with Horizontal(classes="buttons"):
                yield Button("Unblock", id="unblock", compact=True)
            yield Static("Esc to go back", id="error", classes="hint")

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#requests", OptionList).focus()
        self.load_blocked()

    @work(group="blocked")
    async def load_blocked(self) -> None:
        try:
            await self.session.refresh_blocked()
        except TidingsError as exc:
            self.say(f"{exc.message} [{exc.code}]")
        self.refresh_view()

    def refresh_view(self) -> None:
        """Re-list from the session's book (the app calls this when the stream brings
        a request or an invitation)."""
        book = self.session.book
        self._fill("#requests", [Option(request_row(user, lines), id=user)
                                 for user, lines in sorted(book.requests.items())],
                   "no message requests")
        self._fill("#invitations", [
            Option(Text.assemble((safe_line(by), "bold"), f" invited you to a group ({gid})"),
                   id=gid) for gid, by in sorted(book.invitations.items())],
                   "no group invitations")
        self._fill("#blocked", [Option(Text(safe_line(user)), id=user)
                                for user in sorted(book.blocked)], "nobody is blocked")

    def _fill(self, selector: str, options: list[Option], empty: str) -> None:
        widget = self.query_one(selector, OptionList)
        keep = widget.highlighted_option.id if widget.highlighted_option is not None else None
        widget.clear_options()
        if not options:
            widget.add_option(Option(Text(empty, style="dim italic"), disabled=True))
            return
        widget.add_options(options)
        ids = [o.id for o in options]
        widget.highlighted = ids.index(keep) if keep in ids else 0

    def picked(self, selector: str) -> str | None:
        option = self.query_one(selector, OptionList).highlighted_option
        return option.id if option is not None and not option.disabled else None

    def say(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        s = self.session
        actions: dict[str, tuple[str, Op, Done]] = {
            "accept": ("#requests", s.accept_request,
                       lambda who, _: f"accepted {who}: the chat is in the list"),
            "delete": ("#requests", s.delete_request,
                       lambda who, n: f"deleted the request from {who} ({n} messages)"),
            "report-block": ("#requests", s.report_and_block, lambda who, reports: (
                f"reported {len(reports)} message(s) from {who} "
                f"({sum(1 for r in reports if r.get('verified'))} verified) and blocked them")),
            "join": ("#invitations", s.accept_invitation, lambda gid, _: f"joined group {gid}"),
            "refuse": ("#invitations", s.decline_invitation,
                       lambda gid, _: f"refused the invitation to {gid} (nobody is told)"),
            "unblock": ("#blocked", s.unblock, lambda who, _: f"unblocked {who}"),
        }
        if event.button.id in actions:
            self.act(*actions[event.button.id])

    @work(exclusive=True, group="act")
    async def act(self, selector: str, op: Op, done: Done) -> None:
        target = self.picked(selector)
        if target is None:
            self.say("pick one first (↑/↓ in its list)")
            return
        try:
            result = await op(target)
        except TidingsError as exc:
            self.say(f"{exc.message} [{exc.code}]")
            return
        self.say(done(safe_line(target), result) + " · Esc to go back")
        self._refresh_all()

    def _refresh_all(self) -> None:
        from tidings.tui.app import TidingsApp

        if isinstance(self.app, TidingsApp):
            self.app.refresh_screens()
