"""Async transport: HTTP via httpx and the event stream via websockets.

While an event-stream connection is open (``connect``, ``stream``), private messages
go over it (:meth:`Transport.send_message`); otherwise, or if the socket fails before
answering, over ``POST /api/v1/messages``. Both answer only after the server stored
the message durably, and both carry the same ``client_id``, so a send retried over
HTTP after a lost socket answer is stored once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets

from tidings.client.requests import Request, send_message
from tidings.client.results import parse
from tidings.client.socket import Socket
from tidings.protocol import limits
from tidings.protocol.errors import TidingsError, from_response

DEFAULT_TIMEOUT_S = 30.0


class Transport:
    def __init__(self, server: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=self.server, timeout=timeout,
            limits=httpx.Limits(keepalive_expiry=limits.CLIENT_KEEP_ALIVE_S))
        self._sockets: list[Socket] = []
        """Open event-stream connections, newest last: sends use the newest open one."""
        self.sent_over_socket = 0
        self.sent_over_http = 0

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
        if request.result is not None:
            parse(request.result, body)  # the answer is what the API declares
        return body

    def ws_url(self) -> str:
        base = self.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/v1/ws"

    @property
    def socket(self) -> Socket | None:
        """The open event-stream connection sends go over, if any."""
        for sock in reversed(self._sockets):
            if sock.open:
                return sock
        return None

    async def send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a private message (``{"id", "ts"}`` once durable): over the open socket
        if there is one, else (or if it fails before answering) over HTTP."""
        sock = self.socket
        if sock is not None:
            try:
                reply = await sock.request(body)
            except (ConnectionError, TimeoutError):
                reply = None  # maybe stored: HTTP with the same client_id answers the same
            if reply is not None:
                if reply.get("type") == "sent":
                    self.sent_over_socket += 1
                    return {"id": reply["id"], "ts": reply["ts"]}
                raise from_response(int(reply.get("status", 400)), {"error": reply})
        result: dict[str, Any] = await self.call(send_message(body))
        self.sent_over_http += 1
        return result

    @asynccontextmanager
    async def connect(self, since: int) -> AsyncIterator[Socket]:
        """An open event-stream connection that has said hello from ``since``."""
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with websockets.connect(self.ws_url(), additional_headers=headers,
                                          max_size=2**22) as conn:
                await conn.send(json.dumps({"type": "hello", "since": since}))
                sock = Socket(conn)
                self._sockets.append(sock)
                try:
                    yield sock
                finally:
                    self._sockets.remove(sock)
                    await sock.close()
        except OSError as exc:
            raise TidingsError(f"cannot reach {self.server}: {exc}", "unreachable") from exc

    async def stream(self, since: int) -> AsyncIterator[tuple[Socket, dict[str, Any]]]:
        """Yield (connection, frame) pairs from the device's event stream."""
        async with self.connect(since) as sock:
            async for raw in sock:
                yield sock, json.loads(raw)
