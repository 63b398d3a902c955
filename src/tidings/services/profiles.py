"""Public profiles: a display name and an avatar, both public surfaces.

A display name is shown next to everything a person does in public, so it passes
the moderation gate like a channel title does, and may not pose as the platform.
"""

from __future__ import annotations

from typing import Any

from tidings.moderation.engine import Actor, Surface
from tidings.protocol.errors import BadRequest, Conflict
from tidings.protocol.handles import HandleError, check_not_reserved, clean_display_name
from tidings.protocol.names import check_decorations
from tidings.services.accounts import Principal
from tidings.services.media import MediaService, media_url
from tidings.services.moderation import VISIBLE, ModerationService, gate, text_contents
from tidings.storage.database import Database
from tidings.storage.media import MediaStore, ProfileRecord


def profile_json(profile: ProfileRecord, own: bool) -> dict[str, Any]:
    visible = own or profile.state == VISIBLE
    return {"username": profile.username,
            "display_name": profile.display_name if visible else None,
            "avatar_url": media_url(profile.avatar_sha256)
            if visible and profile.avatar_sha256 else None,
            "state": profile.state if own else VISIBLE}


class ProfileService:
    def __init__(self, db: Database, store: MediaStore, media: MediaService,
                 moderation: ModerationService) -> None:
        self.db = db
        self.store = store
        self.media = media
        self.moderation = moderation

    async def get(self, who: Principal) -> dict[str, Any]:
        async with self.db.read() as conn:
            profile = await self.store.profile(conn, who.user_id)
        assert profile is not None
        return profile_json(profile, True)

    async def update(self, who: Principal, display_name: str | None,
                     avatar: str | None) -> dict[str, Any]:
        async with self.db.read() as conn:
            current = await self.store.profile(conn, who.user_id)
        assert current is not None
        states = []
        name = current.display_name
        if display_name is not None:
            name = clean_display_name(display_name)
            try:
                check_not_reserved(name, "username")
            except HandleError as exc:
                raise Conflict(f"the display name {name!r} poses as the platform",
                               "reserved_display_name") from exc
            try:
                check_decorations(name, "display_name")
            except HandleError as exc:
                raise BadRequest(exc.message, exc.code) from exc
            states.append(await gate(self.moderation, Surface.PROFILE_NAME,
                                     text_contents(name), Actor(who.user_id)))
        avatar_id = current.avatar_sha256
        if avatar is not None:
            avatar_id = avatar or None
            if avatar_id:
                keep = [current.avatar_sha256] if current.avatar_sha256 else []
                _, signals = await self.media.resolve([avatar_id], photos_only=True,
                                                      owner=who.user_id, keep=keep)
                states.append(await gate(self.moderation, Surface.PROFILE_AVATAR, [],
                                         Actor(who.user_id), signals))
        state = next((s for s in states if s != VISIBLE), VISIBLE if states else current.state)
        async with self.db.write() as conn:
            await self.store.set_profile(conn, who.user_id, display_name=name,
                                         avatar_sha256=avatar_id, state=state)
            updated = await self.store.profile(conn, who.user_id)
        assert updated is not None
        return profile_json(updated, True)
