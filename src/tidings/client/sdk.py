"""The Python SDK: a logged-in device talking to a Tidings server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from tidings.client import profile as profiles
from tidings.client import requests as rq
from tidings.client.channel_sdk import ChannelMethods
from tidings.client.order_sdk import OrderMethods
from tidings.client.results import parse
from tidings.client.transport import Transport


class TidingsClient(ChannelMethods, OrderMethods):
    """One device's view of the server. Use ``async with`` or call :meth:`close`."""

    def __init__(self, server: str, token: str | None = None,
                 profile_dir: Path | None = None) -> None:
        self.transport = Transport(server, token)
        self.profile_dir = profile_dir
        self.profile: profiles.Profile | None = None

    @classmethod
    def from_profile(cls, directory: Path, server: str | None = None) -> TidingsClient:
        prof = profiles.load(directory)
        client = cls(server or prof.server, prof.token, directory)
        client.profile = prof
        return client

    async def __aenter__(self) -> TidingsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    async def call(self, request: rq.Request) -> Any:
        return await self.transport.call(request)

    async def typed(self, request: rq.Request) -> Any:
        """The answer to ``request`` parsed into its declared type (``request.result``,
        from ``tidings.protocol.api``): ``await client.typed(cr.history("news"))`` is a
        ``PostPage``. The named methods (``history``...) keep answering plain JSON."""
        if request.result is None:
            raise ValueError(f"{request.method} {request.path} declares no result type")
        return parse(request.result, await self.transport.call(request))

    async def send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """Relay one encrypted message (see ``Transport.send_message``): over the open
        event-stream connection if there is one, else HTTP; answered once durable."""
        return await self.transport.send_message(body)

    def _remember(self, session: dict[str, Any]) -> None:
        self.transport.token = session["token"]
        self.profile = profiles.Profile(self.transport.server, session["username"],
                                        session["device_id"], session["token"])
        if self.profile_dir is not None:
            profiles.save(self.profile_dir, self.profile)

    async def register(self, username: str, password: str,
                       device_name: str = "device") -> dict[str, Any]:
        session: dict[str, Any] = await self.call(rq.register(username, password, device_name))
        self._remember(session)
        return session

    async def login(self, username: str, password: str,
                    device_name: str = "device") -> dict[str, Any]:
        session: dict[str, Any] = await self.call(rq.login(username, password, device_name))
        self._remember(session)
        return session

    async def logout(self) -> None:
        await self.call(rq.logout())
        if self.profile_dir is not None:
            profiles.remove(self.profile_dir)

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(rq.me())
        return result

    async def devices(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call(rq.devices())
        return result

    async def revoke_device(self, device_id: str) -> None:
        await self.call(rq.revoke_device(device_id))

    async def read_stream(self, since: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(rq.read_stream(since))
        return result

    async def ack(self, upto: int, *, over_socket: bool = False) -> None:
        """Acknowledge the stream up to ``upto`` (the server may delete those events).

        Over HTTP this returns once the server committed it. ``over_socket`` sends an
        ``ack`` frame on the open event-stream connection instead (no answer, no
        request): for acks in the middle of a stream, where a lost one only leaves
        events in the store a little longer (the device resumes from its own saved
        position, never from the server's)."""
        sock = self.transport.socket if over_socket else None
        if sock is not None:
            try:
                await sock.send(f'{{"type":"ack","upto":{int(upto)}}}')
            except (ConnectionError, ConnectionClosed):
                await self.call(rq.ack_stream(upto))
        else:
            await self.call(rq.ack_stream(upto))
        self.save_position(upto)

    def save_position(self, pos: int) -> None:
        if self.profile is not None and pos > self.profile.stream_pos:
            self.profile.stream_pos = pos
            if self.profile_dir is not None:
                profiles.save(self.profile_dir, self.profile)

    async def events(self, since: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Yield stream frames (events, then ``live``) from ``since`` (default: saved)."""
        start = since if since is not None else (self.profile.stream_pos if self.profile else 0)
        async for _conn, frame in self.transport.stream(start):
            yield frame

    @staticmethod
    def dumps(value: Any) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False)
