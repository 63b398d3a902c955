"""Your public profile: display name and avatar (both moderated public surfaces)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field

from tidings.protocol.api.channels import Profile
from tidings.protocol.handles import DISPLAY_NAME_MAX
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.channel_deps import profiles
from tidings.server.deps import principal
from tidings.server.openapi import typed
from tidings.services.accounts import Principal
from tidings.services.profiles import ProfileService

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class ProfileIn(StrictBody):
    display_name: str | None = published.field(published.DISPLAY_NAME, DISPLAY_NAME_MAX,
                                               default=None)
    avatar: str | None = Field(default=None, max_length=64,
                               json_schema_extra={"pattern": published.MEDIA_ID},
                               description="A photo's media id; empty string removes it.")


@router.get("/profile", **typed(Profile))
async def get_profile(who: Principal = Depends(principal),
                      svc: ProfileService = Depends(profiles)) -> dict[str, Any]:
    return await svc.get(who)


@router.put("/profile", **typed(Profile))
async def put_profile(body: ProfileIn, who: Principal = Depends(principal),
                      svc: ProfileService = Depends(profiles)) -> dict[str, Any]:
    return await svc.update(who, body.display_name, body.avatar)
