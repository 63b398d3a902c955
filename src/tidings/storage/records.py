"""Rows as values: what stores return and services pass around."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("user", "moderator", "auditor", "admin", "authority")
STAFF_ROLES = frozenset({"moderator", "auditor", "admin"})


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    display_name: str | None
    created_at: int
    deleted_at: int | None
    suspended_at: int | None
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: str
    user_id: int
    name: str
    created_at: int
    last_seen_at: int


@dataclass(frozen=True, slots=True)
class StreamEvent:
    device_id: str
    seq: int
    kind: str
    body: str
    """The event's JSON object, serialised once when stored."""
    created_at: int
