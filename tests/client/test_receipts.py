"""Receipts and typing notices: end-to-end encrypted signals, per-person typing opt-out."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.client.helpers import close_all, join, people
from tests.conftest import LiveServer
from tidings.client.groups import Groups
from tidings.client.receipts import READ, Signals

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_receipts_and_typing(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["ann", "ben"], per_person=1)
        try:
            ann, ben = everyone["ann"][0], everyone["ben"][0]
            # sharing a group makes them contacts: the 1:1 message is not a request
            gid = (await Groups(ann).create("pair", ["ben"]))["id"]
            await join(gid, ben)
            sent = await ann.send_text("ben", "hi")
            gsent = await Groups(ann).send_text(gid, "group hi")
            got = await ben.receive()
            assert [m.text for m in got.messages] == ["hi", "group hi"]
            assert await Signals(ben).receipts(got.messages, READ) == 1
            back = await ann.receive()
            (receipt,) = [s for s in back.signals if s.content.kind == "receipt"]
            assert receipt.sender == "ben" and receipt.content.body == {
                "type": READ, "ids": [sent["id"], gsent["id"]]}
            assert back.messages == []  # signals are not messages

            assert await Signals(ann).typing("ben") is not None
            assert [s.sender for s in Signals(ben).visible_typing(
                (await ben.receive()).signals)] == ["ann"]
            Signals(ben).set_typing("ann", False)
            assert await Signals(ben).typing("ann") is None  # never sent to ann
            await Signals(ann).typing("ben")
            assert Signals(ben).visible_typing((await ben.receive()).signals) == []
            assert [s.content.kind for s in (await ann.receive()).signals] == []
        finally:
            await close_all(everyone)
