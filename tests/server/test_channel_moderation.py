"""Every public surface passes the moderation engine before it is stored or shown."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import websockets

from tests.apps import attach
from tests.conftest import AppFactory, LiveServer, bearer, register
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.hold_util import partner_bank
from tests.server.report_util import staff
from tidings.moderation.engine import Surface
from tidings.moderation.signal_types import Sha256SignalType

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def bank(client: httpx.AsyncClient, entry: dict[str, str]) -> None:
    """An admin banks one entry labelled terrorist content in a new bank TERROR_TEST
    through the public bank API, as an operator would (``{"text": ...}`` or
    ``{"signal_type": ..., "value": ...}``); the gate matches it from then on."""
    admin = await staff(client, "bank_admin", "admin")
    r = await client.post("/api/v1/banks", headers=admin, json={"name": "TERROR_TEST"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/banks/TERROR_TEST/entries", headers=admin,
                          json={**entry, "labels": ["terrorist_content"]})
    assert r.status_code == 201 and r.json()["added"] >= 1, r.text


DECISIONS = re.compile(r'^tidings_moderation_decisions_total\{surface="([a-z_]+)",'
                       r'verdict="[a-z_]+"\} ([0-9.]+)$', re.M)


async def decided_surfaces(client: httpx.AsyncClient) -> Counter[str]:
    """Decisions taken so far, by surface, as the operator's /metrics counts them."""
    text = (await client.get("/metrics")).text
    counts: Counter[str] = Counter()
    for surface, value in DECISIONS.findall(text):
        counts[surface] += int(float(value))
    return counts


async def test_each_surface_is_checked(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        avatar = (await upload(client, alice, photo(seed=5)))["sha256"]
        before = await decided_surfaces(client)
        await channel(client, alice, "checked_chan", "Checked", description="About",
                      avatar=avatar)
        await channel(client, alice, "second_chan", "Second")
        p = await post(client, alice, "checked_chan", "hello", [avatar])
        await client.patch(f"/api/v1/channels/checked_chan/posts/{p['number']}", headers=alice,
                           json={"text": "hello again"})
        await client.post(f"/api/v1/channels/checked_chan/posts/{p['number']}/forward",
                          headers=alice, json={"to": "second_chan"})
        await client.patch("/api/v1/channels/checked_chan", headers=alice,
                           json={"title": "Checked Twice", "description": "New"})
        profile = await client.put("/api/v1/accounts/profile", headers=alice,
                                   json={"display_name": "Alice A.", "avatar": avatar})
        assert profile.status_code == 200, profile.text
        assert profile.json()["display_name"] == "Alice A."
        checked = +(await decided_surfaces(client) - before)
        assert set(checked) == {
            Surface.CHANNEL_HANDLE, Surface.CHANNEL_TITLE, Surface.CHANNEL_DESCRIPTION,
            Surface.CHANNEL_AVATAR, Surface.POST, Surface.EDIT, Surface.FORWARD,
            Surface.PROFILE_NAME, Surface.PROFILE_AVATAR}
        assert checked[Surface.CHANNEL_HANDLE] == 2  # both channels' handles


async def test_banked_text_is_rejected_with_reasons(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "clean_chan")
        await bank(client, {"text": "join the attack at dawn"})
        response = await client.post("/api/v1/channels/clean_chan/posts", headers=alice,
                                     json={"text": "join the attack at dawn"})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "content_rejected"
        assert "terrorist content" in error["message"]
        reason = error["details"]["reasons"][0]
        assert reason["bank"] == "TERROR_TEST"
        assert reason["labels"] == ["category:terrorist_content"]  # as the bank stores it
        assert "2021/784" in reason["ground"]
        page = (await client.get("/api/v1/channels/clean_chan/posts")).json()
        assert page["posts"] == []
        for surface_call in (
            client.post("/api/v1/channels", headers=alice, json={
                "handle": "other_chan", "title": "join the attack at dawn"}),
            client.put("/api/v1/accounts/profile", headers=alice,
                       json={"display_name": "join the attack at dawn"}),
        ):
            assert (await surface_call).json()["error"]["code"] == "content_rejected"


async def test_banked_image_is_rejected_and_nobody_receives_it(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        attach(client, server.app)
        alice = await user(client, "alice")
        reader = await register(client, "reader")
        await channel(client, alice, "image_chan")
        await client.post("/api/v1/channels/image_chan/subscription", headers=bearer(reader))
        media = await upload(client, alice, photo(seed=9))
        await bank(client, {"signal_type": "sha256", "value": Sha256SignalType.hash_from_bytes(
            (await client.get(media["preview_url"])).content)})
        ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
        async with websockets.connect(ws_url, additional_headers=bearer(reader)) as conn:
            await conn.send(json.dumps({"type": "hello", "since": 0}))
            assert json.loads(await conn.recv())["type"] == "live"
            rejected = await client.post("/api/v1/channels/image_chan/posts",
                                         headers=alice,
                                         json={"text": "look", "media": [media["sha256"]]})
            assert rejected.status_code == 422
            assert rejected.json()["error"]["details"]["reasons"][0]["signal_type"] == "sha256"
            fine = await post(client, alice, "image_chan", "a harmless post")
            frame = json.loads(await asyncio.wait_for(conn.recv(), 5))
            assert frame["post"]["number"] == fine["number"]  # the first it got: no leak
            assert frame["seq"] == 1


async def test_held_content_is_visible_only_to_its_admins(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        admin = await staff(client, "root_admin", "admin")
        await channel(client, alice, "held_chan")
        await partner_bank(client, admin, {"text": "wait for review"})  # partner-match-hold
        held = await post(client, alice, "held_chan", "wait for review")
        assert held["state"] == "held"
        url = f"/api/v1/channels/held_chan/posts/{held['number']}"
        assert (await client.get(url, headers=bob)).status_code == 404
        assert (await client.get(url, headers=alice)).json()["state"] == "held"
        assert (await client.get("/api/v1/channels/held_chan/posts", headers=bob)
                ).json()["posts"] == []
        mine = (await client.get("/api/v1/channels/held_chan/posts", headers=alice)).json()
        assert [p["number"] for p in mine["posts"]] == [held["number"]]
        log = (await client.get("/api/v1/channels/held_chan/updates")).json()
        assert log["updates"] == []  # never fanned out or logged
        assert (await client.get("/api/v1/search/posts?q=review")).json() == []
