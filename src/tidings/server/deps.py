"""FastAPI dependencies: who is calling, and the one service a route needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidings.protocol import limits
from tidings.protocol.errors import Forbidden, Unauthorized
from tidings.protocol.limits import RateRule
from tidings.server.ratelimit import RateLimiter
from tidings.server.state import edge_of, kernel_of
from tidings.services.accounts import AccountService, Principal
from tidings.services.streams import StreamService

bearer = HTTPBearer(auto_error=False, description="A device access token (tdg_...)")


def accounts(request: Request) -> AccountService:
    service: AccountService = kernel_of(request).accounts
    return service


async def streams(request: Request) -> StreamService:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool."""
    service: StreamService = kernel_of(request).streams
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


def limiter(request: Request) -> RateLimiter:
    found: RateLimiter = edge_of(request).limiter
    return found


def client_address(request: Request) -> str:
    """The caller's address; behind a proxy, run uvicorn with --proxy-headers (scaling.md)."""
    return request.client.host if request.client is not None else "unknown"


def rule(request: Request, name: str) -> RateRule:
    """The named rate as this server runs it (the operator may override ``limits``)."""
    rules: dict[str, RateRule] = edge_of(request).rate_rules
    return rules[name]


def rate_limit(name: str) -> Callable[..., Awaitable[None]]:
    """A dependency that counts the request against the named rule in ``limits.RATE_RULES``
    (with the operator's overrides from the ``rates`` setting).

    The rule's scope picks the key: the client address, or the caller's device or account
    (those authenticate first). Username rules need the body, so routes check them.
    """
    scope = limits.RATE_RULES[name].scope
    if scope == "address":
        async def _by_address(request: Request) -> None:
            await limiter(request).check(client_address(request), rule(request, name))

        return _by_address
    if scope in ("device", "account"):
        async def _by_principal(request: Request, who: Principal = Depends(principal)) -> None:
            await limiter(request).check(principal_key(who, scope), rule(request, name))

        return _by_principal
    raise ValueError(f"rule {name!r} is scoped by {scope}; check it in the route")


def principal_key(who: Principal, scope: str) -> str:
    """The limiter key of a caller for a device- or account-scoped rule."""
    return who.device_id if scope == "device" else f"u{who.user_id}"


async def check_rates(limiter_: RateLimiter, rules: dict[str, RateRule], who: Principal,
                      *names: str) -> None:
    """Count one action of ``who`` against each named device/account rule (the WebSocket
    path, which has no FastAPI dependencies)."""
    for name in names:
        found = rules[name]
        await limiter_.check(principal_key(who, found.scope), found)
