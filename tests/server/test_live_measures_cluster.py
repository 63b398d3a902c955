"""Issue 20 item 2 across processes: two real ``tidings serve`` processes on one
PostgreSQL and one Redis (``cluster.py``). A measure taken on one process closes the
affected sockets on the other within a second (``SessionEnded`` over the Redis bus,
the session log behind it), and their later sends are refused.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    POSTGRES_URL,
    REDIS_URL,
    REQUIRE_SERVICES,
    _postgres_available,
    bearer,
    login,
    redis_available,
    register,
    reset_postgres,
)
from tests.server.cluster import Cluster
from tests.server.live_measures import closed_within, connect, refused, still_open
from tests.server.report_util import PASSWORD, report_body
from tidings.protocol import limits
from tidings.protocol.control import EndReason

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not asyncio.run(_postgres_available()):
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable")
    if not asyncio.run(redis_available()):
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but not reachable at {REDIS_URL}")
        pytest.skip("Redis not reachable")
    asyncio.run(reset_postgres())
    group = Cluster(tmp_path_factory.mktemp("live") / "data", POSTGRES_URL,
                    f"tidings-test:{secrets.token_hex(6)}:", size=2)
    try:
        group.setup()
        group.cli("admin", "create-user", "mod_live", "--role", "moderator",
                  "--password-stdin", stdin=PASSWORD.encode() + b"\n")
        yield group
    finally:
        group.stop()


async def test_suspension_on_one_process_closes_sockets_on_both(cluster: Cluster) -> None:
    a, b = cluster.url(0), cluster.url(1)
    async with httpx.AsyncClient(base_url=a, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b, timeout=30) as on_b:
        phone = await register(on_a, "mallory_x")
        laptop = await login(on_b, "mallory_x")
        bob = await register(on_a, "bob_x")
        mod = bearer(await login(on_b, "mod_live", PASSWORD))
        sockets = [await connect(a, phone["token"]), await connect(b, laptop["token"])]
        bystander = await connect(b, bob["token"])
        r = await on_a.post("/api/v1/reports", headers=bearer(bob),
                            json=report_body("account", account="mallory_x"))
        assert r.status_code == 201, r.text
        r = await on_b.post(f"/api/v1/mod/cases/{r.json()['case_id']}/decision",
                            headers=mod, json={"action": "suspend_account", "policy": "other"})
        assert r.status_code == 200, r.text
        since = time.monotonic()
        for conn in sockets:
            closed = await closed_within(conn, since)
            assert (closed.code, closed.reason) == (limits.WS_CLOSE_REVOKED, "suspended")
        assert await still_open(bystander)
        for url in (a, b):
            assert await refused(url, laptop["token"]) == limits.WS_CLOSE_UNAUTHORIZED
        r = await on_a.post("/api/v1/messages", headers=bearer(phone), json={})
        assert r.status_code == 403
        await bystander.close()


async def test_device_removal_crosses_processes(cluster: Cluster) -> None:
    a, b = cluster.url(0), cluster.url(1)
    async with httpx.AsyncClient(base_url=a, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b, timeout=30) as on_b:
        phone = await register(on_a, "carol_x")
        laptop = await login(on_b, "carol_x")
        on_phone = await connect(a, phone["token"])
        on_laptop = await connect(b, laptop["token"])
        r = await on_a.delete(f"/api/v1/accounts/devices/{laptop['device_id']}",
                              headers=bearer(phone))
        assert r.status_code == 204
        closed = await closed_within(on_laptop, time.monotonic())
        assert closed.reason == EndReason.DEVICE_REMOVED.value
        assert await still_open(on_phone)
        r = await on_b.post("/api/v1/accounts/logout", headers=bearer(phone))
        assert r.status_code == 204
        closed = await closed_within(on_phone, time.monotonic())
        assert closed.reason == EndReason.LOGGED_OUT.value


async def test_cli_password_reset_closes_sockets_on_every_process(cluster: Cluster) -> None:
    a, b = cluster.url(0), cluster.url(1)
    async with httpx.AsyncClient(base_url=a, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b, timeout=30) as on_b:
        one = await register(on_a, "gus_x")
        two = await login(on_b, "gus_x")
        sockets = [await connect(a, one["token"]), await connect(b, two["token"])]
        await asyncio.to_thread(cluster.cli, "admin", "set-password", "gus_x",
                                "--password-stdin", stdin=b"another long passphrase\n")
        since = time.monotonic()
        for conn in sockets:
            closed = await closed_within(conn, since)
            assert closed.reason == EndReason.PASSWORD_RESET.value
