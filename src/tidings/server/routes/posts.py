"""Channel posts, pins, views, history and the catch-up log (thin routes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from tidings.protocol import limits
from tidings.protocol.api.channels import Post, PostPage, Updates
from tidings.protocol.handles import HANDLE_MAX
from tidings.server.bodies import StrictBody
from tidings.server.channel_deps import maybe_principal, posts
from tidings.server.deps import principal, rate_limit
from tidings.server.openapi import OPTIONAL_AUTH, typed
from tidings.services.accounts import Principal
from tidings.services.posts import PostService

router = APIRouter(prefix="/api/v1/channels/{handle}", tags=["posts"])

Json = dict[str, Any]
Number = Annotated[int, Path(ge=1, lt=limits.ID_MAX + 1,
                            description="the post's number in its channel (1, 2, 3, ...)")]


class PostIn(StrictBody):
    text: str = Field(default="", max_length=limits.POST_TEXT_MAX * 2)
    media: list[str] = Field(default_factory=list, max_length=limits.POST_MEDIA_MAX)


class PostPatch(StrictBody):
    text: str | None = Field(default=None, max_length=limits.POST_TEXT_MAX * 2)
    media: list[str] | None = Field(default=None, max_length=limits.POST_MEDIA_MAX)


class ForwardIn(StrictBody):
    to: str = Field(max_length=HANDLE_MAX * 4)


class PinIn(StrictBody):
    number: int = Field(ge=1, lt=limits.ID_MAX + 1)


class ViewsIn(StrictBody):
    numbers: list[int] = Field(max_length=limits.VIEWS_BATCH_MAX)


@router.post("/posts", status_code=201, dependencies=[Depends(rate_limit("post"))], **typed(Post))
async def publish(handle: str, body: PostIn, who: Principal = Depends(principal),
                  svc: PostService = Depends(posts)) -> Json:
    """Post text and up to 10 uploaded media ids. Moderated before anyone sees it."""
    return await svc.publish(who, handle, body.text, body.media)


@router.get("/posts", openapi_extra=OPTIONAL_AUTH, **typed(PostPage))
async def history(handle: str, before: int | None = Query(None, ge=1),
                  start: int | None = Query(None, ge=1, alias="from"),
                  limit: int = Query(limits.CHANNEL_PAGE_DEFAULT, ge=1,
                                     le=limits.CHANNEL_PAGE_MAX),
                  invite: str | None = Query(None, max_length=64),
                  who: Principal | None = Depends(maybe_principal),
                  svc: PostService = Depends(posts)) -> Json:
    """Newest first. Page with ``before=<last number>``; start at a post with
    ``from=<number>``."""
    view, items = await svc.history(who, handle, before=before, start=start, limit=limit,
                                    invite=invite)
    nxt = items[-1]["number"] if len(items) == limit else None
    return {"channel": view.json(), "posts": items, "next_before": nxt}


@router.get("/posts/{number}", openapi_extra=OPTIONAL_AUTH, **typed(Post))
async def get_post(handle: str, number: Number, invite: str | None = Query(None, max_length=64),
                   who: Principal | None = Depends(maybe_principal),
                   svc: PostService = Depends(posts)) -> Json:
    """The channel's post with this number, as ``/c/{handle}/{number}`` shows it."""
    return await svc.get(who, handle, number, invite)


@router.patch("/posts/{number}", **typed(Post))
async def edit(handle: str, number: Number, body: PostPatch, who: Principal = Depends(principal),
               svc: PostService = Depends(posts)) -> Json:
    return await svc.edit(who, handle, number, body.text, body.media)


@router.delete("/posts/{number}", operation_id="delete_post", status_code=204)
async def delete(handle: str, number: Number, who: Principal = Depends(principal),
                 svc: PostService = Depends(posts)) -> Response:
    await svc.delete(who, handle, number)
    return Response(status_code=204)


@router.post("/posts/{number}/forward", status_code=201,
             dependencies=[Depends(rate_limit("post"))], **typed(Post))
async def forward(handle: str, number: Number, body: ForwardIn,
                  who: Principal = Depends(principal), svc: PostService = Depends(posts)) -> Json:
    """Repost into a channel where you may post, attributed to this channel."""
    return await svc.forward(who, handle, number, body.to)


@router.put("/pin", status_code=204)
async def pin(handle: str, body: PinIn, who: Principal = Depends(principal),
              svc: PostService = Depends(posts)) -> Response:
    await svc.pin(who, handle, body.number)
    return Response(status_code=204)


@router.delete("/pin", status_code=204)
async def unpin(handle: str, who: Principal = Depends(principal),
                svc: PostService = Depends(posts)) -> Response:
    await svc.pin(who, handle, None)
    return Response(status_code=204)


@router.post("/views")
async def views(handle: str, body: ViewsIn, who: Principal = Depends(principal),
                svc: PostService = Depends(posts)) -> dict[str, int]:
    """Say which posts (by number) you have seen; each account counts once per post."""
    return await svc.record_views(who, handle, body.numbers)


@router.get("/updates", openapi_extra=OPTIONAL_AUTH, **typed(Updates))
async def updates(handle: str, since: int = Query(0, ge=0),
                  limit: int = Query(limits.CHANNEL_PAGE_MAX, ge=1, le=limits.CHANNEL_PAGE_MAX),
                  invite: str | None = Query(None, max_length=64),
                  who: Principal | None = Depends(maybe_principal),
                  svc: PostService = Depends(posts)) -> Json:
    """What changed after ``since`` (this channel's own sequence): catch up after a gap."""
    return await svc.updates(who, handle, since, limit, invite)
