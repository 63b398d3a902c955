"""Hostile identity: lookalike names and tokens replayed after logout.

Lookalikes of an existing channel handle or a reserved name are refused (4xx, nothing
created); a device token or console cookie used after logout or revocation is refused
everywhere (REST 401, WebSocket close 4001, console back to its login page).
Catalogue: docs/hostile-inputs.md.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.server.hostile_util import (
    PASSWORD,
    HostileServer,
    assert_error,
    hostile_fixture,  # noqa: F401 - the module's server fixture
)
from tidings.protocol import limits

CHANNELS = "/api/v1/channels"


async def _owner_channel(hostile: HostileServer, client: httpx.AsyncClient) -> None:
    owner = hostile.user("someone")
    if (await client.get(f"{CHANNELS}/dailypost", headers=owner)).status_code == 404:
        r = await client.post(CHANNELS, headers=owner,
                              json={"handle": "dailypost", "title": "Daily Post"})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(("handle", "status", "code"), [
    ("dailyp\u043est", 400, "invalid_handle"),   # Cyrillic о in an existing handle
    ("d\u0430ilypost", 400, "invalid_handle"),   # Cyrillic а
    ("dai1ypost", 409, "handle_confusable"),     # 1 for l
    ("dailyp0st", 409, "handle_confusable"),     # 0 for o
    ("daily_post", 409, "handle_confusable"),    # a separator only
    ("\u0430dmin", 400, "invalid_handle"),       # Cyrillic а in a reserved name
    ("adm1n", 409, "reserved_handle"),           # ASCII lookalike of a reserved name
    ("t1dings", 409, "reserved_handle"),
    ("suppor\u0442", 400, "invalid_handle"),     # Cyrillic т
])
async def test_lookalike_channel_handles_refused(hostile: HostileServer, handle: str,
                                                 status: int, code: str) -> None:
    someone = hostile.user("someone")
    async with hostile.client() as client:
        await _owner_channel(hostile, client)
        before = hostile.snapshot()
        r = await client.post(CHANNELS, headers=someone,
                              json={"handle": handle, "title": "Totally New"})
        assert_error(r, status, code)
        assert hostile.snapshot() == before


@pytest.mark.parametrize("name", ["\u0422idings", "\u0410dmin", "Tid\u0456ngs Support",
                                  "\u041coderator", "T\u0399DINGS"])
async def test_lookalike_reserved_display_names_refused(hostile: HostileServer,
                                                        name: str) -> None:
    """Display names may be any script, but may not pose as the platform in any.

    ``Тidings`` with a Cyrillic capital Т slipped through (found by this test): case
    folding ran before the confusable skeleton and turned Т into т, whose prototype
    is a small capital ᴛ, not t. protocol/confusables.py now skeletons first.
    """
    me = hostile.user("someone")
    async with hostile.client() as client:
        before_profile = (await client.get("/api/v1/accounts/profile", headers=me)).json()
        before = hostile.snapshot()
        r = await client.put("/api/v1/accounts/profile", headers=me,
                             json={"display_name": name})
        assert_error(r, 409, "reserved_display_name")
        assert hostile.snapshot() == before
        assert (await client.get("/api/v1/accounts/profile", headers=me)).json() \
            == before_profile


async def test_lookalike_reserved_channel_title_refused(hostile: HostileServer) -> None:
    me = hostile.user("someone")
    async with hostile.client() as client:
        before = hostile.snapshot()
        r = await client.post(CHANNELS, headers=me,
                              json={"handle": "officialnews", "title": "\u0422idings Official"})
        assert 400 <= r.status_code < 500
        assert_error(r, r.status_code)
        assert hostile.snapshot() == before


@pytest.mark.parametrize("username", ["\u0430dmin", "adm1n", "m0derator"])
async def test_lookalike_reserved_usernames_refused(hostile: HostileServer,
                                                    username: str) -> None:
    before = hostile.snapshot()
    async with hostile.client() as client:
        r = await client.post("/api/v1/accounts/register", json={
            "username": username, "password": PASSWORD})
        assert r.status_code in (400, 409)
        assert_error(r, r.status_code)
    assert hostile.snapshot() == before


async def _session(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post("/api/v1/accounts/register", json={
        "username": name, "password": PASSWORD, "device_name": "phone"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _ws_close_code(hostile: HostileServer, headers: dict[str, str]) -> int:
    async with websockets.connect(hostile.ws_url, additional_headers=headers) as conn:
        await conn.send(json.dumps({"type": "hello", "since": 0}))
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await conn.recv()
    assert info.value.rcvd is not None
    return info.value.rcvd.code


async def test_device_token_replayed_after_logout(hostile: HostileServer) -> None:
    async with hostile.client() as client:
        me = await _session(client, "replayer")
        assert (await client.get("/api/v1/accounts/me", headers=me)).status_code == 200
        assert (await client.post("/api/v1/accounts/logout", headers=me)).status_code == 204
        before = hostile.snapshot()
        assert_error(await client.get("/api/v1/accounts/me", headers=me), 401)
        r = await client.post(CHANNELS, headers=me, json={"handle": "replayed", "title": "R"})
        assert_error(r, 401)
        r = await client.post("/api/v1/accounts/logout", headers=me)
        assert_error(r, 401)
        assert await _ws_close_code(hostile, me) == limits.WS_CLOSE_UNAUTHORIZED
        assert hostile.snapshot() == before


async def test_device_token_replayed_after_revocation(hostile: HostileServer) -> None:
    """A device revoked from another device's list is as dead as a logged-out one."""
    async with hostile.client() as client:
        phone = await _session(client, "revoker")
        r = await client.post("/api/v1/accounts/login", json={
            "username": "revoker", "password": PASSWORD, "device_name": "stolen laptop"})
        laptop = {"Authorization": f"Bearer {r.json()['token']}"}
        r = await client.delete(f"/api/v1/accounts/devices/{r.json()['device_id']}",
                                headers=phone)
        assert r.status_code == 204
        assert_error(await client.get("/api/v1/accounts/me", headers=laptop), 401)
        assert await _ws_close_code(hostile, laptop) == limits.WS_CLOSE_UNAUTHORIZED
        assert (await client.get("/api/v1/accounts/me", headers=phone)).status_code == 200


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def test_console_cookie_replayed_after_logout(hostile: HostileServer) -> None:
    """The cookie's token is revoked at logout: the saved cookie opens nothing."""
    await hostile.create_staff("replay_mod", "moderator")
    async with hostile.client() as client:
        page = await client.get("/console/login")
        r = await client.post("/console/login", data={
            "username": "replay_mod", "password": PASSWORD, "csrf": _csrf(page.text)})
        assert r.status_code == 303
        cookie = client.cookies.get("tidings_console", path="/console")
        assert cookie
        home = await client.get("/console")
        assert home.status_code == 200 and "replay_mod" in home.text
        r = await client.post("/console/logout", data={"csrf": _csrf(home.text)})
        assert r.status_code == 303
    async with hostile.client() as attacker:
        before = hostile.snapshot()
        attacker.cookies.set("tidings_console", cookie, path="/console")
        r = await attacker.get("/console")
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
        r = await attacker.get("/console/queue")
        assert r.status_code in (303, 401)
        assert "replay_mod" not in r.text
        r = await attacker.get("/api/v1/accounts/me",
                               headers={"Authorization": f"Bearer {cookie}"})
        assert_error(r, 401)
        assert hostile.snapshot() == before
