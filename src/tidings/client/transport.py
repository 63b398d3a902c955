"""Async transport: HTTP via httpx and the event stream via websockets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets

from tidings.client.requests import Request
from tidings.protocol.errors import TidingsError, from_response

DEFAULT_TIMEOUT_S = 30.0


class Transport:
    def __init__(self, server: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(base_url=self.server, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, request: Request) -> Any:
        headers = {}
        if request.auth:
            if not self.token:
                raise TidingsError("not logged in", "no_profile")
            headers["Authorization"] = f"Bearer {self.token}"
        if request.content is not None:
            headers["Content-Type"] = request.content_type
        try:
            response = await self._http.request(
                request.method, request.path,
                json=request.json if request.content is None else None,
                content=request.content, params=request.params or None, headers=headers)
        except httpx.HTTPError as exc:
            raise TidingsError(f"cannot reach {self.server}: {exc}", "unreachable") from exc
        if response.status_code == 204:
            return None
        if request.text_response and response.status_code < 400:
            return response.text
        if request.bytes_response and response.status_code < 400:
            return response.content
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise from_response(response.status_code, body)
        return body

    def ws_url(self) -> str:
        base = self.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/v1/ws"

    @asynccontextmanager
    async def connect(self, since: int) -> AsyncIterator[websockets.ClientConnection]:
        """An open event-stream connection that has said hello from ``since``."""
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with websockets.connect(self.ws_url(), additional_headers=headers,
                                          max_size=2**22) as conn:
                await conn.send(json.dumps({"type": "hello", "since": since}))
                yield conn
        except OSError as exc:
            raise TidingsError(f"cannot reach {self.server}: {exc}", "unreachable") from exc

    async def stream(self, since: int) -> AsyncIterator[tuple[websockets.ClientConnection,
                                                            dict[str, Any]]]:
        """Yield (connection, frame) pairs from the device's event stream."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with websockets.connect(self.ws_url(), additional_headers=headers,
                                      max_size=2**22) as conn:
            await conn.send(json.dumps({"type": "hello", "since": since}))
            async for raw in conn:
                yield conn, json.loads(raw)
