"""Results of the group, invitation, contact and attachment routes."""

from __future__ import annotations

from tidings.protocol.api import Result


class Group(Result):
    id: str
    title: str
    timer_ms: int | None
    members: list[str]
    admins: list[str]
    invited: list[str] | None = None
    """In the answer to an inviter only: whom this call invited (the others were added)."""


class GroupSummary(Result):
    id: str
    title: str
    timer_ms: int | None


class Groups(Result):
    groups: list[GroupSummary]


class Invitation(Result):
    group: str
    by: str
    ts: int
    expires_at: int


class Invitations(Result):
    invitations: list[Invitation]


class Contact(Result):
    user: str
    since: int


class Blocked(Result):
    blocked: list[Contact]


class MessageRequests(Result):
    requests: list[Contact]


class Attachment(Result):
    id: str
    """The SHA-256 of the stored (encrypted) bytes."""
    size: int
    expires_at: int


class DeviceKeysRecord(Result):
    """A device's signed identity keys (``protocol/keys.py: DeviceKeys``)."""
    user: str
    device_id: str
    curve25519: str
    ed25519: str
    signature: str


class OneTimeKeyRecord(Result):
    """A signed one-time (or fallback) key (``protocol/keys.py: OneTimeKey``)."""
    key_id: str
    key: str
    fallback: bool
    signature: str
