"""Disappearing messages: the timer is shared, the server deletes what expired undelivered;
timers have a one-minute floor, and a disappeared message stays reportable for a day."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from tests.apps import kernel_of
from tests.client.helpers import close_all, device, join, people
from tests.conftest import LiveServer
from tidings.client import report_requests as rr
from tidings.client.attachments import fetch, send_group_file
from tidings.client.disappearing import set_timer
from tidings.client.e2ee import DeviceCrypto, keystore
from tidings.client.groups import Groups
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound
from tidings.protocol.payload import MessageContent

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
TIMER = limits.DISAPPEAR_MIN_MS
DAY_MS = 24 * 3600 * 1000


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
            swept = await kernel_of(server).expiry.sweep()
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


async def test_timers_under_a_minute_are_refused(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["amy", "bea"], per_person=1)
        try:
            (amy,), (bea,) = everyone["amy"], everyone["bea"]
            for short in (5000, TIMER - 1):  # the client refuses before sending anything
                with pytest.raises(BadRequest) as caught:
                    await set_timer(amy, "bea", short)
                assert caught.value.code == "bad_timer"
            assert amy.crypto.timer_for("bea") is None
            gid = (await Groups(amy).create("quick", ["bea"]))["id"]
            with pytest.raises(BadRequest):
                await set_timer(amy, gid, 5000)
            # where the server sees the setting, it refuses it too (a modified client)
            headers = {"Authorization": f"Bearer {amy.client.profile.token}"}  # type: ignore[union-attr]
            async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
                r = await http.put(f"/api/v1/groups/{gid}/timer", json={"timer_ms": 5000})
                assert r.status_code == 400 and r.json()["error"]["code"] == "bad_timer"
                r = await http.post("/api/v1/messages", json={
                    "client_id": "c1", "to": "bea", "commitment": "A" * 43 + "=",
                    "expires_in_ms": 5000,
                    "envelopes": [{"device_id": bea.crypto.device_id,
                                   "ciphertext": {"type": 0, "body": "x"}}]})
                assert r.status_code == 400 and r.json()["error"]["code"] == "bad_timer", r.text
                r = await http.post("/api/v1/attachments", params={"expires_in_ms": 5000},
                                    content=b"x" * 32)
                assert 400 <= r.status_code < 500
            # a 5 s timer message from a modified client: the other side keeps the floor
            await amy.send_content("bea", MessageContent("timer", {"timer_ms": 5000},
                                                         uuid.uuid4().hex, 0))
            await bea.receive()
            assert bea.crypto.timer_for("amy") == TIMER
        finally:
            await close_all(everyone)


async def test_a_disappeared_message_stays_reportable_for_a_day(
        live_server: Live, tmp_path: Path) -> None:
    """Gone from the recipient's view when its minute runs out; still reportable with
    franking verification for 24 hours from the key store; then purged."""
    now = [time.time_ns() // 1_000_000]
    async with live_server(clock=lambda: now[0]) as server:
        ann = await device(server.url, tmp_path, "ann", "d0", first=True)
        ben = await device(server.url, tmp_path, "ben", "d0", first=True,
                           passphrase="ben's key store", clock=lambda: now[0])
        try:
            await set_timer(ann, "ben", TIMER)
            await ben.receive()
            await ann.send_text("ben", "give me the money or else")
            (msg,) = (await ben.receive()).messages
            assert msg.expires_at == msg.ts + TIMER

            now[0] = msg.ts + TIMER  # the minute ran out: out of view at the next look
            await ben.receive()
            assert all(m["id"] != msg.id for m in ben.crypto.inbox)
            (held,) = ben.crypto.held
            assert held["id"] == msg.id and "text" not in held
            # kept only in the encrypted key store: not in the file in the clear
            store = keystore(ben.client.profile_dir, "ben's key store")  # type: ignore[arg-type]
            assert b"the money" not in store.path.read_bytes()
            assert held["payload"].encode() not in store.path.read_bytes()
            loaded = DeviceCrypto.load(store)
            assert loaded is not None and [h["id"] for h in loaded.held] == [msg.id]

            now[0] = msg.ts + TIMER + DAY_MS - 1  # a minute short of a day later: reportable
            assert ben.purge_expired() == 0
            report = await ben.client.call(rr.message_report(
                ben.crypto.reportable(), msg.id, "harassment", "a threat, then it vanished"))
            assert report["verified"] is True

            now[0] += 1  # 24 hours after it disappeared: purged, no longer reportable
            await ben.receive()
            assert ben.crypto.held == [] and DeviceCrypto.load(store).held == []  # type: ignore[union-attr]
            with pytest.raises(NotFound) as caught:
                rr.message_report(ben.crypto.reportable(), msg.id, "harassment", "late")
            assert caught.value.code == "message_not_found"
        finally:
            await ann.client.close()
            await ben.client.close()
