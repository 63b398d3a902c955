"""Password logins behind the per-username rate and the login backoff.

The API's ``POST /accounts/login`` and the web console's login form both log in
through here, so guessing passwords through either meets the same limits
(server/ratelimit.py explains the backoff). The per-address rate is a dependency of
the API route (it counts malformed requests too) and checked by the console itself.
"""

from __future__ import annotations

from fastapi import Request

from tidings.protocol.errors import Unauthorized
from tidings.server.deps import accounts, client_address, limiter, rule
from tidings.services.accounts import Session


async def guarded_login(request: Request, username: str, password: str,
                        device_name: str) -> Session:
    """Log in, or raise ``Unauthorized`` (wrong password) / ``RateLimited`` (locked)."""
    limits_ = limiter(request)
    name = username.strip().lower()
    address = client_address(request)
    known = await limits_.login_allowed(name, address)  # refused while locked
    if not known:  # strangers share the username's budget; its owner's addresses do not
        await limits_.check(name, rule(request, "login_username"))
    try:
        session = await accounts(request).login(username, password, device_name)
    except Unauthorized:
        await limits_.login_failed(name, address)
        raise
    await limits_.login_succeeded(name, address)
    return session
