"""FastAPI dependencies: who is calling, and the one service a route needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidings.protocol.errors import Forbidden, Unauthorized
from tidings.services.accounts import AccountService, Principal
from tidings.services.streams import StreamService

bearer = HTTPBearer(auto_error=False, description="A device access token (tdg_...)")


def accounts(request: Request) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


def streams(request: Request) -> StreamService:
    service: StreamService = request.app.state.streams
    return service


async def principal(request: Request,
                    creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("this needs an access token (Authorization: Bearer ...)",
                           "missing_token")
    who = await accounts(request).authenticate(creds.credentials)
    request.state.principal = who
    return who


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets only the given roles through (403 for the rest)."""
    allowed = frozenset(roles)

    async def _check(who: Principal = Depends(principal)) -> Principal:
        if who.role not in allowed:
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(allowed))}",
                            "forbidden_role")
        return who

    return _check
