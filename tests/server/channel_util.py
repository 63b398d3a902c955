"""Helpers for channel tests: images, accounts with channels, uploads."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.conftest import bearer, register


def photo(width: int = 64, height: int = 48, seed: int = 1, fmt: str = "PNG",
          exif_gps: bool = False) -> bytes:
    """A non-flat test picture (a PDQ hash needs texture), optionally with GPS EXIF."""
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    assert pixels is not None
    for x in range(width):
        for y in range(height):
            pixels[x, y] = ((x * 7 * seed) % 256, (y * 13 + seed * 31) % 256,
                            ((x ^ y) * 5 * seed) % 256)
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}  # GPSInfo: latitude
        exif[0x010F] = "SecretCam"  # Make
        image.save(out, format=fmt, exif=exif.tobytes())
    else:
        image.save(out, format=fmt)
    return out.getvalue()


async def user(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    return bearer(await register(client, name))


async def channel(client: httpx.AsyncClient, headers: dict[str, str], handle: str,
                  title: str | None = None, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/channels", headers=headers, json={
        "handle": handle, "title": title or handle.replace("_", " ").title(), **extra})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def upload(client: httpx.AsyncClient, headers: dict[str, str], data: bytes
                 ) -> dict[str, Any]:
    response = await client.post("/api/v1/media", headers=headers, content=data)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def post(client: httpx.AsyncClient, headers: dict[str, str], handle: str, text: str,
               media: list[str] | None = None) -> dict[str, Any]:
    response = await client.post(f"/api/v1/channels/{handle}/posts", headers=headers,
                                 json={"text": text, "media": media or []})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def internal_id(client: httpx.AsyncClient, staff_headers: dict[str, str], handle: str,
                      number: int) -> int:
    """A post's global internal id, which only staff see (the public name of a post is
    its channel and number; docs/decisions.md "Post identifiers")."""
    response = await client.get(f"/api/v1/channels/{handle}/posts/{number}",
                                headers=staff_headers)
    assert response.status_code == 200, response.text
    found: int = response.json()["id"]
    return found
