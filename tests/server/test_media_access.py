"""Media is private until cleared, removed media stays blocked (issue 17, items 2 and 3).

Every scenario goes through the HTTP API as its users would: anonymous readers, the
uploader, another user, staff. The leak scenarios of the issue: a rejected upload is
not downloadable, a retro-scan removal blocks the media, a text post linking a rejected
blob leads nowhere, re-uploading withdrawn media does not bring it back; plus signed
preview URLs (expiry, tampering) and the cache headers of every answer.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.server.channel_util import channel, internal_id, photo, post, upload
from tests.server.hold_util import partner_bank
from tests.server.order_util import eventually, member
from tidings.moderation.media_signals import LOW_TEXTURE_NOTE
from tidings.protocol import limits
from tidings.services.clock import ManualClock

PUBLIC = "public, max-age=60, must-revalidate"
TERROR = "category:terrorist_content"


async def get(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.get(url)


def assert_refused(r: httpx.Response, status: int | tuple[int, ...] = (404, 410)) -> None:
    allowed = (status,) if isinstance(status, int) else status
    assert r.status_code in allowed, (r.status_code, r.text[:200])
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["error"]["code"] in ("media_not_found", "media_gone")


async def bank_with(client: httpx.AsyncClient, admin: dict[str, str], name: str,
                    **entry: Any) -> dict[str, Any]:
    await client.post("/api/v1/banks", json={"name": name}, headers=admin)
    r = await client.post(f"/api/v1/banks/{name}/entries", headers=admin,
                          json={"labels": [TERROR], **entry})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def flat_png(grey: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (grey, grey, grey)).save(out, format="PNG")
    return out.getvalue()


async def test_upload_is_private_until_a_visible_post_uses_it(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await member(client, "alice"), await member(client, "bob")
        await channel(client, alice, "alice_news")
        await channel(client, bob, "bob_news")
        media = await upload(client, alice, photo(seed=11))
        for url in (media["url"], media["thumbnail_url"]):
            assert_refused(await client.get(url), 404)  # anonymous
            assert_refused(await client.get(url, headers=bob), 404)  # a token grants nothing
            assert_refused(await client.get(url, headers=alice), 404)  # not even the uploader's
        for url in (media["preview_url"], media["thumbnail_preview_url"]):
            r = await client.get(url)
            assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        assert media["moderation"]["state"] == "visible"
        assert {"md5", "sha256", "pdq"} <= set(media["moderation"]["signals"])
        # another user cannot publish it: answered exactly like an id that does not exist
        stolen = await client.post("/api/v1/channels/bob_news/posts", headers=bob,
                                   json={"text": "mine now", "media": [media["sha256"]]})
        unknown = await client.post("/api/v1/channels/bob_news/posts", headers=bob,
                                    json={"text": "x", "media": ["ab" * 32]})
        assert stolen.status_code == unknown.status_code == 404
        assert stolen.json()["error"]["code"] == unknown.json()["error"]["code"] == \
            "unknown_media"
        avatar = await client.put("/api/v1/accounts/profile", headers=bob,
                                  json={"avatar": media["sha256"]})
        assert avatar.status_code == 404
        assert_refused(await client.get(media["url"]), 404)
        first = await post(client, alice, "alice_news", "a picture", [media["sha256"]])
        for url in (media["url"], media["thumbnail_url"]):
            r = await client.get(url)
            assert r.status_code == 200 and r.headers["cache-control"] == PUBLIC
            assert "immutable" not in r.headers["cache-control"]
        # public and cleared: anyone may now share it
        second = await post(client, bob, "bob_news", "seen elsewhere", [media["sha256"]])
        assert (await client.delete(f"/api/v1/channels/alice_news/posts/{first['number']}",
                                    headers=alice)).status_code == 204
        assert (await client.get(media["url"])).status_code == 200  # bob's post still uses it
        assert (await client.delete(f"/api/v1/channels/bob_news/posts/{second['number']}",
                                    headers=bob)).status_code == 204
        for url in (media["url"], media["thumbnail_url"]):
            assert_refused(await client.get(url))
        preview = await client.get(media["preview_url"])  # the uploader still sees it
        assert preview.status_code == 200 and preview.headers["cache-control"] != PUBLIC


async def test_signed_preview_expires_and_cannot_be_forged(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice, bob = await member(client, "alice"), await member(client, "bob")
        media = await upload(client, alice, photo(seed=12))
        other = await upload(client, bob, photo(seed=13))
        sha = media["sha256"]
        good = media["preview_url"]
        assert (await client.get(good)).status_code == 200
        q = {k: v[0] for k, v in parse_qs(urlsplit(good).query).items()}
        flipped = q["sig"][:-1] + ("0" if q["sig"][-1] != "0" else "1")
        thumb_q = urlsplit(media["thumbnail_preview_url"]).query
        bob_q = urlsplit(other["preview_url"]).query
        forged = [
            f"/media/{sha}?u={q['u']}&exp={q['exp']}&sig={flipped}",  # tampered signature
            f"/media/{sha}?u={q['u']}&exp={int(q['exp']) + 3600}&sig={q['sig']}",  # longer
            f"/media/{sha}?u={int(q['u']) + 1}&exp={q['exp']}&sig={q['sig']}",  # other user
            f"/media/{sha}?{thumb_q}",  # the thumbnail's signature on the photo
            f"/media/{sha}?{bob_q}",  # bob's signature for his own upload
            f"/media/{sha}?u={q['u']}&exp={q['exp']}&sig=",
            f"/media/{sha}?u=-1&exp=99999999999999999999&sig={q['sig']}",
            f"/media/{other['sha256']}?{urlsplit(good).query}",  # alice's on bob's upload
        ]
        for url in forged:
            assert_refused(await client.get(url), 404)
        clock.advance((limits.MEDIA_PREVIEW_TTL_S + 1) * 1000)
        assert_refused(await client.get(good), 404)
        fresh = await client.get(f"/api/v1/media/{sha}/preview", headers=alice)
        assert fresh.status_code == 200
        assert fresh.json()["preview_expires_at"] == clock.now // 1000 + \
            limits.MEDIA_PREVIEW_TTL_S
        assert (await client.get(fresh.json()["preview_url"])).status_code == 200
        for who in (bob, {}):
            assert (await client.get(f"/api/v1/media/{sha}/preview",
                                     headers=who)).status_code in (401, 404)


async def test_upload_matching_a_partner_list_is_refused_and_never_stored(
        api: AppFactory) -> None:
    """Partner lists bank the MD5 of the file as it circulates; photos are re-encoded
    here, so only the hash of the bytes as uploaded can match it."""
    async with api() as client:
        admin, alice = await member(client, "root", "admin"), await member(client, "alice")
        await channel(client, alice, "alice_news")
        original = photo(seed=14, fmt="JPEG")
        await bank_with(client, admin, "PARTNER_TERROR", signal_type="md5",
                        value=hashlib.md5(original, usedforsecurity=False).hexdigest())
        refused = await client.post("/api/v1/media", headers=alice, content=original)
        assert refused.status_code == 422, refused.text
        body = refused.json()["error"]
        assert body["code"] == "content_rejected"
        assert body["details"]["surface"] == "media"
        assert body["details"]["reasons"][0]["bank"] == "PARTNER_TERROR"
        db = kernel_of(client).db
        async with db.read() as conn:
            count = (await conn.exec_driver_sql("SELECT count(*) FROM media")).scalar_one()
        assert count == 0  # nothing of it was stored
        sha = hashlib.sha256(original).hexdigest()
        assert_refused(await client.get(f"/media/{sha}"), 404)
        # a text post linking to the refused blob publishes text, never the bytes
        await post(client, alice, "alice_news", f"look: http://testserver/media/{sha}")
        assert_refused(await client.get(f"/media/{sha}"), 404)


async def test_media_banked_after_upload_is_never_served(api: AppFactory) -> None:
    async with api() as client:
        admin, alice = await member(client, "root", "admin"), await member(client, "alice")
        await channel(client, alice, "alice_news")
        media = await upload(client, alice, photo(seed=15))
        await bank_with(client, admin, "TERROR_LATE", signal_type="sha256",
                        value=media["sha256"])
        rejected = await client.post("/api/v1/channels/alice_news/posts", headers=alice,
                                     json={"text": "look", "media": [media["sha256"]]})
        assert rejected.status_code == 422
        linking = await post(client, alice, "alice_news", f"it is at {media['url']}")
        assert linking["state"] == "visible"
        for url in (media["url"], media["preview_url"], media["thumbnail_url"]):
            assert (await client.get(url)).status_code in (404, 410)  # uploader included


async def test_removal_withdraws_media_everywhere_and_reupload_stays_blocked(
        api: AppFactory) -> None:
    async with api() as client:
        admin = await member(client, "root", "admin")
        mod = await member(client, "mod", "moderator")
        alice, bob = await member(client, "alice"), await member(client, "bob")
        await channel(client, alice, "alice_news")
        await channel(client, bob, "bob_news")
        original = photo(seed=16, fmt="JPEG")
        media = await upload(client, alice, original)
        cleaned = (await client.get(media["preview_url"])).content
        p = await post(client, alice, "alice_news", "the picture", [media["sha256"]])
        await post(client, bob, "bob_news", "a copy of it", [media["sha256"]])
        assert (await client.get(media["url"])).status_code == 200
        pid = await internal_id(client, mod, "alice_news", p["number"])
        r = await client.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod, json={})
        assert r.status_code == 200, r.text
        assert r.json()["media_withdrawn"] == [media["sha256"]]
        # bob's post still names it, but the bytes are withdrawn on every use
        for url in (media["url"], media["thumbnail_url"], media["preview_url"]):
            assert_refused(await client.get(url), 410)
        for data in (original, cleaned):  # whoever uploads it again
            again = await client.post("/api/v1/media", headers=bob, content=data)
            assert again.status_code == 422
            assert again.json()["error"]["code"] == "content_rejected"
        # even with the takedown bank switched off, the withdrawal holds
        off = await client.patch("/api/v1/banks/LOCAL_TAKEDOWN", headers=admin,
                                 json={"enabled": False})
        assert off.status_code == 200, off.text
        again = await client.post("/api/v1/media", headers=bob, content=cleaned)
        assert again.status_code == 422 and again.json()["error"]["code"] == "media_withdrawn"
        reuse = await client.post("/api/v1/channels/alice_news/posts", headers=alice,
                                  json={"text": "again", "media": [media["sha256"]]})
        assert reuse.status_code == 422 and reuse.json()["error"]["code"] == "media_withdrawn"
        assert_refused(await client.get(media["url"]), 410)


async def test_retro_scan_removal_blocks_media(api: AppFactory) -> None:
    async with api() as client:
        admin, alice = await member(client, "root", "admin"), await member(client, "alice")
        await channel(client, alice, "alice_news")
        original = photo(seed=17, fmt="JPEG")
        media = await upload(client, alice, original)
        p = await post(client, alice, "alice_news", "innocent until banked", [media["sha256"]])
        assert (await client.get(media["url"])).status_code == 200
        await client.post("/api/v1/banks", json={"name": "TERROR_RETRO"}, headers=admin)
        added = await client.post(f"/api/v1/banks/TERROR_RETRO/entries?label={TERROR}",
                                  headers=admin, content=original)
        assert added.status_code == 201, added.text
        url = f"/api/v1/channels/alice_news/posts/{p['number']}"

        async def state() -> str:
            r = await client.get(url)
            return str(r.json().get("state")) if r.status_code == 200 else str(r.status_code)

        assert await eventually(state, lambda s: s != "visible", timeout=20) != "visible"
        # switch the partner bank off: the retro-scan's withdrawal still blocks the media
        await client.patch("/api/v1/banks/TERROR_RETRO", headers=admin, json={"enabled": False})
        await client.patch("/api/v1/banks/LOCAL_TAKEDOWN", headers=admin,
                           json={"enabled": False})
        for u in (media["url"], media["thumbnail_url"]):
            assert_refused(await client.get(u), 410)
        bob = await member(client, "bob")
        again = await client.post("/api/v1/media", headers=bob, content=original)
        assert again.status_code == 422 and again.json()["error"]["code"] == "media_withdrawn"


async def test_held_post_media_stays_private(api: AppFactory) -> None:
    """A post the gate holds (its text is in a partner bank) keeps its innocent picture
    private: only the author's signed preview works until a moderator decides."""
    text = "wait for the review of this picture"
    async with api() as client:
        admin, alice = await member(client, "root", "admin"), await member(client, "alice")
        await channel(client, alice, "alice_news")
        media = await upload(client, alice, photo(seed=18))
        assert media["moderation"]["state"] == "visible"
        await partner_bank(client, admin, {"text": text})
        held = await post(client, alice, "alice_news", text, [media["sha256"]])
        assert held["state"] == "held"
        for url in (media["url"], media["thumbnail_url"]):
            assert_refused(await client.get(url), 410)
        assert (await client.get(media["preview_url"])).status_code == 200


