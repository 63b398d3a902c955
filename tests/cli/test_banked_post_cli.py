"""End to end through the CLI: a banked image cannot be published, in any copy.

An admin banks a picture with `tidings bank add --file`; a channel owner then tries to
post a resized, re-encoded copy with `tidings channel post --image`: refused with the
ground, and a live subscriber receives nothing. An unrelated picture is published.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import websockets
from PIL import Image

from tests.apps import kernel_of
from tests.cli.inproc import command as tidings
from tests.conftest import bearer
from tests.moderation.images import encode, generate

PASSWORD = "a long enough passphrase\n"


async def _frames(ws: websockets.ClientConnection, seconds: float) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    except TimeoutError:
        return frames


async def test_banked_image_is_refused_in_any_copy(live_server: Any, tmp_path: Path) -> None:
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD.strip(), "admin",
                                                    check_reserved=False)
        env = {"TIDINGS_SERVER": server.url}
        admin, owner = str(tmp_path / "admin"), str(tmp_path / "owner")
        reader = str(tmp_path / "reader")
        r = await tidings("account", "login", "boss", "--password-stdin", "--profile", admin,
                          stdin=PASSWORD, env=env)
        assert r.code == 0, r.err
        for name, prof in (("owner", owner), ("reader", reader)):
            r = await tidings("account", "register", name, "--password-stdin", "--profile",
                              prof, stdin=PASSWORD, env=env)
            assert r.code == 0, r.err

        original = generate(101)
        banked = tmp_path / "propaganda.png"
        banked.write_bytes(encode(original))
        w, h = original.size
        copy = tmp_path / "copy.jpg"  # half size, low-quality JPEG
        copy.write_bytes(encode(original.resize((w // 2, h // 2), Image.Resampling.BILINEAR),
                                "JPEG", quality=40))
        unrelated = tmp_path / "holiday.png"
        unrelated.write_bytes(encode(generate(202)))

        assert (await tidings("bank", "create", "TERRORIST_CONTENT", "--profile", admin,
                              env=env)).code == 0
        r = await tidings("bank", "add", "TERRORIST_CONTENT", "--file", str(banked),
                          "--label", "category:terrorist_content", "--profile", admin, env=env)
        assert r.code == 0, r.err
        r = await tidings("hash", str(copy), "--json")
        assert r.code == 0, r.err
        assert "pdq" in r.out

        assert (await tidings("channel", "create", "daily_news", "--title", "Daily News",
                              "--profile", owner, env=env)).code == 0
        assert (await tidings("channel", "subscribe", "daily_news", "--profile", reader,
                              env=env)).code == 0
        profile = json.loads((Path(reader) / "profile.json").read_text())
        async with websockets.connect(
                server.url.replace("http://", "ws://") + "/api/v1/ws",
                additional_headers=bearer(profile)) as ws:
            await ws.send(json.dumps({"type": "hello", "since": 0}))
            await _frames(ws, 0.5)  # replay and "live"

            r = await tidings("channel", "post", "daily_news", "look at this", "--image",
                              str(copy), "--profile", owner, env=env)
            assert r.code == 1
            assert "content_rejected" in r.err
            assert "terrorist" in r.err
            assert not [f for f in await _frames(ws, 1.0) if f.get("type") == "channel"]

            r = await tidings("channel", "post", "daily_news", "holiday", "--image",
                              str(unrelated), "--profile", owner, "--json", env=env)
            assert r.code == 0, r.err
            live = [f for f in await _frames(ws, 2.0) if f.get("type") == "channel"]
            assert len(live) == 1
            assert live[0]["post"]["text"] == "holiday"

        async with httpx.AsyncClient(base_url=server.url) as http:
            page = (await http.get("/api/v1/channels/daily_news/posts",
                                   headers=bearer(profile))).json()
        texts = [p["text"] for p in page["posts"]]
        assert texts == ["holiday"]
