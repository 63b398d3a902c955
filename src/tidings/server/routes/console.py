"""The moderator web console: login, logout and the home page. Server-rendered, no JS."""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tidings.protocol.errors import RateLimited, TidingsError
from tidings.server import web_session as ws
from tidings.server.deps import client_address, limiter, rule
from tidings.server.login_guard import guarded_check
from tidings.server.state import edge_of, kernel_of

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("tidings.server") / "templates"))


def _secure(request: Request) -> bool:
    """Secure cookies over HTTPS: the request's own scheme (behind a proxy, uvicorn's
    ``--proxy-headers`` takes it from ``X-Forwarded-Proto`` of trusted proxies), or
    always when the operator sets ``secure_cookies`` (docs/security.md)."""
    return bool(kernel_of(request).settings.secure_cookies) or request.url.scheme == "https"


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    if await ws.console_principal(request) is not None:
        return RedirectResponse("/console", status_code=303)
    csrf = secrets.token_urlsafe(24)
    response = render(request, "console/login.html", csrf=csrf)
    ws.set_login_csrf(response, csrf, _secure(request))
    return response


@router.post("/login")
async def login(request: Request, username: str = Form(max_length=128),
                password: str = Form(max_length=1024), csrf: str = Form(default="", max_length=128)
                ) -> Response:
    ws.check_login_csrf(request, csrf)
    try:  # the same rates and backoff as the API's login (server/login_guard.py)
        await limiter(request).check(client_address(request), rule(request, "login"))
        user = await guarded_check(request, username, password)
    except TidingsError as exc:
        page = render(request, "console/login.html", status=exc.status, csrf=csrf,
                      error=exc.message, username=username[:64])
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if user.role not in ws.CONSOLE_ROLES:
        return render(request, "console/login.html", status=403, csrf=csrf,
                      error="the console is for moderators, auditors and admins",
                      username=username[:64])
    session_id, _ = await ws.sessions(request).start(user.id)
    redirect = RedirectResponse("/console", status_code=303)
    ws.set_session(request, redirect, session_id, _secure(request))
    redirect.delete_cookie(ws.LOGIN_CSRF_COOKIE, path=ws.COOKIE_PATH)
    return redirect


@router.post("/logout")
async def logout(request: Request, csrf: str = Form(default="", max_length=128)
                 ) -> Response:
    found = await ws.console_session(request)
    response = login_redirect()
    if found is not None:
        ws.require_csrf(request, found.csrf, csrf)
        await ws.sessions(request).end(request.cookies.get(ws.SESSION_COOKIE, ""))
    ws.clear_session(response)
    return response


@router.get("", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    found = await ws.console_session(request)
    if found is None:
        return login_redirect()
    who = found.principal
    if who.role not in ws.CONSOLE_ROLES:
        return render(request, "console/denied.html", status=403, who=who)
    sections = [s for s in edge_of(request).console_sections if who.role in s["roles"]]
    return render(request, "console/home.html", who=who, csrf=found.csrf,
                  sections=sections)
