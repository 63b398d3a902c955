"""The chat screen: conversation list, chat view, composer, banner and status line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static

from tidings.client.verification import verified_devices
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError
from tidings.protocol.safe_text import safe_line, safe_text
from tidings.tui.session import Session
from tidings.tui.state import REQUESTS_KEY, Kind
from tidings.tui.widgets.banner import DeviceBanner
from tidings.tui.widgets.conversation_list import ConversationList
from tidings.tui.widgets.message_list import MessageList

if TYPE_CHECKING:
    from tidings.tui.app import TidingsApp


PICK = "Pick a conversation, or F2 to start one (F11: requests and blocks)"


class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    #top { height: 1; background: $primary; color: $text; padding: 0 1; }
    #sidebar { width: 32; border-right: solid $primary; }
    #sidebar-title, #chat-title { height: 1; padding: 0 1; text-style: bold; }
    #conversations { height: 1fr; border: none; }
    #messages { height: 1fr; border: none; }
    #composer { dock: bottom; }
    #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "new_chat", "Chat"),
        Binding("f3", "new_group", "Group"),
        Binding("f4", "channels", "Channels"),
        Binding("f5", "safety", "Safety no."),
        Binding("f6", "sas", "Emoji verify"),
        Binding("f7", "send_file", "File"),
        Binding("f8", "report", "Report"),
        Binding("f9", "dismiss_banner", "Hide banner", show=False),
        Binding("f10", "unsubscribe", "Unfollow", show=False),
        Binding("f11", "requests", "Requests", show=False),
        Binding("f12", "block", "Block", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    @property
    def tapp(self) -> TidingsApp:
        from tidings.tui.app import TidingsApp

        assert isinstance(self.app, TidingsApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(id="top")
        with Horizontal():
            with Vertical(id="sidebar"):
                yield Static("Conversations", id="sidebar-title")
                yield ConversationList(id="conversations")
            with Vertical(id="chat"):
                yield DeviceBanner(id="banner")
                yield Static(PICK, id="chat-title")
                yield MessageList(self.tapp.time_text, id="messages")
                yield Input(placeholder="Write a message, Enter sends", id="composer")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one(ConversationList).focus()

    # -- rendering --------------------------------------------------------------------
    def refresh_view(self) -> None:
        book = self.session.book
        state = self.tapp.stream_state
        unread = f" · {book.unread} unread" if book.unread else ""
        self.query_one("#top", Static).update(f"Tidings · {book.me} · {state}{unread}")
        self.query_one(ConversationList).show(book)
        conv = book.conversations.get(book.active) if book.active else None
        self.query_one(MessageList).show(conv)
        self.query_one(DeviceBanner).show(conv)
        title = PICK
        if conv is not None:
            title = conv.title
            if conv.kind is Kind.PERSON:
                title += " · end-to-end encrypted" + (
                    " · verified ✓" if self._verified(conv.ref) else "") + (
                    " · blocked (F12 to unblock)" if conv.ref in book.blocked else "")
            elif conv.kind is Kind.GROUP:
                title += " · group, end-to-end encrypted"
            else:
                title += " · public channel" + ("" if conv.followed else
                                                " (not followed: F4 to follow)")
        # Titles and names are other people's text: plain Text, never markup.
        self.query_one("#chat-title", Static).update(Text(safe_line(title)))

    def _verified(self, user: str) -> bool:
        done = verified_devices(self.session.m, user)
        pinned = self.session.m.crypto.peers.get(user, {})
        return bool(done) and set(pinned) <= set(done)

    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(safe_text(text)))

    # -- opening and sending ----------------------------------------------------------
    @on(OptionList.OptionSelected, "#conversations")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == REQUESTS_KEY:
            self.action_requests()
        elif event.option.id is not None:
            self.open(event.option.id)

    def open(self, key: str) -> None:
        conv = self.session.book.open(key)
        self.session.mark_read(key)
        self.refresh_view()
        self.query_one("#composer", Input).focus()
        if conv.kind is Kind.PERSON:
            self.run_worker(self.tapp.check_active_devices(), group="devices")

    @on(Input.Submitted, "#composer")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        key = self.session.book.active
        if not text or key is None:
            return
        event.input.value = ""
        self.send(key, text)

    @work(group="send")
    async def send(self, key: str, text: str | None = None, path: Path | None = None) -> None:
        async def go() -> None:
            if path is not None:
                await self.session.send_file(key, path)
            else:
                await self.session.send_text(key, text or "")
            self.session.collect_changes()
            self.status("sent")

        await self.guard(go())

    async def guard(self, coro: Any) -> bool:
        """Run a client call; a typed error becomes a status line, not a crash."""
        try:
            await coro
            return True
        except (TidingsError, CryptoError) as exc:
            self.status(f"error ({exc.code}): {exc.message}")
            self.notify(safe_text(exc.message), title=exc.code, severity="error",
                        markup=False)
            return False
        except OSError as exc:
            self.status(f"error: {exc}")
            return False
        finally:
            self.refresh_view()

    def active(self, *kinds: Kind) -> str | None:
        key = self.session.book.active
        conv = self.session.book.conversations.get(key) if key else None
        if conv is None or (kinds and conv.kind not in kinds):
            what = " or ".join(k.value for k in kinds) if kinds else "conversation"
            self.status(f"open a {what} first")
            return None
        return conv.key

    # -- actions ----------------------------------------------------------------------
    def action_new_chat(self) -> None:
        from tidings.tui.screens.new_chat import NewChatScreen

        def done(user: str | None) -> None:
            if user:
                self.session.book.ensure(user, Kind.PERSON)
                self.open(user)

        self.app.push_screen(NewChatScreen(), done)

    def action_new_group(self) -> None:
        from tidings.tui.screens.new_group import NewGroupScreen

        def done(spec: tuple[str, list[str]] | None) -> None:
            if spec is not None:
                self.create_group(spec)

        self.app.push_screen(NewGroupScreen(), done)

    @work(group="group")
    async def create_group(self, spec: tuple[str, list[str]]) -> None:
        created: list[str] = []

        async def go() -> None:
            created.append(await self.session.create_group(*spec))
            self.status(f"created group {spec[0]}")

        if await self.guard(go()):
            self.open(created[0])

    def action_requests(self) -> None:
        from tidings.tui.screens.requests import RequestsScreen

        self.app.push_screen(RequestsScreen(self.session), lambda _: self.refresh_view())

    @work(group="block")
    async def action_block(self) -> None:
        """Block the open chat's person (F12), or unblock them if they are blocked."""
        key = self.active(Kind.PERSON)
        if key is None:
            return
        user = self.session.book.conversations[key].ref
        if user in self.session.book.blocked:
            if await self.guard(self.session.unblock(user)):
                self.status(f"unblocked {user}: their next message is a request again")
        elif await self.guard(self.session.block(user)):
            self.status(f"blocked {user}: nothing of theirs reaches you, and they are not "
                        "told (F12 again to unblock)")

    def action_channels(self) -> None:
        from tidings.tui.screens.channels import ChannelsScreen

        def done(key: str | None) -> None:
            if key:
                self.open(key)

        self.app.push_screen(ChannelsScreen(self.session), done)

    def action_send_file(self) -> None:
        from tidings.tui.screens.send_file import SendFileScreen

        key = self.active(Kind.PERSON, Kind.GROUP)
        if key is None:
            return

        def done(path: Path | None) -> None:
            if path is not None:
                self.send(key, path=path)

        self.app.push_screen(SendFileScreen(), done)

    def action_report(self) -> None:
        from tidings.tui.screens.report import ReportScreen

        key = self.active()
        if key is None:
            return
        conv = self.session.book.conversations[key]
        line_id = self.query_one(MessageList).highlighted_line_id()
        line = next((x for x in conv.lines if x.id == line_id), None)
        if line is None:
            self.status("pick a message first: Tab to the messages, then ↑/↓")
            return
        if not line.reportable:
            self.status("only messages you received and channel posts can be reported")
            return
        self.app.push_screen(ReportScreen(self.session, conv, line), self.status_result)

    def status_result(self, text: str | None) -> None:
        if text:
            self.status(text)
        self.refresh_view()

    def action_safety(self) -> None:
        from tidings.tui.screens.safety import SafetyScreen

        key = self.active(Kind.PERSON)
        if key is not None:
            self.app.push_screen(SafetyScreen(self.session, self.session.book.conversations[key]
                                              .ref), lambda _: self.refresh_view())

    def action_sas(self) -> None:
        from tidings.tui.screens.sas import SasScreen

        key = self.active(Kind.PERSON)
        if key is not None:
            self.app.push_screen(SasScreen(self.session, self.session.book.conversations[key]
                                           .ref), self.status_result)

    def action_dismiss_banner(self) -> None:
        key = self.active(Kind.PERSON)
        if key is not None:
            self.session.dismiss_change(self.session.book.conversations[key].ref)
            self.refresh_view()

    @work(group="channel")
    async def action_unsubscribe(self) -> None:
        key = self.active(Kind.CHANNEL)
        if key is not None and await self.guard(self.session.unsubscribe(key)):
            self.status(f"unfollowed {key.split(':', 1)[1]}")
