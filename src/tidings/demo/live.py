"""A subscriber's open event stream, to see what reaches people live (and what not)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tidings.client.sdk import TidingsClient
from tidings.client.socket import Socket


class Listener:
    """The device's WebSocket after its replay: collects the channel frames that arrive."""

    def __init__(self, conn: Socket) -> None:
        self.conn = conn

    async def caught_up(self) -> None:
        while json.loads(await self.conn.recv()).get("type") != "live":
            pass

    async def channel_posts(self, seconds: float, until_text: str | None = None
                            ) -> list[dict[str, Any]]:
        """Channel posts received within ``seconds`` (returns early on ``until_text``)."""
        posts: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                frame = json.loads(await asyncio.wait_for(self.conn.recv(), left))
            except TimeoutError:
                break
            if frame.get("type") == "channel" and frame.get("kind") == "post":
                posts.append(frame)
                if until_text is not None and frame["post"].get("text") == until_text:
                    break
        return posts


@asynccontextmanager
async def listening(client: TidingsClient) -> AsyncIterator[Listener]:
    """Connected and caught up: everything received afterwards arrived live.

    Resumes from the saved stream position and never acknowledges, so the person's
    own inbox is left as it was."""
    since = client.profile.stream_pos if client.profile else 0
    async with client.transport.connect(since) as conn:
        listener = Listener(conn)
        await asyncio.wait_for(listener.caught_up(), 10)
        yield listener
