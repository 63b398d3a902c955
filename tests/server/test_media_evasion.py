"""Issue 18 items 2 and 3 through the HTTP API: every image evasion of a banked real
photograph is refused at upload (``content_rejected``), and an innocent real photo is
published.

Two real photographs (``data/photos``, from scikit-image) are banked through the banks
API as an admin would (``POST .../entries`` with the file: its PDQ plus the bank-side
variants); edited copies are uploaded as a channel owner would. The bank carries no
terrorist label, so rejections give no strike. Recall over many photos and random
parameters is measured by benchmarks/evasion_eval.py, not here."""

from __future__ import annotations

import hashlib
import io
import os
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from tests.apps import kernel_of
from tests.conftest import AppFactory, bearer, login
from tests.server.channel_util import channel, user
from tidings.services import hash_workers, imaging

PHOTOS = Path(__file__).parent / "data" / "photos"
BANK = "EVASION_MEDIA"
LABEL_Q = "?label=category:violent_extremism"
PASSWORD = "a long enough passphrase"


def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / f"{name}.jpg") as img:
        return img.convert("RGB")


def encode(img: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def noisy(size: tuple[int, int], colour: tuple[int, int, int], seed: int) -> Image.Image:
    base = np.full((size[1], size[0], 3), colour, dtype=np.float32)
    base += np.random.default_rng(seed).normal(0, 4, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def on_canvas(img: Image.Image, size: tuple[int, int], at: tuple[int, int],
              colour: tuple[int, int, int]) -> Image.Image:
    canvas = noisy(size, colour, seed=size[0])
    canvas.paste(img, at)
    return canvas


def border(img: Image.Image) -> Image.Image:
    d = round(max(img.size) * 0.05)
    return on_canvas(img, (img.width + 2 * d, img.height + 2 * d), (d, d), (200, 30, 30))


def letterbox(img: Image.Image) -> Image.Image:
    width = round(img.height * 16 / 9)
    return on_canvas(img, (width, img.height), ((width - img.width) // 2, 0), (5, 5, 5))


def canvas(img: Image.Image) -> Image.Image:
    size = (round(img.width / 0.8), round(img.height / 0.8))
    return on_canvas(img, size, (size[0] - img.width - 7, 11), (240, 240, 240))


def caption(img: Image.Image) -> Image.Image:
    bar = round(img.height * 0.18)
    out = Image.new("RGB", (img.width, img.height + bar), (255, 255, 255))
    out.paste(img, (0, bar))
    font = ImageFont.load_default(int(bar * 0.45))
    ImageDraw.Draw(out).text((12, bar // 4), "WHEN THE WEEKEND", fill=(0, 0, 0), font=font)
    return out


def one_side_crop(img: Image.Image) -> Image.Image:
    return img.crop((round(img.width * 0.05), 0, img.width, img.height))


def animated(first: Image.Image, second: Image.Image, fmt: str = "GIF") -> bytes:
    """An innocent first frame, then the banked photo (GIF, animated WebP or APNG)."""
    second = second.resize(first.size)
    return encode(first, fmt, save_all=True, append_images=[second], duration=[300, 1500],
                  loop=0)


def alpha_carried(img: Image.Image) -> bytes:
    """White pixels everywhere; the picture lives only in the alpha channel (a viewer on
    a dark background sees it)."""
    out = Image.new("RGBA", img.size, (255, 255, 255, 0))
    out.putalpha(img.convert("L"))
    return encode(out, "PNG")


def evasions() -> dict[str, bytes]:
    cat, cup = photo("chelsea"), photo("coffee")
    return {
        "flip": encode(ImageOps.mirror(cat)),
        "rotate_90": encode(cup.transpose(Image.Transpose.ROTATE_90)),
        "border": encode(border(cat)),
        "letterbox": encode(letterbox(cup)),
        "canvas": encode(canvas(cat)),
        "caption_bar": encode(caption(cup)),
        "one_side_crop": encode(one_side_crop(cat)),
        "animated_gif_frame": animated(photo("motorcycle_left"), cat),
        "animated_webp_frame": animated(photo("motorcycle_left"), cup, "WEBP"),
        "apng_frame": animated(photo("motorcycle_left"), cat, "PNG"),
        "alpha_channel": alpha_carried(cup),
    }


def watermark(img: Image.Image, corner: str) -> Image.Image:
    """A channel's watermark: a box 12 % of the width with its name, in a corner."""
    out = img.copy()
    bw, bh = round(img.width * 0.12), round(img.width * 0.04)
    x = 4 if "l" in corner else img.width - bw - 4
    y = 4 if "t" in corner else img.height - bh - 4
    draw = ImageDraw.Draw(out)
    draw.rectangle((x, y, x + bw, y + bh), fill=(20, 20, 160))
    draw.text((x + 2, y + 1), "@chan", fill=(255, 255, 0), font=ImageFont.load_default(bh - 2))
    return out


def centre_crop(img: Image.Image, share: float) -> Image.Image:
    dx, dy = round(img.width * share / 2), round(img.height * share / 2)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


def hard_evasions() -> dict[str, bytes]:
    """Copies missed before the trim candidates, corner masks and 5 % crop row (PDQ
    distances 32-60 from every banked row): a texture (a brick wall) bordered,
    letterboxed, on a canvas, cropped 10 % or watermarked in a corner; and near-black
    letterbox bars around a dark picture whose edge is close to the bars' colour (the
    Hubble deep field; caught before at 30 bits, at 8 now)."""
    wall, space = photo("brick"), photo("hubble_deep_field")
    wide = round(space.height * 16 / 9)
    return {
        "texture_border": encode(border(wall)),
        "texture_letterbox": encode(letterbox(wall)),
        "texture_canvas": encode(canvas(wall)),
        "texture_centre_crop_10": encode(centre_crop(wall, 0.10)),
        "texture_watermark": encode(watermark(wall, "tl")),
        "dark_letterbox": encode(on_canvas(space, (wide, space.height),
                                           ((wide - space.width) // 2, 0), (6, 6, 6))),
    }


@pytest.fixture(scope="module")
def banked_files() -> list[bytes]:
    return [(PHOTOS / "chelsea.jpg").read_bytes(), (PHOTOS / "coffee.jpg").read_bytes()]


async def _setup(client: httpx.AsyncClient, files: list[bytes]) -> tuple[dict[str, str],
                                                                          dict[str, str]]:
    accounts = kernel_of(client).accounts
    await accounts.create_user("boss", PASSWORD, "admin", check_reserved=False)
    admin = bearer(await login(client, "boss"))
    created = await client.post("/api/v1/banks", json={"name": BANK}, headers=admin)
    assert created.status_code == 201, created.text
    for data in files:
        added = await client.post(f"/api/v1/banks/{BANK}/entries{LABEL_Q}", content=data,
                                  headers=admin)
        assert added.status_code == 201, added.text
    owner = await user(client, "alice")
    await channel(client, owner, "evasion_media")
    return admin, owner


async def test_image_evasions_are_rejected_at_upload(api: AppFactory,
                                                     banked_files: list[bytes]) -> None:
    async with api() as client:
        _, owner = await _setup(client, banked_files)
        outcomes = {}
        for name, data in evasions().items():
            r = await client.post("/api/v1/media", headers=owner, content=data)
            outcomes[name] = (r.status_code, r.json().get("error", {}).get("code"))
        missed = {k: v for k, v in outcomes.items() if v != (422, "content_rejected")}
        assert not missed, missed


async def test_hard_image_evasions_are_rejected_at_upload(api: AppFactory) -> None:
    files = [(PHOTOS / f"{name}.jpg").read_bytes() for name in ("hubble_deep_field", "brick")]
    async with api() as client:
        _, owner = await _setup(client, files)
        outcomes = {}
        for name, data in hard_evasions().items():
            r = await client.post("/api/v1/media", headers=owner, content=data)
            outcomes[name] = (r.status_code, r.json().get("error", {}).get("code"))
        missed = {k: v for k, v in outcomes.items() if v != (422, "content_rejected")}
        assert not missed, missed
        # The same edits of a photo that is not banked are published.
        bike = photo("motorcycle_left")
        d = round(max(bike.size) * 0.05)
        for copy in (watermark(bike, "tl"), watermark(bike, "br"), centre_crop(bike, 0.10),
                     on_canvas(bike, (bike.width + 2 * d, bike.height + 2 * d), (d, d),
                               (6, 6, 6))):
            up = await client.post("/api/v1/media", headers=owner, content=encode(copy))
            assert up.status_code == 201, up.text


async def test_innocent_photo_and_its_animation_are_published(
        api: AppFactory, banked_files: list[bytes]) -> None:
    async with api() as client:
        _, owner = await _setup(client, banked_files)
        bike = photo("motorcycle_left")
        gif = encode(bike, "GIF", save_all=True, duration=[200, 900], loop=0,
                     append_images=[ImageOps.mirror(bike)])
        for data in (encode(bike), gif, encode(ImageOps.mirror(bike))):
            up = await client.post("/api/v1/media", headers=owner, content=data)
            assert up.status_code == 201, up.text
            post = await client.post("/api/v1/channels/evasion_media/posts", headers=owner,
                                     json={"text": "a motorbike", "media": [up.json()["sha256"]]})
            assert post.status_code == 201, post.text
            assert post.json()["state"] == "visible", post.json()


async def test_partner_byte_hash_of_the_uploaded_file_matches(api: AppFactory) -> None:
    """A partner list banks the MD5 of a file as it was shared; the server stores a
    re-encode, but matches the bytes as uploaded too."""
    data = encode(photo("motorcycle_left").rotate(3), quality=70)
    async with api() as client:
        admin, owner = await _setup(client, [])
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        entry = {"signal_type": "md5", "value": md5, "labels": ["category:violent_extremism"]}
        added = await client.post(f"/api/v1/banks/{BANK}/entries", json=entry, headers=admin)
        assert added.status_code in (200, 201), added.text
        r = await client.post("/api/v1/media", headers=owner, content=data)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "content_rejected")


async def test_avif_is_a_photo(api: AppFactory, banked_files: list[bytes]) -> None:
    """AVIF is decoded, cleaned and matched like any photo (a banked picture re-encoded
    as AVIF is refused; an innocent one is stored as a photo, served re-encoded)."""
    if not imaging.decodable("image/avif"):
        pytest.skip("this Pillow has no AVIF codec")
    async with api() as client:
        _, owner = await _setup(client, banked_files)
        r = await client.post("/api/v1/media", headers=owner,
                              content=encode(photo("chelsea"), "AVIF", quality=60))
        assert (r.status_code, r.json()["error"]["code"]) == (422, "content_rejected")
        ok = await client.post("/api/v1/media", headers=owner,
                               content=encode(photo("motorcycle_left"), "AVIF", quality=60))
        assert ok.status_code == 201, ok.text
        assert ok.json()["kind"] == "photo"
        assert ok.json()["media_type"] == "image/jpeg"


async def test_animation_too_many_scenes_is_refused(api: AppFactory) -> None:
    """More distinct scenes shown for a moment than the server hashes: refused, not
    sampled past (a banked frame could hide among the skipped ones)."""
    rng = np.random.default_rng(7)
    frames = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
              for _ in range(70)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=250)
    async with api() as client:
        owner = await user(client, "alice")
        r = await client.post("/api/v1/media", headers=owner, content=data)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "image_too_large")


HOLD_RULES = """
version = 2
[[rule]]
name = "review-hold"
when.match.bank = ["REVIEW_*"]
then = ["hold"]
"""


async def test_held_animation_thumbnail_is_the_matched_frame(api: AppFactory) -> None:
    """Moderators see the frame that matched, not the innocent one shown longest."""
    from tidings.moderation.media_signals import pdq

    async with api() as client:
        accounts = kernel_of(client).accounts
        await accounts.create_user("boss", PASSWORD, "admin", check_reserved=False)
        admin = bearer(await login(client, "boss"))
        ok = await client.put("/api/v1/admin/rules", headers=admin, content=HOLD_RULES)
        assert ok.status_code == 200, ok.text
        await client.post("/api/v1/banks", json={"name": "REVIEW_MEDIA"}, headers=admin)
        banked = await client.post(f"/api/v1/banks/REVIEW_MEDIA/entries{LABEL_Q}",
                                   content=(PHOTOS / "chelsea.jpg").read_bytes(), headers=admin)
        assert banked.status_code == 201, banked.text
        owner = await user(client, "alice")
        bike, cat = photo("motorcycle_left"), photo("chelsea").resize((480, 320))
        bike = bike.resize(cat.size)
        gif = encode(bike, "GIF", save_all=True, append_images=[cat], duration=[2000, 300])
        up = await client.post("/api/v1/media", headers=owner, content=gif)
        assert up.status_code == 201, up.text
        assert up.json()["moderation"]["state"] == "held"
        thumb = await client.get(up.json()["thumbnail_preview_url"])
        assert thumb.status_code == 200
        with Image.open(io.BytesIO(thumb.content)) as img:
            seen = pdq(img)[0]

        def far(a: str, b: str) -> int:
            x = bytes(p ^ q for p, q in zip(bytes.fromhex(a), bytes.fromhex(b), strict=True))
            return sum(bin(c).count("1") for c in x)

        assert far(seen, pdq(cat)[0]) <= 31 < far(seen, pdq(bike)[0])


def _hash_workers() -> list[int]:
    """This process's PDQ worker processes (services/hash_workers.py), from /proc."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:  # it ended meanwhile
                continue
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


async def test_evasions_are_rejected_when_the_hash_workers_die(
        api: AppFactory, banked_files: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed PDQ workers cost time only: the upload hashes in its own thread (and a new
    pool starts), with the same signals, so a banked photo's mirror is still refused."""
    monkeypatch.setattr(hash_workers, "REST_S", 0.0)  # a new pool at the next upload
    bike = encode(photo("motorcycle_left"))
    mirrored = evasions()["flip"]
    async with api() as client:
        _, owner = await _setup(client, banked_files)
        assert (await client.post("/api/v1/media", headers=owner, content=bike)).status_code == 201
        workers = _hash_workers()
        assert workers  # the upload above ran in them
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        for _ in range(3):  # the dead pool, the thread's fallback, the new pool
            r = await client.post("/api/v1/media", headers=owner, content=mirrored)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "content_rejected")
        up = await client.post("/api/v1/media", headers=owner, content=encode(
            ImageOps.mirror(photo("motorcycle_left"))))
        assert up.status_code == 201, up.text
        assert set(_hash_workers()).isdisjoint(workers)
