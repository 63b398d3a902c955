"""Issue 20 item 2 on one process (SQLite, in-process bus): measures that end a session
close its live sockets within a second, and what the session sends afterwards is
refused. The same on two processes with PostgreSQL and Redis: test_live_measures_cluster.

Each test polls a real socket to a deadline counted from the moment the measure's
request returned (``live_measures.closed_within``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from tests.apps import edge_of, kernel_of
from tests.conftest import LiveServer, bearer, login, register
from tests.server.channel_util import channel
from tests.server.live_measures import closed_within, connect, refused, still_open
from tests.server.report_util import PASSWORD, report, report_body
from tests.server.test_review_api import decide
from tidings.protocol import limits
from tidings.protocol.control import EndReason

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
ROOT = Path(__file__).resolve().parents[2]


async def staff(server: LiveServer, http: httpx.AsyncClient, name: str, role: str
                ) -> dict[str, str]:
    await kernel_of(server).accounts.create_user(name, PASSWORD, role, check_reserved=False)
    return bearer(await login(http, name))


async def test_suspension_closes_every_device_of_the_account(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        phone = await register(http, "mallory")
        laptop = await login(http, "mallory")
        bob = await register(http, "bob")
        anna = await staff(server, http, "mod_anna", "moderator")
        sockets = [await connect(server.url, s["token"]) for s in (phone, laptop)]
        bystander = await connect(server.url, bob["token"])
        case = (await report(http, bearer(bob), report_body("account", account="mallory"))
                )["case_id"]
        await decide(http, anna, case, "suspend_account", "other")
        since = time.monotonic()
        for conn in sockets:
            closed = await closed_within(conn, since)
            assert (closed.code, closed.reason) == (limits.WS_CLOSE_REVOKED, "suspended")
        assert await still_open(bystander)  # nobody else's socket
        # Later sends are refused: no new socket, no HTTP send.
        assert await refused(server.url, phone["token"]) == limits.WS_CLOSE_UNAUTHORIZED
        r = await http.post("/api/v1/messages", headers=bearer(phone), json={})
        assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"
        await bystander.close()


async def test_device_removal_and_logout_close_only_that_device(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        phone = await register(http, "carol")
        laptop = await login(http, "carol")
        on_phone = await connect(server.url, phone["token"])
        on_laptop = await connect(server.url, laptop["token"])
        second_on_laptop = await connect(server.url, laptop["token"])
        r = await http.delete(f"/api/v1/accounts/devices/{laptop['device_id']}",
                              headers=bearer(phone))
        assert r.status_code == 204
        since = time.monotonic()
        for conn in (on_laptop, second_on_laptop):
            closed = await closed_within(conn, since)
            assert closed.reason == EndReason.DEVICE_REMOVED.value
        assert await still_open(on_phone)
        assert await refused(server.url, laptop["token"]) == limits.WS_CLOSE_UNAUTHORIZED
        r = await http.post("/api/v1/accounts/logout", headers=bearer(phone))
        assert r.status_code == 204
        closed = await closed_within(on_phone, time.monotonic())
        assert (closed.code, closed.reason) == (limits.WS_CLOSE_REVOKED, "logged_out")


async def test_another_users_device_id_closes_nothing(live_server: Live) -> None:
    """A hostile user who learns a device id cannot end that device's session."""
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        victim = await register(http, "dora")
        attacker = await register(http, "eve")
        conn = await connect(server.url, victim["token"])
        r = await http.delete(f"/api/v1/accounts/devices/{victim['device_id']}",
                              headers=bearer(attacker))
        assert r.status_code == 404
        await asyncio.sleep(limits.SESSION_END_POLL_S * 2)  # the log poll too
        assert await still_open(conn)
        await conn.close()


async def test_account_deletion_closes_its_sockets(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        me = await register(http, "fay")
        conn = await connect(server.url, me["token"])
        r = await http.post("/api/v1/accounts/delete", headers=bearer(me),
                            json={"password": "a long enough passphrase"})
        assert r.status_code == 204
        closed = await closed_within(conn, time.monotonic())
        assert closed.reason == EndReason.ACCOUNT_DELETED.value


async def test_password_reset_from_the_cli_closes_sockets_without_a_bus(
        live_server: Live, tmp_path: Path) -> None:
    """The operator's CLI is another process with no bus to the SQLite server: the
    server finds the reset in the session log within a second."""
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        me = await register(http, "gus")
        other = await login(http, "gus")
        sockets = [await connect(server.url, s["token"]) for s in (me, other)]
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tidings.cli", "admin", "set-password", "gus",
             "--password-stdin", "--data", str(tmp_path / "data")],
            input=b"another long passphrase\n", capture_output=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr.decode()
        since = time.monotonic()
        for conn in sockets:
            closed = await closed_within(conn, since)
            assert closed.reason == EndReason.PASSWORD_RESET.value
        assert await refused(server.url, me["token"]) == limits.WS_CLOSE_UNAUTHORIZED


async def test_a_channel_ban_revokes_the_live_feed_on_every_socket(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        owner = await register(http, "hank")
        reader = await register(http, "ivy")
        anna = await staff(server, http, "mod_anna", "moderator")
        created = await channel(http, bearer(owner), "hank_news")
        r = await http.post("/api/v1/channels/hank_news/subscription", headers=bearer(reader))
        assert r.status_code == 200, r.text
        conn = await connect(server.url, reader["token"])
        fanout = edge_of(server).gateway.channels
        assert fanout.connections(created["id"]) == 1
        case = (await report(http, bearer(reader), report_body("channel", channel="hank_news"))
                )["case_id"]
        await decide(http, anna, case, "ban_channel", "violent_extremism")
        deadline = time.monotonic() + 1.0
        while fanout.connections(created["id"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert fanout.connections(created["id"]) == 0
        assert await still_open(conn)  # the reader did nothing wrong: only the feed goes
        await conn.close()
        # A reconnect does not re-attach the banned channel, and its owner cannot post.
        conn = await connect(server.url, reader["token"])
        assert fanout.connections(created["id"]) == 0
        r = await http.post("/api/v1/channels/hank_news/posts", headers=bearer(owner),
                            json={"text": "still here"})
        assert r.status_code in (403, 404, 410), r.text
        await conn.close()


@pytest.mark.parametrize("reason", list(EndReason))
async def test_a_session_end_jumps_the_queue_and_refuses_later_frames(
        live_server: Live, reason: EndReason) -> None:
    """The gateway end to end without the database: the bus message alone closes the
    socket with its reason, even when frames are queued ahead of it."""
    from tidings.protocol.control import SessionEnded
    from tidings.services.live import end_sessions

    async with live_server() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        me = await register(http, f"jo_{reason.value[:8]}")
        conn = await connect(server.url, me["token"])
        streams = kernel_of(server).streams
        await streams.append([(me["device_id"], "test", {"n": i}) for i in range(50)])
        await end_sessions(kernel_of(server).bus, [SessionEnded(0, None, reason, 0)])
        # user id 0 is nobody: nothing closes
        assert await still_open(conn)
        who = await kernel_of(server).accounts.authenticate(me["token"])
        await end_sessions(kernel_of(server).bus, [SessionEnded(who.user_id, None, reason, 0)])
        closed = await closed_within(conn, time.monotonic())
        assert (closed.code, closed.reason) == (limits.WS_CLOSE_REVOKED, reason.value)
