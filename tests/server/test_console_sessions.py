"""Console sessions live on the server (issue 20 item 7): the cookie is not an API token
and an API token is not a console cookie; idle and absolute timeouts; logout,
suspension and password reset end them; every POST needs the session's CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.apps import kernel_of
from tests.conftest import AppFactory, bearer, login, register
from tests.server.report_util import PASSWORD, report, report_body, staff
from tests.server.test_review_api import decide
from tidings.services.accounts import AccountService
from tidings.services.clock import ManualClock

COOKIE = "tidings_console"
MINUTE_MS = 60_000


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _console_login(client: httpx.AsyncClient, name: str, role: str = "moderator"
                         ) -> str:
    accounts: AccountService = kernel_of(client).accounts
    await accounts.create_user(name, PASSWORD, role, check_reserved=False)
    page = await client.get("/console/login")
    r = await client.post("/console/login", data={
        "username": name, "password": PASSWORD, "csrf": _csrf(page.text)})
    assert r.status_code == 303, r.text
    cookie = client.cookies.get(COOKIE, path="/console")
    assert cookie
    return cookie


async def _signed_in(client: httpx.AsyncClient) -> bool:
    r = await client.get("/console")
    if r.status_code == 303:
        assert r.headers["location"] == "/console/login"
        return False
    assert r.status_code == 200, r.text
    return True


async def test_the_cookie_is_not_an_api_token_and_no_token_opens_the_console(
        api: AppFactory) -> None:
    async with api() as client:
        cookie = await _console_login(client, "mod_cara")
        assert not cookie.startswith("tdg_")
        for path in ("/api/v1/accounts/me", "/api/v1/mod/queue"):
            r = await client.get(path, headers={"Authorization": f"Bearer {cookie}"})
            assert r.status_code == 401, r.text
        # No device was made for the console login: the staff member's devices are theirs.
        accounts: AccountService = kernel_of(client).accounts
        user = await accounts.user("mod_cara")
        async with accounts.db.read() as conn:
            assert await accounts.store.devices_of(conn, user.id) == []
        # An API token of the same moderator is not a console session.
        token = (await login(client, "mod_cara", PASSWORD))["token"]
        client.cookies.clear()
        client.cookies.set(COOKIE, token, path="/console")
        assert not await _signed_in(client)
        r = await client.get("/console/queue")
        assert r.status_code == 303


async def test_idle_and_absolute_timeouts(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, console_idle_timeout_s=30 * 60,
                   console_session_max_s=2 * 3600) as client:
        await _console_login(client, "mod_dan")
        # Busy: a request every 20 minutes keeps the session past the idle timeout ...
        for _ in range(5):
            clock.advance(20 * MINUTE_MS)
            assert await _signed_in(client)
        # ... until two hours after login, however busy.
        clock.advance(20 * MINUTE_MS)  # 120 minutes
        assert not await _signed_in(client)
        await client.post("/console/logout", data={})
        client.cookies.clear()
        await _console_login(client, "mod_dan2")
        clock.advance(29 * MINUTE_MS)
        assert await _signed_in(client)
        clock.advance(31 * MINUTE_MS)  # idle for 31 minutes
        assert not await _signed_in(client)
        # The cookie's own lifetime is the absolute timeout, not longer.
        page = await client.get("/console/login")
        r = await client.post("/console/login", data={
            "username": "mod_dan2", "password": PASSWORD, "csrf": _csrf(page.text)})
        assert "max-age=7200" in r.headers["set-cookie"].lower()


async def test_logout_ends_the_session_on_the_server(api: AppFactory) -> None:
    async with api() as client:
        cookie = await _console_login(client, "mod_eli")
        home = await client.get("/console")
        r = await client.post("/console/logout", data={"csrf": _csrf(home.text)})
        assert r.status_code == 303
        client.cookies.set(COOKIE, cookie, path="/console")  # a copy kept by an attacker
        assert not await _signed_in(client)


async def test_suspension_and_password_reset_end_console_sessions(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "adm_fay", "admin")
        bob = bearer(await register(client, "bob_reporter"))
        await _console_login(client, "mod_gus")
        kept = dict(client.cookies.items())
        case = (await report(client, bob, report_body("account", account="mod_gus"))
                )["case_id"]
        await decide(client, admin, case, "suspend_account", "other")
        assert not await _signed_in(client)
        client.cookies.clear()
        await _console_login(client, "mod_hal")
        assert await _signed_in(client)
        accounts: AccountService = kernel_of(client).accounts
        await accounts.set_password("mod_hal", "another long passphrase")
        assert not await _signed_in(client)
        assert kept  # the suspended moderator's cookie was real


@pytest.mark.parametrize("csrf", [None, "", "forged-token-value", "é"])
async def test_every_console_post_needs_the_sessions_csrf(api: AppFactory,
                                                          csrf: str | None) -> None:
    async with api() as client:
        await _console_login(client, "mod_ida")
        form = {} if csrf is None else {"csrf": csrf}
        for path, extra in (("/console/preferences", {"reveal_media": "on"}),
                            ("/console/cases/1/claim", {}),
                            ("/console/cases/1/decision", {"action": "no_action",
                                                           "policy": "other"}),
                            ("/console/orders/1/execute", {}),
                            ("/console/logout", {})):
            r = await client.post(path, data={**form, **extra})
            assert r.status_code == 403, (path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "csrf_failed"
        assert await _signed_in(client)  # the refused logout ended nothing


async def test_another_sessions_csrf_token_is_refused(api: AppFactory) -> None:
    async with api() as first, api() as second:
        await _console_login(first, "mod_jo")
        await _console_login(second, "mod_kim")
        theirs = _csrf((await second.get("/console")).text)
        r = await first.post("/console/preferences", data={"csrf": theirs})
        assert r.status_code == 403
        mine = _csrf((await first.get("/console")).text)
        r = await first.post("/console/preferences", data={"csrf": mine})
        assert r.status_code == 303
