"""Hostile media: decompression bombs, truncated and lying files, stalled uploads and
path traversal in media ids and blob names, on media upload and profile pictures.

Every refusal is a clear 4xx in the one error shape, with no media row, no blob and no
temp file left behind (the whole database and blob stores compared before and after).
Catalogue: docs/hostile-inputs.md.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from tests.server.channel_util import photo
from tests.server.hostile_util import (
    BODY_TIMEOUT_S,
    HostileServer,
    assert_error,
    hostile_fixture,  # noqa: F401 - the module's server fixture
    parse_raw,
    raw_exchange,
)
from tidings.services import imaging

MEDIA = "/api/v1/media"
PROFILE = "/api/v1/accounts/profile"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, idat: bytes, bit_depth: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def header_bomb() -> bytes:
    """A 100 KB-ish PNG whose header declares 100000 x 100000 pixels (10 gigapixels)."""
    return png(100_000, 100_000, zlib.compress(b"\0" * 100_000))


def pixel_bomb() -> bytes:
    """A real, decodable 1-bit 8000 x 8000 PNG (64 megapixels) compressed to ~8 KB."""
    row = b"\0" + b"\0" * (8000 // 8)
    return png(8000, 8000, zlib.compress(row * 8000, 9), bit_depth=1, colour=0)


def frame_bomb() -> bytes:
    """An animated GIF with more frames than anyone may make the server re-encode."""
    colours = [(255, 0, 0), (0, 0, 255)]  # frames differ, so the encoder keeps them all
    frames = [Image.new("RGB", (4, 4), colours[i % 2])
              for i in range(imaging.MAX_GIF_FRAMES + 50)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=10)
    return out.getvalue()


def truncated(fmt: str) -> bytes:
    data = photo(200, 150, fmt=fmt)
    return data[: len(data) // 2]


def _profile(hostile: HostileServer, me: dict[str, str]) -> dict[str, object]:
    import httpx

    r = httpx.get(hostile.url + PROFILE, headers=me, timeout=10)
    assert r.status_code == 200
    result: dict[str, object] = r.json()
    return result


@pytest.mark.parametrize(("name", "make", "code"), [
    ("header bomb 100000x100000", header_bomb, "image_too_large"),
    ("pixel bomb 8000x8000 in 8 KB", pixel_bomb, "image_too_large"),
    ("animation bomb", frame_bomb, "image_too_large"),
    ("truncated PNG", lambda: truncated("PNG"), "image_invalid"),
    ("truncated JPEG", lambda: truncated("JPEG"), "image_invalid"),
])
async def test_bad_image_upload_refused(hostile: HostileServer, name: str,
                                        make: object, code: str) -> None:
    data = make()  # type: ignore[operator]
    me = hostile.user("someone")
    before = hostile.snapshot()
    async with hostile.client() as client:
        r = await client.post(MEDIA, headers={**me, "content-type": "image/png"}, content=data)
        assert_error(r, 400, code)
        assert hostile.snapshot() == before, name
        digest = hashlib.sha256(data).hexdigest()
        assert_error(await client.get(f"/media/{digest}"), 404, "media_not_found")


@pytest.mark.parametrize("make", [header_bomb, lambda: truncated("JPEG")],
                         ids=["bomb", "truncated"])
async def test_bad_image_as_profile_picture(hostile: HostileServer, make: object) -> None:
    """The upload is refused, so there is no id to set; naming its hash anyway is 4xx
    and the profile keeps its picture."""
    me = hostile.user("pictured")
    async with hostile.client() as client:
        good = await client.post(MEDIA, headers=me, content=photo(64, 64, seed=7))
        assert good.status_code == 201
        r = await client.put(PROFILE, headers=me, json={"avatar": good.json()["sha256"]})
        assert r.status_code == 200
        before_profile = _profile(hostile, me)
        data = make()  # type: ignore[operator]
        before = hostile.snapshot()
        r = await client.post(MEDIA, headers=me, content=data)
        assert r.status_code == 400
        r = await client.put(PROFILE, headers=me,
                             json={"avatar": hashlib.sha256(data).hexdigest()})
        assert_error(r, 404, "unknown_media")
        assert hostile.snapshot() == before
        assert _profile(hostile, me) == before_profile


async def test_lying_mime_is_stored_as_what_it_is_and_is_no_picture(
        hostile: HostileServer) -> None:
    """HTML declared as image/png is kept as an opaque download, never served as an
    image or page, and cannot become a profile picture."""
    me = hostile.user("pictured")
    html = b"<html><script>alert(document.cookie)</script></html>" * 4
    async with hostile.client() as client:
        r = await client.post(MEDIA, headers={**me, "content-type": "image/png"}, content=html)
        assert r.status_code == 201
        assert (r.json()["kind"], r.json()["media_type"]) == ("file",
                                                              "application/octet-stream")
        served = await client.get(r.json()["preview_url"])
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment")
        before = hostile.snapshot()
        before_profile = _profile(hostile, me)
        refused = await client.put(PROFILE, headers=me, json={"avatar": r.json()["sha256"]})
        assert 400 <= refused.status_code < 500
        assert_error(refused, refused.status_code)
        assert hostile.snapshot() == before
        assert _profile(hostile, me) == before_profile


async def test_oversized_photo_stream_refused(hostile: HostileServer) -> None:
    """A PNG signature followed by more than the photo limit, without Content-Length."""
    me = hostile.user("someone")

    async def body():  # type: ignore[no-untyped-def]
        yield b"\x89PNG\r\n\x1a\n"
        for _ in range(imaging.PHOTO_MAX_BYTES // (1024 * 1024) + 1):
            yield b"\0" * (1024 * 1024)

    before = hostile.snapshot()
    async with hostile.client() as client:
        r = await client.post(MEDIA, headers=me, content=body())
        assert_error(r, 413, "media_too_large")
    assert hostile.snapshot() == before


async def test_stalled_upload_leaves_no_temp_file(hostile: HostileServer) -> None:
    """Half an upload, then silence: 408 after the body timeout; the temp file is gone."""
    me = hostile.user("someone")
    data = photo(300, 200, seed=3)
    head = (f"POST {MEDIA} HTTP/1.1\r\nHost: t\r\nAuthorization: {me['Authorization']}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    before = hostile.snapshot()
    answer, elapsed = await raw_exchange(hostile.port, [head, data[: len(data) // 2]],
                                         pause_s=0.05, read_timeout_s=BODY_TIMEOUT_S + 5)
    status, body = parse_raw(answer)
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert elapsed < BODY_TIMEOUT_S + 3
    assert hostile.snapshot() == before


TRAVERSALS = [
    "../secrets.json",
    "..%2F..%2Fsecrets.json",
    "%2e%2e%2f%2e%2e%2fsecrets.json",
    "%2e%2e/%2e%2e/secrets.json",
    "..%5c..%5csecrets.json",
    "%2Fetc%2Fpasswd",
    "%2F" + "a" * 63,
    "a" * 64 + "%00.png",
    "A" * 64,
]


@pytest.mark.parametrize("prefix", ["/media/", "/api/v1/attachments/"])
@pytest.mark.parametrize("name", TRAVERSALS)
async def test_path_traversal_in_media_ids(hostile: HostileServer, prefix: str,
                                           name: str) -> None:
    """Sent as raw bytes so no client library normalises the path first."""
    me = hostile.user("someone")
    request = (f"GET {prefix}{name} HTTP/1.1\r\nHost: t\r\n"
               f"Authorization: {me['Authorization']}\r\nConnection: close\r\n\r\n").encode()
    answer, _ = await raw_exchange(hostile.port, request)
    status, body = parse_raw(answer)
    assert status in (400, 404), answer[:300]
    assert set(body) == {"error"} and body["error"]["code"]
    assert b"token_pepper" not in answer and b"root:" not in answer


@pytest.mark.parametrize("media_id", ["../../secrets.json", "/etc/passwd",
                                      "a" * 63 + "\\u0000", "..%2F" + "a" * 59])
async def test_path_traversal_in_blob_names_posted(hostile: HostileServer,
                                                   media_id: str) -> None:
    """A post or a profile picture naming a path instead of a media id: 400, nothing
    stored."""
    me = hostile.user("someone")
    async with hostile.client() as client:
        if (await client.get("/api/v1/channels/walkers", headers=me)).status_code == 404:
            made = await client.post("/api/v1/channels", headers=me,
                                     json={"handle": "walkers", "title": "Walkers"})
            assert made.status_code == 201
        before = hostile.snapshot()
        body = '{"text": "look", "media": ["' + media_id + '"]}'
        r = await client.post("/api/v1/channels/walkers/posts", content=body,
                              headers={**me, "content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert_error(r, 400)
        r = await client.put(PROFILE, content='{"avatar": "' + media_id + '"}',
                             headers={**me, "content-type": "application/json"})
        assert_error(r, 400)
        assert hostile.snapshot() == before
