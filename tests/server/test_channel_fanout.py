"""Live fan-out of channel posts over the WebSocket, and catch-up from the log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import LiveServer, bearer, register
from tests.server.channel_util import channel, post
from tidings.bus.local import LocalBus
from tidings.protocol.control import ChannelClosed, Frame
from tidings.server.channel_fanout import ChannelFanout
from tidings.services.live import to_channel

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def connect(server: LiveServer, session: dict[str, Any]) -> websockets.ClientConnection:
    url = server.url.replace("http://", "ws://") + "/api/v1/ws"
    conn = await websockets.connect(url, additional_headers=bearer(session))
    await conn.send(json.dumps({"type": "hello", "since": 0}))
    assert json.loads(await conn.recv())["type"] == "live"
    return conn


async def channel_frame(conn: websockets.ClientConnection, timeout: float = 5
                        ) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), timeout))
        if frame["type"] == "channel":
            return frame


async def nothing(conn: websockets.ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(conn.recv(), 0.3)


async def test_post_edit_delete_reach_every_live_subscriber(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        owner = bearer(await register(client, "owner"))
        await channel(client, owner, "live_news")
        readers = [await register(client, f"reader{i}") for i in range(3)]
        for r in readers[:2]:
            await client.post("/api/v1/channels/live_news/subscription", headers=bearer(r))
        conns = [await connect(server, r) for r in readers]
        try:
            p = await post(client, owner, "live_news", "first!")
            await client.patch(f"/api/v1/channels/live_news/posts/{p['number']}", headers=owner,
                               json={"text": "first (edited)"})
            await client.delete(f"/api/v1/channels/live_news/posts/{p['number']}", headers=owner)
            for conn in conns[:2]:
                frames = [await channel_frame(conn) for _ in range(3)]
                assert [(f["seq"], f["kind"]) for f in frames] == [
                    (1, "post"), (2, "edit"), (3, "delete")]
                assert frames[0]["channel"] == "live_news"
                assert frames[0]["post"]["text"] == "first!"
                assert frames[1]["post"]["text"] == "first (edited)"
                assert frames[2]["post"]["number"] == p["number"]
                assert "id" not in frames[0]["post"]  # the global id is internal
            await nothing(conns[2])  # not subscribed
        finally:
            for conn in conns:
                await conn.close()


async def test_subscription_changes_follow_live_connections(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        owner = bearer(await register(client, "owner"))
        await channel(client, owner, "late_news")
        reader = await register(client, "reader")
        conn = await connect(server, reader)
        try:
            await post(client, owner, "late_news", "before subscribing")
            await nothing(conn)
            await client.post("/api/v1/channels/late_news/subscription", headers=bearer(reader))
            await post(client, owner, "late_news", "after subscribing")
            frame = await channel_frame(conn)
            assert frame["post"]["text"] == "after subscribing" and frame["seq"] == 2
            await client.delete("/api/v1/channels/late_news/subscription",
                                headers=bearer(reader))
            await post(client, owner, "late_news", "after leaving")
            await nothing(conn)
        finally:
            await conn.close()


async def test_offline_subscriber_catches_up_from_its_position(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        owner = bearer(await register(client, "owner"))
        await channel(client, owner, "catch_news")
        reader = await register(client, "reader")
        await client.post("/api/v1/channels/catch_news/subscription", headers=bearer(reader))
        conn = await connect(server, reader)
        await post(client, owner, "catch_news", "seen live")
        position = (await channel_frame(conn))["seq"]
        await conn.close()
        for i in range(3):
            await post(client, owner, "catch_news", f"missed {i}")
        log = (await client.get(f"/api/v1/channels/catch_news/updates?since={position}",
                                headers=bearer(reader))).json()
        assert [u["post"]["text"] for u in log["updates"]] == ["missed 0", "missed 1", "missed 2"]
        assert log["head"] == position + 3


async def test_fanout_decodes_once_and_shares_the_frame() -> None:
    bus = LocalBus()
    fanout = ChannelFanout(bus)
    got: list[list[Frame]] = [[], [], []]
    members = [fanout.attach([7], got[0].append), fanout.attach([7], got[1].append),
               fanout.attach([8], got[2].append)]
    assert bus.subscriber_count() == 2  # one bus subscription per channel, not per member
    await to_channel(bus, 7, Frame('{"type":"channel"}'))
    assert got[0] == got[1] == [Frame('{"type":"channel"}')] and got[2] == []
    assert got[0][0] is got[1][0]  # one Frame object for every connection
    members[2].join(7)
    await to_channel(bus, 7, Frame("{}"))
    assert got[2] == [Frame("{}")]
    members[2].leave(7)
    await to_channel(bus, 7, Frame("[]"))
    assert got[2] == [Frame("{}")] and fanout.connections(7) == 2
    await bus.publish("channel:7", b'{"type":"channel"}')  # untyped bytes: dropped
    assert len(got[0]) == 3
    for m in members:
        m.close()
    assert bus.subscriber_count() == 0


async def test_a_closed_channel_leaves_every_membership_on_the_process() -> None:
    bus = LocalBus()
    fanout = ChannelFanout(bus)
    got: list[list[Frame]] = [[], []]
    members = [fanout.attach([7, 8], got[0].append), fanout.attach([7], got[1].append)]
    await to_channel(bus, 7, Frame("banned notice"))
    await to_channel(bus, 7, ChannelClosed(7))
    assert fanout.connections(7) == 0 and members[0].channels == [8]
    assert bus.subscriber_count() == 1  # channel 8's subscription only
    await to_channel(bus, 7, Frame("after the ban"))
    assert got == [[Frame("banned notice")], [Frame("banned notice")]]
    for m in members:
        m.close()
    assert bus.subscriber_count() == 0
