"""Server-rendered public channel pages: ``/c/HANDLE`` and ``/c/HANDLE/N``.

``N`` is the post's number in its channel (1, 2, 3, ...; docs/decisions.md "Post
identifiers"), never the internal id.

No JavaScript and no inline styles (the CSP forbids both): Jinja2 templates and one
static stylesheet. Public channels need no login; unlisted ones need ``?invite=``.
Open Graph tags give link previews in other apps. A removed post or channel shows a
notice where its content was, so a link that travelled stays explainable. What a page
shows comes from the visibility rule (``moderation/visibility.py``) through the same
service calls the API uses, as the anonymous audience.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tidings.protocol import limits
from tidings.protocol.errors import TidingsError
from tidings.server.channel_deps import posts
from tidings.server.state import kernel_of
from tidings.services.posts import PostService

router = APIRouter(tags=["web"], include_in_schema=False)
templates = Jinja2Templates(
    directory=str(resources.files("tidings.server") / "templates"))  # autoescapes .html

NOTICES = {
    "channel_removed": ("Channel removed", "This channel was removed for violating the rules."),
    "channel_not_found": ("Channel not found", "There is no such channel, or it is unlisted "
                          "and this link has no valid invite."),
    "post_not_found": ("Post not found", "There is no such post."),
}


def render(request: Request, name: str, context: dict[str, Any],
           status_code: int = 200) -> HTMLResponse:
    return cast(HTMLResponse, templates.TemplateResponse(request, name, context,
                                                         status_code=status_code))


def _og_image(request: Request, media: list[dict[str, Any]]) -> str | None:
    photo = next((m for m in media if m.get("kind") == "photo"), None)
    if photo is None:
        return None
    base: str = kernel_of(request).settings.resolved_public_url
    return base + str(photo["url"])


def _notice(request: Request, exc: TidingsError) -> HTMLResponse:
    title, text = NOTICES.get(exc.code, ("Unavailable", exc.message))
    return render(request, "notice.html",
                                      {"title": title, "text": text}, status_code=exc.status)


@router.get("/c/{handle}", response_class=HTMLResponse)
async def channel_page(request: Request, handle: str,
                       invite: str | None = Query(None, max_length=64),
                       before: int | None = Query(None, ge=1),
                       svc: PostService = Depends(posts)) -> HTMLResponse:
    try:
        view, items = await svc.history(None, handle, before=before, invite=invite,
                                        limit=limits.WEB_POSTS_PER_PAGE)
    except TidingsError as exc:
        return _notice(request, exc)
    channel = view.json()
    avatar = channel["avatar_url"]
    base = kernel_of(request).settings.resolved_public_url
    og_image = base + avatar if avatar else next(
        (img for p in items if (img := _og_image(request, p["media"]))), None)
    older = items[-1]["number"] if len(items) == limits.WEB_POSTS_PER_PAGE else None
    return render(request, "channel.html", {
        "channel": channel, "posts": items, "invite": invite, "older": older,
        "og_title": channel["title"], "og_description": channel["description"]
        or f"@{channel['handle']} on Tidings", "og_image": og_image,
        "og_url": f"{base}/c/{channel['handle']}"})


@router.get("/c/{handle}/{number}", response_class=HTMLResponse)
async def post_page(request: Request, handle: str,
                    number: int = Path(ge=1, lt=limits.ID_MAX + 1),
                    invite: str | None = Query(None, max_length=64),
                    svc: PostService = Depends(posts)) -> HTMLResponse:
    try:
        view = await svc.channels.view(handle, None, invite)
        post = await svc.get(None, handle, number, invite)
    except TidingsError as exc:
        return _notice(request, exc)
    channel = view.json()
    base = kernel_of(request).settings.resolved_public_url
    text = str(post.get("text") or "")  # a tombstone has no text and no media
    status = 200 if "text" in post else 410
    return render(request, "post.html", {
        "channel": channel, "post": post, "invite": invite,
        "og_title": f"{channel['title']} (@{channel['handle']})",
        "og_description": text[:200] or channel["description"],
        "og_image": _og_image(request, post.get("media") or []),
        "og_url": f"{base}/c/{channel['handle']}/{post['number']}"}, status_code=status)
