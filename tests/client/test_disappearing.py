"""Disappearing messages: the timer is shared, the server deletes what expired undelivered."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.client.helpers import close_all, join, people
from tests.conftest import LiveServer
from tidings.client.attachments import fetch, send_group_file
from tidings.client.disappearing import set_timer
from tidings.client.groups import Groups
from tidings.protocol.errors import NotFound

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
TIMER = 5000


async def test_timer_expires_envelopes_ciphertexts_and_attachments(
        live_server: Live, tmp_path: Path) -> None:
    now = [time.time_ns() // 1_000_000]
    async with live_server(clock=lambda: now[0]) as server:
        everyone = await people(server.url, tmp_path, ["ann", "ben"], per_person=2)
        try:
            (ann, _), (ben1, ben2) = everyone["ann"], everyone["ben"]
            await set_timer(ann, "ben", TIMER)
            await ben1.receive()
            assert ben1.crypto.timer_for("ann") == TIMER  # the other side agrees
            await ann.send_text("ben", "this will vanish")
            (msg,) = (await ben1.receive()).messages
            assert msg.expires_at == msg.ts + TIMER
            assert any(m["id"] == msg.id for m in ben1.crypto.inbox)

            gid = (await Groups(ann).create("brief", ["ben"]))["id"]
            await join(gid, ben1)
            await set_timer(ann, gid, TIMER)
            doc = tmp_path / "x.txt"
            doc.write_text("short-lived")
            await send_group_file(ann, gid, doc)
            (gfile,) = [m for m in (await ben1.receive()).messages if m.content.kind == "file"]
            assert gfile.expires_at == gfile.ts + TIMER

            now[0] += TIMER + 1
            swept = await server.app.state.expiry.sweep()
            assert swept["events"] >= 2 and swept["group_messages"] >= 1
            assert swept["attachments"] == 1
            # ben's offline device never gets the expired messages
            late = await ben2.receive()
            assert [m.text for m in late.messages if m.content.kind == "text"] == []
            assert late.errors == []
            with pytest.raises(NotFound):
                await fetch(ben1, gfile, tmp_path / "late")
            # and each device deletes its own copy when the timer runs out
            assert ben1.crypto.purge_expired(msg.expires_at or 0) >= 1
            assert all(m["id"] != msg.id for m in ben1.crypto.inbox)
        finally:
            await close_all(everyone)
