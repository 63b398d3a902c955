"""Each rate rule on its routes: 429 with Retry-After in the one error shape, recovery
after the period (a manual clock), the WebSocket send path, and operator overrides."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.apps import edge_of
from tests.conftest import REDIS_URL, AppFactory, LiveServer, bearer, login, register
from tests.server.channel_util import channel, user
from tests.server.report_util import PASSWORD, report_body, staff
from tests.server.test_gateway import events_until_live, recv, ws_url
from tests.server.test_keys_api import enrolled
from tidings.config import ConfigError, load_settings
from tidings.protocol import limits
from tidings.server.ratelimit import RedisRateLimiter
from tidings.services.clock import ManualClock

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
COMMITMENT = base64.b64encode(os.urandom(32)).decode()


def message(to: str, device: str, client_id: str) -> dict[str, Any]:
    return {"client_id": client_id, "to": to, "commitment": COMMITMENT,
            "envelopes": [{"device_id": device, "ciphertext": {"type": 0, "body": "QUJD"}}]}


async def reply(ws: websockets.ClientConnection) -> dict[str, Any]:
    """The next frame that is not a stream event (messages to this device interleave)."""
    while True:
        frame = await recv(ws)
        if frame["type"] != "event":
            return frame


def assert_limited(r: httpx.Response, retry_after: int, code: str = "rate_limited") -> None:
    assert r.status_code == 429, r.text
    assert r.headers["Retry-After"] == str(retry_after)
    assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"],
                                  "details": {"retry_after": retry_after}}}


async def test_sends_over_http_and_websocket_share_the_device_budget(live_server: Live) -> None:
    clock = ManualClock()
    async with live_server(clock=clock, rate_limits=True, rates=("send=3/60",)) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        a1, _ = await enrolled(http, "alice")
        b1, _ = await enrolled(http, "bob")
        send = message("bob", b1["device_id"], "")
        for i in range(2):
            r = await http.post("/api/v1/messages", headers=bearer(a1),
                                json={**send, "client_id": f"h{i}"})
            assert r.status_code == 200, r.text
        async with websockets.connect(ws_url(server), additional_headers=bearer(a1)) as ws:
            await ws.send(json.dumps({"type": "hello", "since": 0}))
            await events_until_live(ws)
            await ws.send(json.dumps({"type": "send", "ref": "w1", **send, "client_id": "w1"}))
            assert (await reply(ws))["type"] == "sent"
            await ws.send(json.dumps({"type": "send", "ref": "w2", **send, "client_id": "w2"}))
            refused = await reply(ws)
            assert (refused["type"], refused["ref"], refused["code"]) == (
                "error", "w2", "rate_limited")
            assert refused["details"] == {"retry_after": 20}
            # the connection stays open and the HTTP path is refused too
            await ws.send('{"type":"ping"}')
            assert (await reply(ws))["type"] == "pong"
            r = await http.post("/api/v1/messages", headers=bearer(a1),
                                json={**send, "client_id": "h9"})
            assert_limited(r, 20)
            # bob's device has a budget of its own (he accepts alice's message request
            # first: a stranger's first message arrives as a request)
            r = await http.post("/api/v1/requests/alice/accept", headers=bearer(b1))
            assert r.status_code in (200, 204), r.text
            r = await http.post("/api/v1/messages", headers=bearer(b1),
                                json=message("alice", a1["device_id"], "b1"))
            assert r.status_code == 200, r.text
            clock.advance(20_000)
            await ws.send(json.dumps({"type": "send", "ref": "w3", **send, "client_id": "w3"}))
            assert (await reply(ws))["type"] == "sent"
        # nothing refused was stored: bob got exactly the four accepted messages
        page = (await http.get("/api/v1/stream", params={"since": 0},
                               headers=bearer(b1))).json()
        assert len([e for e in page["events"] if e["kind"] == "message"]) == 4


@pytest.mark.redis
async def test_send_limit_with_the_redis_limiter(api: AppFactory, redis_prefix: str) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True, rates=("send=2/60",), redis_url=REDIS_URL,
                   redis_prefix=redis_prefix) as client:
        assert isinstance(edge_of(client).limiter, RedisRateLimiter)
        a1, _ = await enrolled(client, "alice")
        b1, _ = await enrolled(client, "bob")
        for i in range(2):
            r = await client.post("/api/v1/messages", headers=bearer(a1),
                                  json=message("bob", b1["device_id"], f"r{i}"))
            assert r.status_code == 200, r.text
        assert_limited(await client.post("/api/v1/messages", headers=bearer(a1),
                                         json=message("bob", b1["device_id"], "r2")), 30)
        clock.advance(30_000)
        assert (await client.post("/api/v1/messages", headers=bearer(a1),
                                  json=message("bob", b1["device_id"], "r3"))).status_code == 200


async def test_group_sends_count_as_sends(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True, rates=("send=2/10",)) as client:
        a1, _ = await enrolled(client, "alice")
        await register(client, "bob")
        group = (await client.post("/api/v1/groups", headers=bearer(a1),
                                   json={"title": "Club", "members": ["bob"]})).json()
        url = f"/api/v1/groups/{group['id']}/messages"

        def body(i: int) -> dict[str, str]:
            return {"client_id": f"g{i}", "session_id": "S1", "ciphertext": "TUVHT0xN",
                    "commitment": COMMITMENT}

        for i in range(2):
            assert (await client.post(url, headers=bearer(a1), json=body(i))).status_code == 200
        assert_limited(await client.post(url, headers=bearer(a1), json=body(2)), 5)
        clock.advance(5_000)
        assert (await client.post(url, headers=bearer(a1), json=body(3))).status_code == 200


async def test_posts_and_forwards_are_limited_per_account(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True, rates=("post=3/60",)) as client:
        alice = await user(client, "alice")
        await channel(client, alice, "news_desk")
        await channel(client, alice, "sports_desk")
        first = await client.post("/api/v1/channels/news_desk/posts", headers=alice,
                                  json={"text": "one"})
        assert first.status_code == 201
        second = await client.post("/api/v1/channels/sports_desk/posts", headers=alice,
                                   json={"text": "two"})  # all channels of the account
        assert second.status_code == 201
        fwd = f"/api/v1/channels/news_desk/posts/{first.json()['number']}/forward"
        assert (await client.post(fwd, headers=alice, json={"to": "sports_desk"})
                ).status_code == 201
        # another device of the same account shares the budget
        laptop = bearer(await login(client, "alice"))
        assert_limited(await client.post("/api/v1/channels/news_desk/posts", headers=laptop,
                                         json={"text": "three"}), 20)
        assert_limited(await client.post(fwd, headers=alice, json={"to": "sports_desk"}), 20)
        clock.advance(20_000)
        assert (await client.post("/api/v1/channels/news_desk/posts", headers=alice,
                                  json={"text": "four"})).status_code == 201
        history = (await client.get("/api/v1/channels/news_desk/posts")).json()["posts"]
        assert [p["text"] for p in history] == ["four", "one"]


async def test_reports_recover_after_the_period(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True, rates=("report=2/3600",)) as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "news_desk")
        body = report_body("channel", channel="news_desk")
        for _ in range(2):
            assert (await client.post("/api/v1/reports", headers=bob, json=body)
                    ).status_code == 201
        assert_limited(await client.post("/api/v1/reports", headers=bob, json=body), 1800)
        assert (await client.post("/api/v1/reports", headers=alice, json=body)
                ).status_code == 201  # per account
        clock.advance(1_800_000)
        assert (await client.post("/api/v1/reports", headers=bob, json=body)).status_code == 201


async def test_key_claims_are_limited_per_device_and_per_account(api: AppFactory) -> None:
    clock = ManualClock()
    rates = ("key_claim_device=2/60", "key_claim_account=3/60")
    async with api(clock=clock, rate_limits=True, rates=rates) as client:
        await enrolled(client, "alice", otks=20)
        bob = bearer(await register(client, "bob"))
        bob_laptop = bearer(await login(client, "bob"))
        claim = {"devices": {"alice": []}}
        for _ in range(2):
            r = await client.post("/api/v1/keys/claim", headers=bob, json=claim)
            assert r.status_code == 200, r.text
        assert_limited(await client.post("/api/v1/keys/claim", headers=bob, json=claim), 30)
        # another device of bob's: its own device budget, but the account's is shared
        assert (await client.post("/api/v1/keys/claim", headers=bob_laptop, json=claim)
                ).status_code == 200
        assert_limited(await client.post("/api/v1/keys/claim", headers=bob_laptop,
                                         json=claim), 20)
        clock.advance(30_000)
        assert (await client.post("/api/v1/keys/claim", headers=bob, json=claim)
                ).status_code == 200


async def test_console_login_meets_the_same_backoff(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True) as client:
        await staff(client, "mod_anna", "moderator")
        page = await client.get("/console/login")
        csrf = client.cookies["tidings_login_csrf"]
        assert page.status_code == 200

        async def attempt(password: str) -> httpx.Response:
            return await client.post("/console/login", data={
                "username": "mod_anna", "password": password, "csrf": csrf})

        for _ in range(limits.LOGIN_FREE_FAILURES + 1):
            assert (await attempt("wrong password")).status_code == 401
        locked = await attempt(PASSWORD)
        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == str(limits.LOGIN_BACKOFF_BASE_S)
        # the API's login shares the lock: it is one username from one address
        r = await client.post("/api/v1/accounts/login",
                              json={"username": "mod_anna", "password": PASSWORD})
        assert_limited(r, limits.LOGIN_BACKOFF_BASE_S, "login_locked")
        clock.advance(limits.LOGIN_BACKOFF_BASE_S * 1000)
        assert (await attempt(PASSWORD)).status_code == 303


async def test_rates_are_configurable_and_checked(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"TIDINGS_RATES": "send=1200/60, post=5/10"})
    rules = settings.rate_rules()
    assert (rules["send"].limit, rules["send"].period_s, rules["send"].scope) == (
        1200, 60, "device")
    assert (rules["post"].limit, rules["post"].period_s) == (5, 10)
    assert rules["report"] == limits.RATE_REPORT  # the others keep their defaults
    (tmp_path / "tidings.toml").write_text('rates = ["report=100/3600"]\n')
    assert load_settings(tmp_path, {}).rate_rules()["report"].limit == 100
    for bad in ("sned=1/1", "send=0/60", "send=ten/60", "send"):
        with pytest.raises(ConfigError, match="rates"):
            load_settings(tmp_path, {"TIDINGS_RATES": bad})
