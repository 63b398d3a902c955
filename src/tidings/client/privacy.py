"""Blocks, message requests and group invitations for the SDK (issue 20).

The server enforces all of it (services/contacts.py, services/invitations.py); this
layer adds what only the device can do: forgetting a deleted request's messages, and
reporting a request's messages with their franking data before blocking the sender.
"""

from __future__ import annotations

from typing import Any

from tidings.client import privacy_requests as prq
from tidings.client import report_requests as rr
from tidings.client.messaging import Messenger


def _name(user: str) -> str:
    return user.strip().lower()


class Privacy:
    def __init__(self, messenger: Messenger) -> None:
        self.m = messenger

    # -- blocks -----------------------------------------------------------------------
    async def block(self, user: str) -> None:
        await self.m.client.call(prq.block(_name(user)))

    async def unblock(self, user: str) -> None:
        await self.m.client.call(prq.unblock(_name(user)))

    async def blocked(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = await self.m.client.call(prq.blocked())
        return list(result["blocked"])

    # -- message requests ---------------------------------------------------------------
    async def requests(self) -> list[dict[str, Any]]:
        """Pending requests, each with the messages this device keeps from that sender."""
        result: dict[str, Any] = await self.m.client.call(prq.message_requests())
        out = []
        for item in result["requests"]:
            kept = [{"id": m["id"], "ts": m["ts"], "text": m.get("text", "")}
                    for m in self.m.crypto.inbox
                    if m.get("from") == item["user"] and m.get("conversation") == self.m.user]
            out.append({**item, "messages": kept})
        return out

    async def accept(self, user: str) -> None:
        await self.m.client.call(prq.accept_request(_name(user)))
        for m in self.m.crypto.inbox:
            if m.get("from") == _name(user):
                m.pop("request", None)
        self.m.save()

    def _forget(self, user: str) -> int:
        inbox = self.m.crypto.inbox
        keep = [m for m in inbox if not (m.get("from") == user and m.get("request"))]
        gone = len(inbox) - len(keep)
        inbox[:] = keep
        self.m.save()
        return gone

    async def delete(self, user: str) -> int:
        """Delete the request and this device's copies of its messages; returns how many."""
        await self.m.client.call(prq.delete_request(_name(user)))
        return self._forget(_name(user))

    async def report_and_block(self, user: str, category: str = "spam",
                               explanation: str = "Reported from message requests."
                               ) -> list[dict[str, Any]]:
        """Report every kept message of the request (verifiable: franking), then block."""
        name = _name(user)
        reports = []
        ids = [m["id"] for m in self.m.crypto.inbox
               if m.get("from") == name and m.get("request")]
        for message_id in ids:
            reports.append(await self.m.client.call(rr.message_report(
                self.m.crypto.reportable(), message_id, category, explanation)))
        await self.block(name)
        self._forget(name)
        return reports

    # -- group invitations --------------------------------------------------------------
    async def invitations(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = await self.m.client.call(prq.invitations())
        return list(result["invitations"])

    async def accept_invitation(self, gid: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.m.client.call(prq.accept_invitation(gid))
        return result

    async def decline_invitation(self, gid: str) -> None:
        await self.m.client.call(prq.decline_invitation(gid))
