"""Password logins behind the per-username rate and the login backoff.

The API's ``POST /accounts/login`` and the web console's login form both log in
through here, so guessing passwords through either meets the same limits
(server/ratelimit.py explains the backoff). The per-address rate is a dependency of
the API route (it counts malformed requests too) and checked by the console itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from tidings.protocol.errors import Unauthorized
from tidings.server.deps import accounts, client_address, limiter, rule
from tidings.services.accounts import Session
from tidings.storage.records import UserRecord

T = TypeVar("T")


async def _guarded(request: Request, username: str, attempt: Callable[[], Awaitable[T]]) -> T:
    limits_ = limiter(request)
    name = username.strip().lower()
    address = client_address(request)
    known = await limits_.login_allowed(name, address)  # refused while locked
    if not known:  # strangers share the username's budget; its owner's addresses do not
        await limits_.check(name, rule(request, "login_username"))
    try:
        result = await attempt()
    except Unauthorized:
        await limits_.login_failed(name, address)
        raise
    await limits_.login_succeeded(name, address)
    return result


async def guarded_login(request: Request, username: str, password: str,
                        device_name: str) -> Session:
    """Log in, or raise ``Unauthorized`` (wrong password) / ``RateLimited`` (locked)."""
    return await _guarded(request, username,
                          lambda: accounts(request).login(username, password, device_name))


async def guarded_check(request: Request, username: str, password: str) -> UserRecord:
    """Check a password without making a device (the console's login)."""
    return await _guarded(request, username,
                          lambda: accounts(request).check_credentials(username, password))
