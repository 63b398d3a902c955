"""Web console sessions: an HttpOnly cookie holding a device token, plus CSRF tokens.

A console login is a device like any other (named "web console"), so staff can see and
revoke it in their device list, and logging out revokes its token. The cookie is
HttpOnly, SameSite=Strict, scoped to ``/console`` and Secure behind TLS. Every form
POST carries a CSRF token derived from the session token with the server's cookie
secret (so it cannot be guessed from outside and needs no storage); the login form,
before any session exists, uses a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from tidings.protocol.errors import Forbidden, TidingsError, Unauthorized
from tidings.services.accounts import AccountService, Principal

SESSION_COOKIE = "tidings_console"
LOGIN_CSRF_COOKIE = "tidings_login_csrf"
COOKIE_PATH = "/console"
SESSION_MAX_AGE_S = 12 * 3600
CONSOLE_ROLES = frozenset({"moderator", "auditor", "admin"})


def csrf_for(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def set_session(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=secure)


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def set_login_csrf(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, value, max_age=3600, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=secure)


def check_login_csrf(request: Request, submitted: str) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, submitted):
        raise Forbidden("the form expired; reload the page and try again", "csrf_failed")


async def console_principal(request: Request) -> tuple[Principal, str] | None:
    """The staff member behind the cookie, or None if there is no valid session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    accounts: AccountService = request.app.state.accounts
    try:
        who = await accounts.authenticate(token)
    except TidingsError:
        return None
    return who, token


def require_csrf(request: Request, token: str, submitted: str) -> None:
    secret: bytes = request.app.state.secrets.cookie_secret
    if not hmac.compare_digest(csrf_for(secret, token), submitted or ""):
        raise Forbidden("the form expired; reload the page and try again", "csrf_failed")


def require_staff(who: Principal | None) -> Principal:
    if who is None:
        raise Unauthorized("log in first", "login_required")
    if who.role not in CONSOLE_ROLES:
        raise Forbidden("the console is for moderators, auditors and admins",
                        "forbidden_role")
    return who
