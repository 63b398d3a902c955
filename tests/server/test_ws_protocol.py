"""The lean WebSocket protocol (server/ws_protocol.py): its slots cover every attribute
uvicorn's protocol sets (one more would quietly bring back a per-connection dict), and
its inbox and flow flag keep the asyncio.Queue / asyncio.Event behaviour uvicorn uses."""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from tidings.server.ws_protocol import QuietWebSocketProtocol, _Inbox, _Writable


async def _app(scope: object, receive: object, send: object) -> None:
    return None


def test_every_attribute_uvicorn_sets_is_a_slot() -> None:
    source = inspect.getsource(WebSocketsSansIOProtocol)
    assigned = set(re.findall(r"self\.(\w+)(?:\s*:[^=\n]+)?\s*=[^=]", source))
    assert assigned <= set(QuietWebSocketProtocol.__slots__), \
        assigned - set(QuietWebSocketProtocol.__slots__)


async def test_a_new_protocol_keeps_no_instance_dict() -> None:
    config = Config(_app, ws="websockets-sansio")
    config.load()
    protocol = QuietWebSocketProtocol(config=config, server_state=ServerState(),
                                      app_state={})
    assert vars(protocol) == {}
    assert isinstance(protocol.queue, _Inbox)
    assert isinstance(protocol.writable, _Writable)


async def test_the_inbox_hands_items_out_in_order_and_wakes_its_reader() -> None:
    inbox = _Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(reader, 1) == 3
    assert inbox.empty() and inbox.waiter is None


async def test_a_cancelled_get_loses_nothing() -> None:
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("kept")
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await inbox.get() == "kept"


async def test_writers_wait_while_paused_and_all_resume() -> None:
    flag = _Writable()
    await asyncio.wait_for(flag.wait(), 1)  # open: no wait
    flag.clear()
    writers = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in writers)
    flag.set()
    await asyncio.wait_for(asyncio.gather(*writers), 1)
    assert flag.waiters is None
