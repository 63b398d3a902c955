"""Delivery and read receipts, and typing notices, as end-to-end encrypted payloads.

Both are ordinary Olm messages of kind ``receipt`` / ``typing`` to the other person's
devices (and this person's other devices, which learn what was read here), so the
server cannot tell them from a text. A typing notice is sent only to people who have
not been opted out on this device (``typing_off``, kept in the key store: a per-person
choice, as in Signal's per-conversation typing setting); an opted-out person's notices
are not shown either, so the choice is symmetric.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

from tidings.client.e2ee import Received
from tidings.client.messaging import Messenger
from tidings.protocol.payload import MessageContent

DELIVERED = "delivered"
READ = "read"
RECEIPT_IDS_MAX = 100
"""Message ids in one receipt (more are split over several)."""


def _content(kind: str, body: dict[str, Any]) -> MessageContent:
    return MessageContent(kind, body, uuid.uuid4().hex, time.time_ns() // 1_000_000)


class Signals:
    def __init__(self, messenger: Messenger) -> None:
        self.m = messenger

    @property
    def typing_off(self) -> set[str]:
        return set(self.m.crypto.settings.get("typing_off", []))

    def set_typing(self, user: str, enabled: bool) -> None:
        off = self.typing_off
        (off.discard if enabled else off.add)(user.strip().lower())
        self.m.crypto.settings["typing_off"] = sorted(off)
        self.m.save()

    async def typing(self, user: str, active: bool = True) -> dict[str, Any] | None:
        """Tell ``user`` we are typing; None (nothing sent) if typing is off for them."""
        if user.strip().lower() in self.typing_off:
            return None
        return await self.m.send_content(user, _content("typing", {"active": active}))

    async def receipts(self, messages: list[Received], kind: str = DELIVERED) -> int:
        """Send one receipt per sender (1:1 and group messages alike); returns how many."""
        by_sender: dict[str, list[str]] = defaultdict(list)
        for r in messages:
            # no receipt for a message request (issue 20): the server refuses it anyway
            if r.sender != self.m.user and r.content.kind in ("text", "file") and not r.request:
                by_sender[r.sender].append(r.id)
        sent = 0
        for user, ids in sorted(by_sender.items()):
            for i in range(0, len(ids), RECEIPT_IDS_MAX):
                await self.m.send_content(user, _content(
                    "receipt", {"type": kind, "ids": ids[i:i + RECEIPT_IDS_MAX]}))
                sent += 1
        return sent

    def visible_typing(self, signals: list[Received]) -> list[Received]:
        off = self.typing_off
        return [s for s in signals if s.content.kind == "typing" and s.sender not in off
                and not s.request]
