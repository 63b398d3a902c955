"""The moderator web console's login, session cookie and CSRF protection."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory, register
from tidings.services.accounts import AccountService

PASSWORD = "a long enough passphrase"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _staff(client: httpx.AsyncClient, name: str, role: str) -> None:
    accounts: AccountService = kernel_of(client).accounts
    await accounts.create_user(name, PASSWORD, role, check_reserved=False)


async def _login(client: httpx.AsyncClient, name: str) -> httpx.Response:
    page = await client.get("/console/login")
    assert page.status_code == 200
    return await client.post("/console/login", data={
        "username": name, "password": PASSWORD, "csrf": _csrf(page.text)})


async def test_staff_login_sets_a_strict_cookie_and_logout_revokes(api: AppFactory,
                                                                   tmp_path: Path) -> None:
    async with api() as client:
        await _staff(client, "mod_anna", "moderator")
        r = await _login(client, "mod_anna")
        assert r.status_code == 303
        assert r.headers["location"] == "/console"
        cookie = r.headers["set-cookie"].lower()
        for flag in ("httponly", "samesite=strict", "path=/console"):
            assert flag in cookie
        home = await client.get("/console")
        assert home.status_code == 200
        assert "mod_anna" in home.text
        assert "moderator" in home.text
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        # logout needs the session's CSRF token
        r = await client.post("/console/logout", data={"csrf": "forged"})
        assert r.status_code == 403
        r = await client.post("/console/logout", data={"csrf": _csrf(home.text)})
        assert r.status_code == 303
        accounts: AccountService = kernel_of(client).accounts
        user = await accounts.user("mod_anna")
        async with accounts.db.read() as conn:
            assert await accounts.store.devices_of(conn, user.id) == []
        assert (await client.get("/console")).status_code == 303


async def test_login_form_needs_its_csrf_cookie(api: AppFactory) -> None:
    async with api() as client:
        await _staff(client, "mod_ben", "moderator")
        r = await client.post("/console/login", data={
            "username": "mod_ben", "password": PASSWORD, "csrf": "made-up"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "csrf_failed"


async def test_wrong_password_and_non_staff_are_refused(api: AppFactory) -> None:
    async with api() as client:
        await register(client, "plainuser")
        page = await client.get("/console/login")
        r = await client.post("/console/login", data={
            "username": "plainuser", "password": "not the password", "csrf": _csrf(page.text)})
        assert r.status_code == 401
        assert "wrong username or password" in r.text
        r = await client.post("/console/login", data={
            "username": "plainuser", "password": PASSWORD, "csrf": _csrf(page.text)})
        assert r.status_code == 403
        assert "for moderators" in r.text
        assert "set-cookie" not in r.headers or "tidings_console=" not in r.headers["set-cookie"]


async def test_console_redirects_anonymous_visitors(api: AppFactory) -> None:
    async with api() as client:
        r = await client.get("/console")
        assert r.status_code == 303
        assert r.headers["location"] == "/console/login"
        css = await client.get("/static/console.css")
        assert css.status_code == 200
        assert "blur" in css.text
