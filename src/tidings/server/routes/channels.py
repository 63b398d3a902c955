"""Channels: create, read, edit, delete, admins, subscriptions, search (thin routes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from tidings.protocol import limits
from tidings.protocol.api.channels import Channel, ChannelAdmin, Post
from tidings.protocol.handles import (
    CHANNEL_DESCRIPTION_MAX,
    CHANNEL_TITLE_MAX,
    HANDLE_MAX,
)
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.channel_deps import channels, maybe_principal, posts
from tidings.server.deps import principal
from tidings.server.openapi import OPTIONAL_AUTH, typed
from tidings.services.accounts import Principal
from tidings.services.channels import VISIBILITIES, ChannelService
from tidings.services.posts import PostService

router = APIRouter(prefix="/api/v1", tags=["channels"])

# Field bounds are generous multiples of the real limits (which the services enforce
# with clear messages); these only stop absurd bodies before any work is done.
"""What ``normalize_handle`` accepts, published (it enforces it, with ``invalid_handle``)."""
HandleField = Field(max_length=HANDLE_MAX * 4, json_schema_extra={"pattern": published.HANDLE})
MediaId = Field(default=None, max_length=64, json_schema_extra={"pattern": published.MEDIA_ID})


class ChannelIn(StrictBody):
    handle: str = HandleField
    title: str = published.field(published.CHANNEL_TITLE, CHANNEL_TITLE_MAX)
    description: str = published.field(published.CHANNEL_DESCRIPTION, CHANNEL_DESCRIPTION_MAX,
                                       default="")
    visibility: str = Field(default="public", max_length=16,
                            json_schema_extra={"enum": list(VISIBILITIES)})
    avatar: str | None = MediaId


class ChannelPatch(StrictBody):
    title: str | None = published.field(published.CHANNEL_TITLE, CHANNEL_TITLE_MAX,
                                        default=None)
    description: str | None = published.field(
        published.CHANNEL_DESCRIPTION, CHANNEL_DESCRIPTION_MAX, default=None)
    visibility: str | None = Field(default=None, max_length=16,
                                   json_schema_extra={"enum": list(VISIBILITIES)})
    avatar: str | None = MediaId


class AdminIn(StrictBody):
    can_post: bool = True
    can_edit_others: bool = False
    can_manage_admins: bool = False


class SubscribeIn(StrictBody):
    invite: str | None = Field(default=None, max_length=64)


Json = dict[str, Any]


@router.post("/channels", status_code=201, **typed(Channel))
async def create_channel(body: ChannelIn, who: Principal = Depends(principal),
                         svc: ChannelService = Depends(channels)) -> Json:
    """Create a channel you own. Handle, title, description and avatar are moderated."""
    view = await svc.create(who, body.handle, body.title, body.description, body.visibility,
                            body.avatar)
    return view.json()


@router.get("/channels/{handle}", openapi_extra=OPTIONAL_AUTH, **typed(Channel))
async def get_channel(handle: str, invite: str | None = Query(None, max_length=64),
                      who: Principal | None = Depends(maybe_principal),
                      svc: ChannelService = Depends(channels)) -> Json:
    """A channel's details; unlisted channels need ``invite`` unless you follow them."""
    return (await svc.view(handle, who, invite)).json()


@router.patch("/channels/{handle}", **typed(Channel))
async def edit_channel(handle: str, body: ChannelPatch, who: Principal = Depends(principal),
                       svc: ChannelService = Depends(channels)) -> Json:
    view = await svc.edit(who, handle, title=body.title, description=body.description,
                          avatar=body.avatar, visibility=body.visibility)
    return view.json()


@router.delete("/channels/{handle}", status_code=204)
async def delete_channel(handle: str, who: Principal = Depends(principal),
                         svc: ChannelService = Depends(channels)) -> Response:
    await svc.delete(who, handle)
    return Response(status_code=204)


@router.post("/channels/{handle}/invite", **typed(Channel))
async def rotate_invite(handle: str, who: Principal = Depends(principal),
                        svc: ChannelService = Depends(channels)) -> Json:
    """A new invite link token; the old link stops working."""
    return (await svc.rotate_invite(who, handle)).json()


@router.get("/channels/{handle}/admins", **typed(list[ChannelAdmin]))
async def list_admins(handle: str, who: Principal = Depends(principal),
                      svc: ChannelService = Depends(channels)) -> list[Json]:
    return await svc.admins(who, handle)


@router.put("/channels/{handle}/admins/{username}", status_code=204)
async def set_admin(handle: str, body: AdminIn, username: str = published.user_path(),
                    who: Principal = Depends(principal),
                    svc: ChannelService = Depends(channels)) -> Response:
    await svc.set_admin(who, handle, username, can_post=body.can_post,
                        can_edit_others=body.can_edit_others,
                        can_manage_admins=body.can_manage_admins)
    return Response(status_code=204)


@router.delete("/channels/{handle}/admins/{username}", status_code=204)
async def remove_admin(handle: str, username: str = published.user_path(),
                       who: Principal = Depends(principal),
                       svc: ChannelService = Depends(channels)) -> Response:
    await svc.remove_admin(who, handle, username)
    return Response(status_code=204)


@router.post("/channels/{handle}/subscription", **typed(Channel))
async def subscribe(handle: str, body: SubscribeIn | None = None,
                    who: Principal = Depends(principal),
                    svc: ChannelService = Depends(channels)) -> Json:
    """Follow a channel: its posts reach your live devices and your subscription list."""
    return (await svc.subscribe(who, handle, body.invite if body else None)).json()


@router.delete("/channels/{handle}/subscription", status_code=204)
async def unsubscribe(handle: str, who: Principal = Depends(principal),
                      svc: ChannelService = Depends(channels)) -> Response:
    await svc.unsubscribe(who, handle)
    return Response(status_code=204)


@router.get("/subscriptions", **typed(list[Channel]))
async def subscriptions(who: Principal = Depends(principal),
                        svc: ChannelService = Depends(channels)) -> list[Json]:
    """The channels you follow, oldest subscription first."""
    return await svc.subscriptions(who)


@router.get("/search/channels", **typed(list[Channel]))
async def search_channels(q: str = Query(max_length=limits.SEARCH_QUERY_MAX),
                          limit: int = Query(20, ge=1, le=limits.SEARCH_RESULTS_MAX),
                          svc: ChannelService = Depends(channels)) -> list[Json]:
    """Public channels by handle, title and description, best match first."""
    return await svc.search(q, limit)


@router.get("/search/posts", **typed(list[Post]))
async def search_posts(q: str = Query(max_length=limits.SEARCH_QUERY_MAX),
                       limit: int = Query(20, ge=1, le=limits.SEARCH_RESULTS_MAX),
                       svc: PostService = Depends(posts)) -> list[Json]:
    """Posts of public channels by text, best match first."""
    return await svc.search(q, limit)
