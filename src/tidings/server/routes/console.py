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
from tidings.server.login_guard import guarded_login
from tidings.services.accounts import AccountService

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("tidings.server") / "templates"))


def _secure(request: Request) -> bool:
    """Secure cookies over HTTPS: the request's own scheme (behind a proxy, uvicorn's
    ``--proxy-headers`` takes it from ``X-Forwarded-Proto`` of trusted proxies), or
    always when the operator sets ``secure_cookies`` (docs/security.md)."""
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https"


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
                password: str = Form(max_length=1024), csrf: str = Form(max_length=128)
                ) -> Response:
    ws.check_login_csrf(request, csrf)
    accounts: AccountService = request.app.state.accounts
    try:  # the same rates and backoff as the API's login (server/login_guard.py)
        await limiter(request).check(client_address(request), rule(request, "login"))
        session = await guarded_login(request, username, password, "web console")
    except TidingsError as exc:
        page = render(request, "console/login.html", status=exc.status, csrf=csrf,
                      error=exc.message, username=username[:64])
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if session.principal.role not in ws.CONSOLE_ROLES:
        await accounts.revoke_device(session.principal, session.device.id)
        return render(request, "console/login.html", status=403, csrf=csrf,
                      error="the console is for moderators, auditors and admins",
                      username=username[:64])
    redirect = RedirectResponse("/console", status_code=303)
    ws.set_session(redirect, session.token, _secure(request))
    redirect.delete_cookie(ws.LOGIN_CSRF_COOKIE, path=ws.COOKIE_PATH)
    return redirect


@router.post("/logout")
async def logout(request: Request, csrf: str = Form(max_length=128)) -> Response:
    found = await ws.console_principal(request)
    response = login_redirect()
    if found is not None:
        who, token = found
        ws.require_csrf(request, token, csrf)
        accounts: AccountService = request.app.state.accounts
        await accounts.revoke_device(who, who.device_id)
    ws.clear_session(response)
    return response


@router.get("", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    found = await ws.console_principal(request)
    if found is None:
        return login_redirect()
    who, token = found
    if who.role not in ws.CONSOLE_ROLES:
        return render(request, "console/denied.html", status=403, who=who)
    secret: bytes = request.app.state.secrets.cookie_secret
    sections = [s for s in request.app.state.console_sections if who.role in s["roles"]]
    return render(request, "console/home.html", who=who, csrf=ws.csrf_for(secret, token),
                  sections=sections)
