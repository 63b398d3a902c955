"""One logged-in device as the chat client uses it: the SDK and the E2EE client layer.

Everything that talks to the server or the key store goes through the client layer
(``client/messaging.py``, ``groups.py``, ``attachments.py``, ``verification.py``,
``report_requests.py``); this module only decides what the screens see (``state.Book``).
Messages this device sent are kept, with the received ones, in the encrypted key store
(``settings["sent"]``), and so are the read markers behind the unread counts
(``settings["read"]``), so a restart shows the same conversations.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

from tidings.client import privacy_requests as prq
from tidings.client import report_requests as rr
from tidings.client.attachments import file_content
from tidings.client.e2ee import Received
from tidings.client.groups import Groups, my_groups
from tidings.client.messaging import Inbox, Messenger, Undecryptable, enroll
from tidings.client.privacy import Privacy
from tidings.client.profile import ProfileError
from tidings.client.sdk import TidingsClient
from tidings.client.verification import mark_verified, safety
from tidings.protocol import limits
from tidings.protocol.errors import Forbidden, TidingsError
from tidings.protocol.keys import DeviceKeys, b64decode
from tidings.protocol.payload import MessageContent
from tidings.tui.state import (
    NOTICES_KEY,
    REQUESTS_KEY,
    Book,
    DeviceChange,
    Kind,
    Line,
    channel_key,
    group_key,
    person_key,
)

CHANNEL_PAGE = 50
"""Posts read when a channel is opened (the API's page limit is 100)."""
SHOWN_KINDS = frozenset({"text", "file"})


def device_name() -> str:
    return f"tui@{socket.gethostname()}"[:64]


def line_text(content: MessageContent) -> str:
    if content.kind == "file":
        return f"📎 {content.body.get('name') or 'a file'}"
    value = content.body.get("text")
    return value if isinstance(value, str) else ""


def peer_of(me: str, sender: str, conversation: str) -> str:
    """The conversation key of a message: the group, or the other person."""
    if conversation.startswith("group:"):
        return conversation
    return person_key(conversation if sender == me else sender)


class Session:
    def __init__(self, messenger: Messenger) -> None:
        self.m = messenger
        self.groups = Groups(messenger)
        self.privacy = Privacy(messenger)
        self.book = Book(messenger.user)
        self.known: dict[str, set[str]] = {
            user: set(devices) for user, devices in messenger.crypto.peers.items()
            if user != messenger.user}
        """Each contact's device ids as last shown: a difference raises the banner."""

    # -- getting a session ------------------------------------------------------------
    @classmethod
    async def sign_in(cls, server: str, profile_dir: Path, username: str, password: str,
                      passphrase: str, *, register: bool) -> Session:
        """Register or log in as a new device, create and publish its keys (as the CLI)."""
        client = TidingsClient(server, profile_dir=profile_dir)
        try:
            if register:
                await client.register(username, password, device_name())
            else:
                await client.login(username, password, device_name())
            return cls(await enroll(client, passphrase))
        except BaseException:
            await client.close()
            raise

    @classmethod
    async def unlock(cls, profile_dir: Path, server: str | None, passphrase: str) -> Session:
        """Open the profile the CLI logged in (``WrongPassphraseError`` if wrong)."""
        client = TidingsClient.from_profile(profile_dir, server)
        try:
            return cls(Messenger.open(client, passphrase))
        except BaseException:
            await client.close()
            raise

    @property
    def user(self) -> str:
        return self.m.user

    @property
    def client(self) -> TidingsClient:
        return self.m.client

    async def close(self) -> None:
        self.save()
        await self.client.close()

    def save(self) -> None:
        self.m.save()

    @property
    def settings(self) -> dict[str, Any]:
        return self.m.crypto.settings

    # -- loading ----------------------------------------------------------------------
    async def load(self) -> None:
        """Groups, followed channels and the kept history, with unread counts."""
        read = self.settings.get("read", {})
        pending: set[str] | None = None
        try:
            await self.load_privacy()
            pending = set(self.book.requests)
        except TidingsError:  # offline: the kept flags decide (the calls below raise too)
            pass
        for item in self.m.crypto.inbox:
            content = MessageContent.from_bytes(_payload(item))
            sender = str(item["from"])
            if content.kind not in SHOWN_KINDS or (item.get("request")
                                                     and sender in self.book.blocked):
                continue
            if item.get("request") and (pending is None or sender in pending):
                self.book.add_request(sender, Line(
                    str(item["id"]), sender, int(item["ts"]), line_text(content),
                    reportable=True))
            else:
                key = peer_of(self.user, str(item["from"]), str(item["conversation"]))
                kind = Kind.GROUP if key.startswith("group:") else Kind.PERSON
                self.book.add(key, kind, Line(str(item["id"]), str(item["from"]), int(item["ts"]),
                                              line_text(content), mine=item["from"] == self.user,
                                              reportable=item["from"] != self.user),
                              unread=int(item["ts"]) > int(read.get(key, 0)))
        for sent in self.settings.get("sent", []):
            key = str(sent["key"])
            kind = Kind.GROUP if key.startswith("group:") else Kind.PERSON
            self.book.add(key, kind, Line(str(sent["id"]), self.user, int(sent["ts"]),
                                          str(sent["text"]), mine=True), unread=False)
        await self.refresh_groups()
        await self.load_notices()
        for channel in await self.client.subscriptions():
            handle, title = str(channel["handle"]), str(channel["title"])
            try:
                await self.open_channel(handle, followed=True, title=title, mark=False)
            except TidingsError:  # e.g. removed since (410): listed, without posts
                self.book.ensure(channel_key(handle), Kind.CHANNEL, title)

    async def load_privacy(self) -> None:
        """Pending message requests and invitations, and the block list, as the server
        keeps them (a request accepted on another device is a chat here too)."""
        self.book.blocked = {str(r["user"]) for r in await self.privacy.blocked()}
        requests = (await self.client.call(prq.message_requests()))["requests"]
        self.book.requests = {str(r["user"]): self.book.requests.get(str(r["user"]), [])
                              for r in requests}
        self.book.invitations = {str(i["group"]): str(i["by"])
                                 for i in await self.privacy.invitations()}

    def add_notice(self, body: dict[str, Any]) -> bool:
        """A system-inbox notice as a line of the read-only notices conversation."""
        self.book.ensure(NOTICES_KEY, Kind.SYSTEM, "Tidings notices")
        return self.book.add(NOTICES_KEY, Kind.SYSTEM, Line(
            f"notice-{body.get('id')}", "Tidings", int(body.get("ts") or 0), notice_text(body)))

    async def load_notices(self) -> None:
        """The inbox as the server keeps it (notices that came while offline)."""
        read = self.settings.get("read", {}).get(NOTICES_KEY, 0)
        for body in reversed(await self.client.call(rr.notices())):
            self.book.add(NOTICES_KEY, Kind.SYSTEM, Line(
                f"notice-{body.get('id')}", "Tidings", int(body.get("ts") or 0),
                notice_text(body)), unread=int(body.get("ts") or 0) > int(read))
        if NOTICES_KEY in self.book.conversations:
            self.book.conversations[NOTICES_KEY].title = "Tidings notices"

    async def refresh_groups(self) -> None:
        for g in (await self.client.call(my_groups()))["groups"]:
            self.book.ensure(group_key(str(g["id"])), Kind.GROUP, str(g["title"]))

    def mark_read(self, key: str) -> None:
        """Remember what was seen (saved with the next key store write)."""
        conv = self.book.conversations.get(key)
        if conv is not None and conv.lines:
            self.settings.setdefault("read", {})[key] = conv.last_ts

    # -- receiving --------------------------------------------------------------------
    def absorb(self, inbox: Inbox) -> set[str]:
        """Put what the stream brought into the book; the conversation keys touched."""
        touched: set[str] = set()
        for item in inbox.items:
            if isinstance(item, Undecryptable):
                key = person_key(item.sender)
                error = Line(item.id, item.sender, _now_ms(),
                             f"could not decrypt ({item.code}); asked to re-key", error=True)
                if key in self.book.requests:  # not a chat until the request is accepted
                    self.book.add_request(key, error)
                    key = REQUESTS_KEY
                else:
                    self.book.add(key, Kind.PERSON, error)
            elif item.content.kind in SHOWN_KINDS and item.request:
                if item.sender not in self.book.blocked:
                    self.book.add_request(item.sender, _line(item, self.user))
                key = REQUESTS_KEY
            elif item.content.kind in SHOWN_KINDS:
                key = peer_of(self.user, item.sender, item.conversation)
                kind = Kind.GROUP if key.startswith("group:") else Kind.PERSON
                if key == item.sender and key in self.book.requests:
                    self.book.accept_request(key)  # accepted on another device
                self.book.add(key, kind, _line(item, self.user))
            else:
                continue
            touched.add(key)
        for body in inbox.system:
            if self.add_notice(body):
                touched.add(NOTICES_KEY)
        for notice in inbox.notices:
            gid = str(notice.get("group"))
            if notice.get("event") == "invited":  # issue 20: an invitation, not membership
                if str(notice.get("by")) not in self.book.blocked:
                    self.book.invitations[gid] = str(notice.get("by"))
                touched.add(REQUESTS_KEY)
                continue
            self.book.invitations.pop(gid, None)  # e.g. joined from another device
            if notice.get("event") in ("removed", "left") and self.user not in notice.get(
                    "members", [self.user]):
                self.book.drop(group_key(gid))
            else:
                title = notice.get("title")
                self.book.ensure(group_key(gid), Kind.GROUP,
                                 str(title) if isinstance(title, str) else None)
            touched.add(group_key(gid))
        return touched

    def absorb_post(self, frame: dict[str, Any]) -> str | None:
        """A live ``channel`` frame; the key of the followed channel it updates."""
        handle = str(frame.get("channel", ""))
        key = channel_key(handle)
        if key not in self.book.conversations:
            return None
        post = frame.get("post") or {}
        if frame.get("kind") == "delete" or post.get("state") in ("deleted", "removed"):
            self.book.remove(key, str(post.get("number")))
        elif frame.get("kind") == "edit":
            self.book.remove(key, str(post.get("number")))
            self.book.add(key, Kind.CHANNEL, _post_line(handle, post), unread=False)
        else:
            self.book.add(key, Kind.CHANNEL, _post_line(handle, post))
        return key

    # -- sending ----------------------------------------------------------------------
    async def send_text(self, key: str, text: str) -> Line:
        content = MessageContent("text", {"text": text}, _client_id(), _now_ms())
        return await self._send(key, content)

    async def send_file(self, key: str, path: Path) -> Line:
        conv = self.book.conversations[key]
        where = key if conv.kind is Kind.GROUP else conv.ref
        return await self._send(key, await file_content(self.m, path, where))

    async def _send(self, key: str, content: MessageContent) -> Line:
        conv = self.book.conversations[key]
        if conv.kind is Kind.SYSTEM:
            raise TidingsError("notices are read only; appeal with `tidings appeal CASE`",
                               "read_only")
        if conv.kind is Kind.CHANNEL:
            if content.kind != "text":
                raise TidingsError("channels take text posts here; use `tidings channel post "
                                   "--image` for media", "unsupported")
            post = await self.client.publish(conv.ref, line_text(content))
            line = _post_line(conv.ref, post)
            self.book.add(key, Kind.CHANNEL, line, unread=False)
            return line
        if conv.kind is Kind.GROUP:
            result = await self.groups.send_content(conv.ref, content)
        else:
            try:
                result = await self.m.send_content(conv.ref, content)
            except Forbidden as exc:  # writing back to a request is accepting it (the SDK's
                if exc.code != "message_request":  # send_text does the same)
                    raise
                await self.accept_request(conv.ref)
                result = await self.m.send_content(conv.ref, content)
        line = Line(str(result["id"]), self.user, int(result["ts"]), line_text(content),
                    mine=True)
        sent = self.settings.setdefault("sent", [])
        sent.append({"id": line.id, "key": key, "ts": line.ts, "text": line.text})
        del sent[:-limits.CLIENT_INBOX_KEEP]
        self.book.add(key, conv.kind, line, unread=False)
        self.mark_read(key)
        self.save()
        return line

    # -- groups -----------------------------------------------------------------------
    async def create_group(self, title: str, members: list[str]) -> str:
        result = await self.groups.create(title, members)
        key = group_key(str(result["id"]))
        self.book.ensure(key, Kind.GROUP, str(result["title"]))
        return key

    # -- message requests, invitations, blocks (issue 20) -----------------------------
    async def accept_request(self, user: str) -> str:
        """Accept ``user``'s request: their lines become a chat; receipts may flow."""
        await self.privacy.accept(user)
        return self.book.accept_request(user).key

    async def delete_request(self, user: str) -> int:
        """Delete the request and this device's copies of it; how many messages went."""
        gone = await self.privacy.delete(user)
        self.book.requests.pop(user, None)
        return gone

    async def report_and_block(self, user: str) -> list[dict[str, Any]]:
        """Report the request's messages (franked, verifiable) and block; the reports."""
        reports = await self.privacy.report_and_block(user)
        self.book.block(user)
        return reports

    async def accept_invitation(self, gid: str) -> str:
        result = await self.privacy.accept_invitation(gid)
        self.book.invitations.pop(gid, None)
        key = group_key(gid)
        self.book.ensure(key, Kind.GROUP, str(result["title"]))
        return key

    async def decline_invitation(self, gid: str) -> None:
        await self.privacy.decline_invitation(gid)
        self.book.invitations.pop(gid, None)

    async def block(self, user: str) -> None:
        await self.privacy.block(user)
        self.book.block(user)

    async def unblock(self, user: str) -> None:
        await self.privacy.unblock(user)
        self.book.blocked.discard(user)

    async def refresh_blocked(self) -> list[dict[str, Any]]:
        rows = await self.privacy.blocked()
        self.book.blocked = {str(r["user"]) for r in rows}
        return rows

    # -- channels ---------------------------------------------------------------------
    async def search_channels(self, query: str) -> list[dict[str, Any]]:
        return await self.client.search_channels(query, 20)

    async def open_channel(self, handle: str, *, followed: bool, title: str | None = None,
                           mark: bool = True) -> str:
        """Read a channel's history into the book (newest ``CHANNEL_PAGE`` posts)."""
        handle = handle.removeprefix("@")
        key = channel_key(handle)
        page = await self.client.history(handle, limit=CHANNEL_PAGE)
        known = key in self.book.conversations
        conv = self.book.ensure(key, Kind.CHANNEL, title or f"@{handle}")
        conv.followed = followed or (known and conv.followed)
        seen = int(self.settings.get("read", {}).get(key, 0))
        for post in reversed(page["posts"]):
            if post.get("state") == "visible":
                line = _post_line(handle, post)
                self.book.add(key, Kind.CHANNEL, line, unread=not mark and line.ts > seen
                              and followed)
        return key

    async def subscribe(self, handle: str) -> str:
        channel = await self.client.subscribe(handle.removeprefix("@"))
        key = await self.open_channel(str(channel["handle"]), followed=True,
                                      title=str(channel["title"]))
        self.book.conversations[key].followed = True
        return key

    async def unsubscribe(self, key: str) -> None:
        await self.client.unsubscribe(self.book.conversations[key].ref)
        self.book.drop(key)

    # -- reporting --------------------------------------------------------------------
    async def report(self, key: str, line_id: str, category: str, explanation: str,
                     context: int) -> dict[str, Any]:
        """A franked message report (with ``context`` earlier messages) or a post report."""
        conv = self.book.conversations[key]
        if conv.kind is Kind.CHANNEL:
            request = rr.post_report(conv.ref, int(line_id), category, explanation)
        else:
            request = rr.message_report(self.m.crypto.reportable(), line_id, category, explanation,
                                        context)
        result: dict[str, Any] = await self.client.call(request)
        return result

    # -- verification -----------------------------------------------------------------
    async def safety(self, user: str) -> tuple[str, dict[str, DeviceKeys]]:
        number, devices = await safety(self.m, user)
        self.collect_changes()
        return number, devices

    def mark_verified(self, user: str, devices: dict[str, DeviceKeys]) -> None:
        mark_verified(self.m, user, devices)
        self.known[user] = set(devices)
        conv = self.book.conversations.get(person_key(user))
        if conv is not None:
            conv.change = None

    def verified(self, user: str, device_id: str) -> None:
        """An emoji check of ``device_id`` passed (the client layer marked it)."""
        self.known.setdefault(user, set()).add(device_id)
        self.save()
        if set(self.m.crypto.peers.get(user, {})) <= set(
                self.settings.get("verified", {}).get(user, {})):
            self.dismiss_change(user)

    def dismiss_change(self, user: str) -> None:
        conv = self.book.conversations.get(person_key(user))
        if conv is not None:
            conv.change = None

    async def check_devices(self, user: str) -> None:
        """Look up a contact's devices now (the banner shows if they changed)."""
        try:
            await self.m.query([user])
        except TidingsError:
            return
        self.collect_changes()

    def collect_changes(self) -> list[DeviceChange]:
        """Compare contacts' device lists with what was shown; flag the differences.

        Verified contacts come from the client layer's own warnings
        (``DeviceCrypto.warnings``); others from the pinned device lists.
        """
        changes: list[DeviceChange] = []
        verified_users = set()
        for w in self.m.crypto.warnings:
            verified_users.add(w["user"])
            changes.append(DeviceChange(w["user"], tuple(w["added"]), tuple(w["removed"]),
                                        True))
        self.m.crypto.warnings.clear()
        for user, pinned in self.m.crypto.peers.items():
            now = set(pinned)
            before = self.known.get(user)
            if user == self.user or not now:
                continue
            self.known[user] = now
            if before and before != now and user not in verified_users:
                changes.append(DeviceChange(user, tuple(sorted(now - before)),
                                            tuple(sorted(before - now)), False))
        for change in changes:
            self.book.flag(change)
        return changes


def _line(item: Received, me: str) -> Line:
    return Line(item.id, item.sender, item.ts, line_text(item.content), mine=item.sender == me,
                reportable=item.sender != me)


def _post_line(handle: str, post: dict[str, Any]) -> Line:
    media = f"  [{len(post['media'])} media]" if post.get("media") else ""
    return Line(str(post["number"]), f"@{handle}", int(post.get("created_at") or 0),
                f"{post.get('text', '')}{media}", reportable=True)


def _payload(item: dict[str, Any]) -> bytes:
    return b64decode(str(item["payload"]))


def _client_id() -> str:
    return uuid.uuid4().hex


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


__all__ = ["ProfileError", "Session"]


def notice_text(body: dict[str, Any]) -> str:
    """What a notice says, as plain text: the statement of reasons, a report's outcome,
    an appeal's answer or an alert."""
    statement = body.get("statement")
    for text in ((statement or {}).get("text") if isinstance(statement, dict) else None,
                 body.get("outcome"), body.get("answer"), body.get("text")):
        if isinstance(text, str) and text:
            return f"[{body.get('kind', 'notice')}] {text}"
    return f"[{body.get('kind', 'notice')}]"
