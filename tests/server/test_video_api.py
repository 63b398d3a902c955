"""Video through a real server: banked by vPDQ over HTTP, a re-encode refused at the
gate, another clip published, undecodable and too-long videos refused at upload."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from tests.apps import attach
from tests.conftest import LiveServer
from tests.moderation.videos import (
    CHAIR,
    PADDED,
    derive,
    letterbox,
    noise_video,
    reencode,
    unbarred,
)
from tests.server.channel_util import channel, upload, user
from tests.server.test_banks_api import LABEL_Q, staff
from tidings.moderation.limits import VIDEO_MAX_DURATION_S

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_banked_video_matches_its_reencode(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url,
                                                          timeout=120) as client:
        attach(client, server.app)
        admin = await staff(client, "boss", "admin")
        await client.post("/api/v1/banks", json={"name": "TERROR_VIDEO"},
                          headers=admin)
        banked = await client.post("/api/v1/banks/TERROR_VIDEO/entries" + LABEL_Q,
                                   content=CHAIR.read_bytes(), headers=admin)
        assert banked.status_code == 201, banked.text
        entries = banked.json()["entries"]
        # The reference's vpdq, the gate's (reduced frames), and the vpdq of its
        # frames with their (pillar) bars trimmed.
        assert sorted(e["signal_type"] for e in entries) == ["md5", "sha256", *["vpdq"] * 3]
        vpdq_value = next(e["value"] for e in entries if e["signal_type"] == "vpdq")
        assert vpdq_value.startswith('["') and len(vpdq_value) > 19 * 64

        alice = await user(client, "alice")
        await channel(client, alice, "video_chan")
        # Derived here with PyAV: the first 8 s of the banked clip, re-encoded.
        # The upload itself passes the engine (the media surface): refused at once.
        rejected = await client.post("/api/v1/media", headers=alice,
                                     content=reencode(CHAIR.read_bytes(), seconds=8, crf=35))
        assert rejected.status_code == 422, rejected.text
        assert rejected.json()["error"]["code"] == "content_rejected"
        reasons = rejected.json()["error"]["details"]["reasons"]
        assert {r["signal_type"] for r in reasons} == {"vpdq"}

        other = await upload(client, alice, PADDED.read_bytes())
        fine = await client.post("/api/v1/channels/video_chan/posts", headers=alice,
                                 json={"text": "a different clip", "media": [other["sha256"]]})
        assert fine.status_code == 201, fine.text


async def test_barred_and_unbarred_copies_are_refused(live_server: Live) -> None:
    """Derived here with PyAV from the banked clip (which has pillar bars): a copy
    letterboxed with dark grey bars, and the HD picture without its bars. Both are
    refused at upload; another clip letterboxed the same way is published."""
    data = CHAIR.read_bytes()
    async with live_server() as server, httpx.AsyncClient(base_url=server.url,
                                                          timeout=120) as client:
        attach(client, server.app)
        admin = await staff(client, "boss", "admin")
        await client.post("/api/v1/banks", json={"name": "TERROR_VIDEO"}, headers=admin)
        banked = await client.post("/api/v1/banks/TERROR_VIDEO/entries" + LABEL_Q,
                                   content=data, headers=admin)
        assert banked.status_code == 201, banked.text
        alice = await user(client, "alice")
        await channel(client, alice, "video_chan")
        copies = {"letterbox": derive(data, letterbox(0.12, colour=24), seconds=6),
                  "no bars": derive(data, unbarred((32, 0, 448, 720)), seconds=6)}
        for name, copy in copies.items():
            refused = await client.post("/api/v1/media", headers=alice, content=copy)
            assert refused.status_code == 422, (name, refused.text)
            assert refused.json()["error"]["code"] == "content_rejected", name
            reasons = refused.json()["error"]["details"]["reasons"]
            assert {r["signal_type"] for r in reasons} == {"vpdq"}, name
        other = await upload(client, alice, derive(PADDED.read_bytes(), letterbox(0.12)))
        fine = await client.post("/api/v1/channels/video_chan/posts", headers=alice,
                                 json={"text": "another clip, letterboxed",
                                       "media": [other["sha256"]]})
        assert fine.status_code == 201, fine.text


async def test_hostile_videos_are_refused_at_upload(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url,
                                                          timeout=120) as client:
        alice = await user(client, "alice")
        cases = {
            "video_undecodable": b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4000,
            "video_too_long": noise_video(VIDEO_MAX_DURATION_S + 5, fps=1),
        }
        for code, data in cases.items():
            response = await client.post("/api/v1/media", headers=alice, content=data)
            assert response.status_code == 422, (code, response.text)
            assert response.json()["error"]["code"] == code
        # Nothing was kept of them: the server still answers and a real clip uploads.
        assert (await upload(client, alice, PADDED.read_bytes()))["kind"] == "video"
