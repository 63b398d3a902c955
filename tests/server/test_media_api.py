"""Media: sniffed types, cleaned photos, bombs, size limits, ranges, ETag, GC."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.moderation.videos import PADDED
from tests.server.channel_util import channel, photo, post, upload, user
from tidings.services import imaging
from tidings.services.media import MediaService


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims 400 megapixels (the pixels never exist)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


async def test_photo_is_cleaned_and_thumbnailed(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        original = photo(800, 600, fmt="JPEG", exif_gps=True)
        assert b"SecretCam" in original
        media = await upload(client, alice, original)
        assert media["kind"] == "photo" and media["media_type"] == "image/jpeg"
        assert (media["width"], media["height"]) == (800, 600)
        stored = (await client.get(media["preview_url"])).content
        assert b"SecretCam" not in stored
        assert not Image.open(io.BytesIO(stored)).getexif()
        thumb = Image.open(io.BytesIO(
            (await client.get(media["thumbnail_preview_url"])).content))
        assert max(thumb.size) == imaging.THUMBNAIL_MAX_SIDE


async def test_type_is_sniffed_not_declared(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        text = await client.post("/api/v1/media", headers={**alice, "content-type": "image/png"},
                                 content=b"<html><script>alert(1)</script></html>" * 3)
        assert text.json()["kind"] == "file"
        assert text.json()["media_type"] == "application/octet-stream"
        served = await client.get(text.json()["preview_url"])
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment")
        video = await upload(client, alice, PADDED.read_bytes())
        assert (video["kind"], video["media_type"]) == ("video", "video/mp4")
        # A file that only starts like an MP4 is decoded, and refused (issue 18).
        fake = await client.post("/api/v1/media", headers=alice,
                                 content=b"\0\0\0\x18ftypisom" + b"\0" * 5000)
        assert fake.status_code == 422 and fake.json()["error"]["code"] == "video_undecodable"


async def test_bombs_and_oversize_are_clear_4xx(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        bomb = await client.post("/api/v1/media", headers=alice, content=png_bomb())
        assert bomb.status_code == 400 and bomb.json()["error"]["code"] == "image_too_large"
        big = b"\x89PNG\r\n\x1a\n" + b"\0" * (imaging.PHOTO_MAX_BYTES + 1)
        too_big = await client.post("/api/v1/media", headers=alice, content=big)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "media_too_large"
        broken = await client.post("/api/v1/media", headers=alice,
                                   content=photo()[:60])
        assert broken.json()["error"]["code"] == "image_invalid"
        empty = await client.post("/api/v1/media", headers=alice, content=b"")
        assert empty.json()["error"]["code"] == "empty_upload"
        assert (await client.post("/api/v1/media", content=photo())).status_code == 401


async def test_ranges_etag_and_caching(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        data = bytes(range(256)) * 40  # a "file" of 10,240 bytes
        media = await upload(client, alice, b"%PDF-" + data)
        await channel(client, alice, "files")
        await post(client, alice, "files", "a document", [media["sha256"]])
        url = media["url"]
        full = await client.get(url)
        assert full.status_code == 200 and full.content == b"%PDF-" + data
        assert full.headers["etag"] == f'"{media["sha256"]}"'
        assert full.headers["cache-control"] == "public, max-age=60, must-revalidate"
        assert "immutable" not in full.headers["cache-control"]
        again = await client.get(url, headers={"If-None-Match": f'"{media["sha256"]}"'})
        assert again.status_code == 304
        assert full.headers["accept-ranges"] == "bytes"
        part = await client.get(url, headers={"Range": "bytes=5-9"})
        assert part.status_code == 206 and part.content == data[:5]
        assert part.headers["content-range"] == f"bytes 5-9/{len(data) + 5}"
        tail = await client.get(url, headers={"Range": "bytes=-3"})
        assert tail.status_code == 206 and tail.content == data[-3:]
        beyond = await client.get(url, headers={"Range": "bytes=999999-"})
        assert beyond.status_code == 416
        for bad in ("../../etc/passwd", "A" * 64, "0" * 64):
            assert (await client.get(f"/media/{bad}")).status_code == 404


async def test_gc_removes_only_unreferenced_blobs(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "gc_channel")
        kept = await upload(client, alice, photo(seed=3))
        dropped = await upload(client, alice, photo(seed=4))
        await post(client, alice, "gc_channel", "keep me", [kept["sha256"]])
        svc: MediaService = kernel_of(client).media
        assert (await svc.gc()).blobs_removed == 0  # grace period protects fresh uploads
        result = await svc.gc(grace_s=-1)
        assert result.blobs_removed == 2  # the photo and its thumbnail
        assert (await client.get(dropped["url"])).status_code == 404
        assert (await client.get(kept["url"])).status_code == 200
        assert (await client.get(kept["thumbnail_url"])).status_code == 200
