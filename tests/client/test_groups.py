"""Private groups end to end through the SDK: Megolm sends, key shares, rotation."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.client.helpers import close_all, join, people
from tests.conftest import LiveServer
from tidings.client import requests as rq
from tidings.client.groups import Groups
from tidings.client.messaging import Messenger
from tidings.crypto import UndecryptableError

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def raw_group_messages(m: Messenger) -> list[dict[str, Any]]:
    page = await m.client.call(rq.read_stream(0))
    return [e["body"] for e in page["events"] if e["kind"] == "group_message"]


def texts(inbox: Any) -> list[str]:
    return [r.text for r in inbox.messages if r.content.kind == "text"]


async def test_five_member_group_join_and_removal(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        names = ["ann", "ben", "cat", "dan", "eve", "fay"]
        everyone = await people(server.url, tmp_path, names, per_person=2)
        try:
            ann = Groups(everyone["ann"][0])
            info = await ann.create("Five", ["ben", "cat", "dan", "eve"])
            gid = info["id"]
            await join(gid, *(everyone[u][0] for u in ["ben", "cat", "dan", "eve"]))
            first = await ann.send_text(gid, "hello five")
            await Groups(everyone["ben"][1]).send_text(gid, "ben here")
            for user in ["ann", "ben", "cat", "dan", "eve"]:
                for i, m in enumerate(everyone[user]):
                    inbox = await m.receive()
                    assert inbox.errors == [], (user, i, inbox.errors)
                    got = sorted(texts(inbox))
                    want = sorted(t for t, s in (("hello five", ("ann", 0)),
                                                 ("ben here", ("ben", 1)))
                                  if s != (user, i))
                    assert got == want, (user, i)
                    assert all(r.conversation == f"group:{gid}" for r in inbox.messages
                               if r.content.kind == "text")
            assert await raw_group_messages(everyone["cat"][0]) == []  # acknowledged

            # a member added later cannot read what was sent before
            before = await ann.send_text(gid, "before fay")
            keep = [b for b in await raw_group_messages(everyone["cat"][0])
                    if b["id"] == before["id"]]
            await ann.add(gid, ["fay"])
            await join(gid, everyone["fay"][0])
            await ann.send_text(gid, "welcome fay")
            fay = everyone["fay"][0]
            inbox = await fay.receive()
            assert texts(inbox) == ["welcome fay"]
            sender = fay.crypto.known_key("ann", everyone["ann"][0].crypto.device_id)
            assert sender is not None
            with pytest.raises(UndecryptableError):
                fay.crypto.decrypt_group(keep[0], sender)

            # a removed member cannot read what is sent after (the session rotated)
            dan = everyone["dan"][0]
            await dan.receive()
            await ann.remove(gid, "dan")
            after = await ann.send_text(gid, "without dan")
            assert after["id"] != first["id"]
            inbox = await dan.receive()
            assert texts(inbox) == [] and inbox.notices[-1]["event"] == "removed"
            later = [b for b in await raw_group_messages(everyone["cat"][0])
                     if b["id"] == after["id"]]
            dan_sender = dan.crypto.known_key("ann", everyone["ann"][0].crypto.device_id)
            assert dan_sender is not None
            with pytest.raises(UndecryptableError):
                dan.crypto.decrypt_group(later[0], dan_sender)
            cat = await everyone["cat"][0].receive()
            assert "without dan" in texts(cat)
        finally:
            await close_all(everyone)


def test_rotation_after_100_messages_or_7_days() -> None:
    from tidings.client.group_crypto import GroupCrypto
    from tidings.crypto import GroupKeyStore
    from tidings.crypto.megolm import MEGOLM_ROTATION_MESSAGES, MEGOLM_ROTATION_PERIOD_MS

    g = GroupCrypto(GroupKeyStore("own"))
    plan = g.prepare("G1", {}, 0)
    first = plan.session.session_id
    for _ in range(MEGOLM_ROTATION_MESSAGES - 1):
        plan.session.encrypt(b"x")
    assert g.prepare("G1", {}, 1).session.session_id == first
    plan.session.encrypt(b"x")
    second = g.prepare("G1", {}, 2).session
    assert second.session_id != first
    assert g.prepare("G1", {}, 3).session.session_id == second.session_id
    assert g.prepare("G1", {}, 2 + MEGOLM_ROTATION_PERIOD_MS).session.session_id \
        != second.session_id
