"""Who may call the HMA-compatible API (``/hma``).

HMA itself has no authentication, and its clients (Coop's ``HmaService``) send no
``Authorization`` header. So ``/hma`` accepts, in this order:

1. a staff bearer token: admins read and write, moderators and auditors read, anyone
   else is refused (403);
2. a client secret in ``hma_client_header`` (a reverse proxy in front of Tidings adds
   it to the client's requests), checked against the SHA-256 digests in
   ``hma_clients``: the client reads and writes, limited to banks named with its
   prefix if one is configured;
3. a caller address inside ``hma_allow_addresses`` (same rights as a client).

Nothing is configured by default, so without a token every call is refused (401).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.config import Settings
from tidings.protocol.errors import Forbidden, Unauthorized
from tidings.server.deps import accounts, client_address
from tidings.server.state import kernel_of

READ_ROLES = frozenset({"admin", "moderator", "auditor"})


@dataclass(frozen=True, slots=True)
class HmaCaller:
    name: str
    write: bool
    prefix: str = ""
    """Writes are limited to banks whose names start with this ("" = any bank)."""

    def must_write(self) -> None:
        if not self.write:
            raise Forbidden("this needs the admin role", "forbidden_role")

    def may_change(self, bank: str) -> None:
        self.must_write()
        if self.prefix and not bank.startswith(self.prefix):
            raise Forbidden(f"this client may only change banks named {self.prefix}...",
                            "bank_not_yours")


async def hma_caller(request: Request) -> HmaCaller:
    settings: Settings = kernel_of(request).settings
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'", "missing_token")
        who = await accounts(request).authenticate(token.strip())
        request.state.principal = who
        if who.role not in READ_ROLES:
            raise Forbidden("this needs one of the roles: admin, auditor, moderator",
                            "forbidden_role")
        return HmaCaller(f"staff:{who.user_id}", who.role == "admin")
    clients, networks = settings.hma_grants()
    key = request.headers.get(settings.hma_client_header)
    if key is not None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        for known, (name, prefix) in clients.items():
            if hmac.compare_digest(digest, known):
                return HmaCaller(f"client:{name}", True, prefix)
        raise Unauthorized("unknown HMA client key", "bad_client_key")
    if networks:
        try:
            address = ipaddress.ip_address(client_address(request))
        except ValueError:
            address = None
        for network, prefix in networks:
            if address is not None and address in network:
                return HmaCaller(f"address:{address}", True, prefix)
    raise Unauthorized("this needs a staff access token (Authorization: Bearer ...) or a "
                       "configured HMA client (see docs/operating.md)", "missing_token")


CALLER = Depends(hma_caller)


class HmaSlashes:
    """ASGI middleware: ``/hma//c/banks`` is served as ``/hma/c/banks``.

    Coop builds its URLs as ``${HMA_SERVICE_URL}/c/banks`` and documents a base with a
    trailing slash (``http://localhost:9876/``); HMA's Flask router merges the slashes
    (with a redirect), so such a client works against HMA and must work here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/hma//"):
            path = "/hma/" + scope["path"][len("/hma//"):].lstrip("/")
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
