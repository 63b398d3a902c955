"""Web console sessions: an HttpOnly cookie holding a server-side session id, and CSRF.

The session lives on the server (``services/console_sessions.py``): the cookie holds a
random id that is not an API token, the server keeps its hash, a CSRF secret per
session, and the idle and absolute timeouts. The cookie is HttpOnly, SameSite=Strict,
scoped to ``/console`` and Secure behind TLS. Every form POST carries the session's
CSRF token; the login form, before any session exists, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Response

from tidings.protocol.errors import Forbidden, Unauthorized
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.console_sessions import ConsoleSession, ConsoleSessions

SESSION_COOKIE = "tidings_console"
LOGIN_CSRF_COOKIE = "tidings_login_csrf"
COOKIE_PATH = "/console"
CONSOLE_ROLES = frozenset({"moderator", "auditor", "admin"})


def sessions(request: Request) -> ConsoleSessions:
    found: ConsoleSessions = kernel_of(request).console_sessions
    return found


def set_session(request: Request, response: Response, session_id: str, secure: bool) -> None:
    max_age = sessions(request).max_ms // 1000
    response.set_cookie(SESSION_COOKIE, session_id, max_age=max_age, path=COOKIE_PATH,
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


async def console_session(request: Request) -> ConsoleSession | None:
    """The live session behind the cookie, or None (no cookie, unknown, expired)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return await sessions(request).resolve(session_id)


async def console_principal(request: Request) -> tuple[Principal, str] | None:
    """The staff member behind the cookie and the session's CSRF token, or None."""
    found = await console_session(request)
    return None if found is None else (found.principal, found.csrf)


def require_csrf(request: Request, csrf: str, submitted: str) -> None:
    """The form's token must be this session's: a forged cross-site form cannot know it."""
    if not submitted or not hmac.compare_digest(csrf.encode(), submitted.encode()):
        raise Forbidden("the form expired; reload the page and try again", "csrf_failed")


def require_staff(who: Principal | None) -> Principal:
    if who is None:
        raise Unauthorized("log in first", "login_required")
    if who.role not in CONSOLE_ROLES:
        raise Forbidden("the console is for moderators, auditors and admins",
                        "forbidden_role")
    return who