async def test_low_texture_picture_is_matched_by_exact_hashes_and_says_so(
        api: AppFactory) -> None:
    async with api() as client:
        admin, alice = await member(client, "root", "admin"), await member(client, "alice")
        flat = flat_png(120)
        media = await upload(client, alice, flat)
        assert media["moderation"]["low_texture"] is True
        assert media["moderation"]["note"] == LOW_TEXTURE_NOTE
        await client.post("/api/v1/banks", json={"name": "TERROR_FLAT"}, headers=admin)
        banked = await client.post(f"/api/v1/banks/TERROR_FLAT/entries?label={TERROR}",
                                   headers=admin, content=flat)
        assert banked.status_code == 201
        assert banked.json()["notes"] == [LOW_TEXTURE_NOTE]
        assert {e["signal_type"] for e in banked.json()["entries"]} == {"md5", "sha256"}
        assert (await client.post("/api/v1/media", headers=alice,
                                  content=flat)).status_code == 422
        other = await upload(client, alice, flat_png(121))  # no flat-PDQ false match
        assert other["moderation"]["low_texture"] is True


async def test_publish_gate_reuses_the_signals_of_the_upload(
        api: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire, not a stand-in: after the upload, any decode or PDQ fails loudly."""
    async with api() as client:
        alice = await member(client, "alice")
        await channel(client, alice, "alice_news")
        media = await upload(client, alice, photo(seed=19))

        def tripwire(*_: Any, **__: Any) -> Any:
            raise AssertionError("media decoded again after the upload")

        import pdqhash

        from tidings.moderation import signal_types
        from tidings.services import imaging
        monkeypatch.setattr(pdqhash, "compute", tripwire)
        monkeypatch.setattr(imaging, "process_photo", tripwire)
        monkeypatch.setattr(signal_types, "decode_image", tripwire)
        published = await post(client, alice, "alice_news", "no second decode",
                               [media["sha256"]])
        assert published["state"] == "visible"
        assert (await client.get(media["url"])).status_code == 200
