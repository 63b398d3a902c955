"""SDK methods for public channels, media and profiles (mixed into TidingsClient)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tidings.client import channel_requests as cr
from tidings.client.requests import Request
from tidings.protocol import limits

Json = dict[str, Any]


class ChannelMethods:
    async def call(self, request: Request) -> Any:
        raise NotImplementedError

    async def create_channel(self, handle: str, title: str, description: str = "",
                             visibility: str = "public", avatar: str | None = None) -> Json:
        result: Json = await self.call(cr.create_channel(handle, title, description,
                                                         visibility, avatar))
        return result

    async def channel(self, handle: str, invite: str | None = None) -> Json:
        result: Json = await self.call(cr.get_channel(handle, invite))
        return result

    async def edit_channel(self, handle: str, **fields: Any) -> Json:
        result: Json = await self.call(cr.edit_channel(handle, **fields))
        return result

    async def delete_channel(self, handle: str) -> None:
        await self.call(cr.delete_channel(handle))

    async def rotate_invite(self, handle: str) -> Json:
        result: Json = await self.call(cr.rotate_invite(handle))
        return result

    async def channel_admins(self, handle: str) -> list[Json]:
        result: list[Json] = await self.call(cr.admins(handle))
        return result

    async def set_channel_admin(self, handle: str, username: str, **rights: bool) -> None:
        await self.call(cr.set_admin(handle, username, **rights))

    async def remove_channel_admin(self, handle: str, username: str) -> None:
        await self.call(cr.remove_admin(handle, username))

    async def subscribe(self, handle: str, invite: str | None = None) -> Json:
        result: Json = await self.call(cr.subscribe(handle, invite))
        return result

    async def unsubscribe(self, handle: str) -> None:
        await self.call(cr.unsubscribe(handle))

    async def subscriptions(self) -> list[Json]:
        result: list[Json] = await self.call(cr.subscriptions())
        return result

    async def search_channels(self, query: str, limit: int = 20) -> list[Json]:
        result: list[Json] = await self.call(cr.search_channels(query, limit))
        return result

    async def search_posts(self, query: str, limit: int = 20) -> list[Json]:
        result: list[Json] = await self.call(cr.search_posts(query, limit))
        return result

    async def upload_media(self, data: bytes) -> Json:
        result: Json = await self.call(cr.upload_media(data))
        return result

    async def media_preview(self, sha256: str) -> Json:
        result: Json = await self.call(cr.media_preview(sha256))
        return result

    async def download_media(self, url: str) -> bytes:
        data: bytes = await self.call(cr.download_media(url))
        return data

    async def upload_file(self, path: Path) -> Json:
        if path.stat().st_size > limits.MAX_UPLOAD_BYTES:
            raise ValueError(f"{path} is larger than {limits.MAX_UPLOAD_BYTES} bytes")
        return await self.upload_media(path.read_bytes())

    async def publish(self, handle: str, text: str, media: list[str] | None = None) -> Json:
        result: Json = await self.call(cr.publish(handle, text, media))
        return result

    async def history(self, handle: str, before: int | None = None, start: int | None = None,
                      limit: int = 20, invite: str | None = None) -> Json:
        result: Json = await self.call(cr.history(handle, before, start, limit, invite))
        return result

    async def post(self, handle: str, number: int) -> Json:
        """The channel's post number ``number`` (1 is its first post, as ``/c/HANDLE/1``)."""
        result: Json = await self.call(cr.get_post(handle, number))
        return result

    async def edit_post(self, handle: str, number: int, text: str | None = None,
                        media: list[str] | None = None) -> Json:
        result: Json = await self.call(cr.edit_post(handle, number, text, media))
        return result

    async def delete_post(self, handle: str, number: int) -> None:
        await self.call(cr.delete_post(handle, number))

    async def forward(self, handle: str, number: int, to: str) -> Json:
        result: Json = await self.call(cr.forward(handle, number, to))
        return result

    async def pin(self, handle: str, number: int) -> None:
        await self.call(cr.pin(handle, number))

    async def unpin(self, handle: str) -> None:
        await self.call(cr.unpin(handle))

    async def mark_viewed(self, handle: str, numbers: list[int]) -> dict[str, int]:
        result: dict[str, int] = await self.call(cr.views(handle, numbers))
        return result

    async def channel_updates(self, handle: str, since: int, limit: int = 100) -> Json:
        result: Json = await self.call(cr.updates(handle, since, limit))
        return result

    async def public_profile(self) -> Json:
        result: Json = await self.call(cr.get_profile())
        return result

    async def set_profile(self, display_name: str | None = None,
                          avatar: str | None = None) -> Json:
        result: Json = await self.call(cr.set_profile(display_name, avatar))
        return result
