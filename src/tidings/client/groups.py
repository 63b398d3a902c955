"""Private groups for the SDK: membership requests and Megolm sends.

A send first makes sure every current member device holds this device's outbound
session key (``key_share`` over the 1:1 Olm machinery, so the key travels end to end
and is bound to this device's Curve25519 key), then encrypts once with Megolm and posts
one ciphertext, which the server stores once for all members (services/groups.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tidings.client import privacy_requests as prq
from tidings.client.messaging import Messenger
from tidings.client.requests import API, Request
from tidings.crypto import seal_message
from tidings.protocol import limits
from tidings.protocol.api.messaging import Group
from tidings.protocol.api.messaging import Groups as GroupList
from tidings.protocol.keys import DeviceKeys, b64encode
from tidings.protocol.payload import MessageContent


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def create_group(title: str, members: list[str], admins: list[str] | None = None) -> Request:
    return Request("POST", f"{API}/groups",
                   {"title": title, "members": members, "admins": admins or []}, result=Group)


def get_group(gid: str) -> Request:
    return Request("GET", f"{API}/groups/{gid}", result=Group)


def my_groups() -> Request:
    return Request("GET", f"{API}/groups", result=GroupList)


def add_members(gid: str, users: list[str]) -> Request:
    return Request("POST", f"{API}/groups/{gid}/members", {"users": users}, result=Group)


def remove_member(gid: str, user: str) -> Request:
    return Request("DELETE", f"{API}/groups/{gid}/members/{user}", result=Group)


def leave_group(gid: str) -> Request:
    return Request("POST", f"{API}/groups/{gid}/leave", result=Group)


def set_title(gid: str, title: str) -> Request:
    return Request("PUT", f"{API}/groups/{gid}/title", {"title": title}, result=Group)


def set_timer(gid: str, timer_ms: int | None) -> Request:
    return Request("PUT", f"{API}/groups/{gid}/timer", {"timer_ms": timer_ms}, result=Group)


def send_group(gid: str, body: dict[str, Any]) -> Request:
    return Request("POST", f"{API}/groups/{gid}/messages", body)


class Groups:
    """Group operations of one device (a ``Messenger``)."""

    def __init__(self, messenger: Messenger) -> None:
        self.m = messenger

    async def create(self, title: str, members: list[str],
                     admins: list[str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.m.client.call(create_group(title, members, admins))
        return result

    async def accept(self, gid: str) -> dict[str, Any]:
        """Accept an invitation to ``gid`` (being added is only being invited)."""
        result: dict[str, Any] = await self.m.client.call(prq.accept_invitation(gid))
        return result

    async def decline(self, gid: str) -> None:
        await self.m.client.call(prq.decline_invitation(gid))

    async def invitations(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = await self.m.client.call(prq.invitations())
        return list(result["invitations"])

    async def add(self, gid: str, users: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = await self.m.client.call(add_members(gid, users))
        return result

    async def remove(self, gid: str, user: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.m.client.call(remove_member(gid, user))
        self.m.crypto.groups.forget(gid)
        self.m.save()
        return result

    async def leave(self, gid: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.m.client.call(leave_group(gid))
        self.m.crypto.groups.forget(gid)
        self.m.save()
        return result

    async def targets(self, gid: str) -> dict[str, DeviceKeys]:
        """Every verifiable device of every current member, except this one."""
        info = await self.m.client.call(get_group(gid))
        members = sorted(info["members"])
        out: dict[str, DeviceKeys] = {}
        for i in range(0, len(members), limits.KEYS_QUERY_USERS_MAX):
            found = await self.m.query(members[i:i + limits.KEYS_QUERY_USERS_MAX])
            for records in found.values():
                out.update(records)
        out.pop(self.m.crypto.device_id, None)
        return out

    async def send_text(self, gid: str, text: str) -> dict[str, Any]:
        content = MessageContent("text", {"text": text}, uuid.uuid4().hex, _now_ms())
        return await self.send_content(gid, content)

    async def send_content(self, gid: str, content: MessageContent) -> dict[str, Any]:
        groups = self.m.crypto.groups
        targets = await self.targets(gid)
        plan = groups.prepare(gid, targets, _now_ms())
        self.m.save()
        if plan.share_with:
            await self._share(gid, plan.share_with, groups.key_share(gid, plan.session))
            groups.mark_shared(gid, sorted(plan.share_with))
        sealed, commitment, _ = seal_message(content)
        ciphertext = plan.session.encrypt(sealed)
        self.m.save()  # the ratchet advanced: never reuse an index
        result: dict[str, Any] = await self.m.client.call(send_group(gid, {
            "client_id": content.client_id, "session_id": plan.session.session_id,
            "ciphertext": ciphertext, "commitment": b64encode(commitment)}))
        return result

    async def _share(self, gid: str, devices: dict[str, DeviceKeys],
                     body: dict[str, Any]) -> None:
        users = sorted({r.user for r in devices.values()})
        for user in users:
            if user == self.m.user and not any(
                    r.user == user and d != self.m.crypto.device_id
                    for d, r in devices.items()):
                continue
            share = MessageContent("key_share", body, uuid.uuid4().hex, _now_ms())
            await self.m.send_content(user, share)
