"""What the chat client shows, as plain values: conversations, their lines, unread counts.

Pure (no I/O, no Textual): the session feeds it received items and the screens render
it, so the rules (which conversation a message belongs to, what counts as unread, when
the device-change banner shows) are tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

LINES_KEEP = 500
"""Lines kept in memory per conversation (older ones stay in the key store's inbox)."""


class Kind(StrEnum):
    PERSON = "person"
    GROUP = "group"
    CHANNEL = "channel"
    SYSTEM = "system"
    """The system inbox: statements of reasons and other notices (read only)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One message or post as a row of the chat view."""

    id: str
    sender: str
    ts: int
    text: str
    mine: bool = False
    reportable: bool = False
    """A received private message (its franking data is kept) or a channel post."""
    error: bool = False


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """A contact's device list is not what this device saw (or verified) before."""

    user: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    verified: bool
    """The contact had been verified: the verification no longer covers every device."""

    def text(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} new device{'s' if len(self.added) > 1 else ''}")
        if self.removed:
            parts.append(f"{len(self.removed)} device{'s' if len(self.removed) > 1 else ''} "
                         "removed")
        since = "since you verified them" if self.verified else "since you last chatted"
        return (f"{self.user}'s devices changed {since} ({', '.join(parts)}). If they did not "
                "add it, someone may be reading along: press F5 to compare safety numbers.")


@dataclass
class Conversation:
    key: str
    """``bob``, ``group:G...`` or ``channel:news_desk``."""
    kind: Kind
    title: str
    lines: list[Line] = field(default_factory=list)
    unread: int = 0
    followed: bool = True
    """Channels only: subscribed (a channel being previewed is not)."""
    change: DeviceChange | None = None

    @property
    def ref(self) -> str:
        """The username, group id or channel handle the key names."""
        return self.key.split(":", 1)[1] if self.kind is not Kind.PERSON else self.key

    @property
    def last_ts(self) -> int:
        return self.lines[-1].ts if self.lines else 0


def person_key(user: str) -> str:
    return user


def group_key(gid: str) -> str:
    return f"group:{gid}"


NOTICES_KEY = "system:notices"
"""The one conversation that shows the system inbox (``GET /notices``, ``notice`` events)."""


def channel_key(handle: str) -> str:
    return f"channel:{handle.removeprefix('@')}"


REQUESTS_KEY = "system:requests"
"""The sidebar entry that opens message requests, group invitations and blocks."""


@dataclass
class Book:
    """Every conversation of this device and which one is open."""

    me: str
    conversations: dict[str, Conversation] = field(default_factory=dict)
    active: str | None = None
    requests: dict[str, list[Line]] = field(default_factory=dict)
    """Message requests (issue 20): sender -> their lines, kept apart from the chats."""
    invitations: dict[str, str] = field(default_factory=dict)
    """Pending group invitations: group id -> who invited (nothing else is known)."""
    blocked: set[str] = field(default_factory=set)

    def ensure(self, key: str, kind: Kind, title: str | None = None) -> Conversation:
        conv = self.conversations.get(key)
        if conv is None:
            conv = Conversation(key, kind, title or key.split(":", 1)[-1])
            self.conversations[key] = conv
        elif title:
            conv.title = title
        return conv

    def add(self, key: str, kind: Kind, line: Line, *, unread: bool = True) -> bool:
        """Add a line (once per id, in time order); True if it was new."""
        conv = self.ensure(key, kind)
        if any(existing.id == line.id for existing in conv.lines[-LINES_KEEP:]):
            return False
        conv.lines.append(line)
        if len(conv.lines) > 1 and conv.lines[-2].ts > line.ts:
            conv.lines.sort(key=lambda x: x.ts)
        del conv.lines[:-LINES_KEEP]
        if unread and not line.mine and key != self.active:
            conv.unread += 1
        return True

    def remove(self, key: str, line_id: str) -> None:
        conv = self.conversations.get(key)
        if conv is not None:
            conv.lines = [x for x in conv.lines if x.id != line_id]

    def open(self, key: str) -> Conversation:
        self.active = key
        conv = self.conversations[key]
        conv.unread = 0
        return conv

    def drop(self, key: str) -> None:
        self.conversations.pop(key, None)
        if self.active == key:
            self.active = None

    def add_request(self, user: str, line: Line) -> bool:
        lines = self.requests.setdefault(user, [])
        if any(x.id == line.id for x in lines):
            return False
        lines.append(line)
        lines.sort(key=lambda x: x.ts)
        del lines[:-LINES_KEEP]
        return True

    def accept_request(self, user: str) -> Conversation:
        """The request's lines become the person's chat (already seen: not unread)."""
        for line in self.requests.pop(user, []):
            self.add(person_key(user), Kind.PERSON, line, unread=False)
        return self.ensure(person_key(user), Kind.PERSON)

    def block(self, user: str) -> None:
        """Forget what ``user`` asked for; their chat (if any) stays, marked blocked."""
        self.blocked.add(user)
        self.requests.pop(user, None)
        for gid in [g for g, by in self.invitations.items() if by == user]:
            del self.invitations[gid]

    @property
    def pending(self) -> int:
        """Message requests and group invitations waiting for an answer."""
        return len(self.requests) + len(self.invitations)

    def flag(self, change: DeviceChange) -> None:
        self.ensure(person_key(change.user), Kind.PERSON).change = change

    def ordered(self) -> list[Conversation]:
        """People and groups by latest activity, then channels by title."""
        chats = sorted((c for c in self.conversations.values() if c.kind is not Kind.CHANNEL),
                       key=lambda c: (-c.last_ts, c.title))
        channels = sorted((c for c in self.conversations.values() if c.kind is Kind.CHANNEL),
                          key=lambda c: c.title.lower())
        return chats + channels

    @property
    def unread(self) -> int:
        return sum(c.unread for c in self.conversations.values())
