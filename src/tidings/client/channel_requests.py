"""Pure request builders for channels, posts, media and profiles (no I/O).

Media uploads are not JSON: :func:`upload_media` carries raw bytes in ``content``,
which the transport sends as the request body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tidings.client.requests import API, Request
from tidings.protocol.api.channels import (
    Channel,
    ChannelAdmin,
    Post,
    PostPage,
    Preview,
    Profile,
    Updates,
    Upload,
)


def _ch(handle: str) -> str:
    return f"{API}/channels/{handle.removeprefix('@')}"


def create_channel(handle: str, title: str, description: str = "",
                   visibility: str = "public", avatar: str | None = None) -> Request:
    return Request("POST", f"{API}/channels", {
        "handle": handle, "title": title, "description": description,
        "visibility": visibility, "avatar": avatar}, result=Channel)


def get_channel(handle: str, invite: str | None = None) -> Request:
    return Request("GET", _ch(handle), params={"invite": invite} if invite else {}, result=Channel)


def edit_channel(handle: str, **fields: Any) -> Request:
    return Request("PATCH", _ch(handle), {k: v for k, v in fields.items() if v is not None},
                   result=Channel)


def delete_channel(handle: str) -> Request:
    return Request("DELETE", _ch(handle))


def rotate_invite(handle: str) -> Request:
    return Request("POST", f"{_ch(handle)}/invite", result=Channel)


def admins(handle: str) -> Request:
    return Request("GET", f"{_ch(handle)}/admins", result=list[ChannelAdmin])


def set_admin(handle: str, username: str, *, can_post: bool = True,
              can_edit_others: bool = False, can_manage_admins: bool = False) -> Request:
    return Request("PUT", f"{_ch(handle)}/admins/{username}", {
        "can_post": can_post, "can_edit_others": can_edit_others,
        "can_manage_admins": can_manage_admins})


def remove_admin(handle: str, username: str) -> Request:
    return Request("DELETE", f"{_ch(handle)}/admins/{username}")


def subscribe(handle: str, invite: str | None = None) -> Request:
    return Request("POST", f"{_ch(handle)}/subscription", {"invite": invite}, result=Channel)


def unsubscribe(handle: str) -> Request:
    return Request("DELETE", f"{_ch(handle)}/subscription")


def subscriptions() -> Request:
    return Request("GET", f"{API}/subscriptions", result=list[Channel])


def search_channels(query: str, limit: int = 20) -> Request:
    return Request("GET", f"{API}/search/channels", params={"q": query, "limit": limit},
                   auth=False, result=list[Channel])


def search_posts(query: str, limit: int = 20) -> Request:
    return Request("GET", f"{API}/search/posts", params={"q": query, "limit": limit},
                   auth=False, result=list[Post])


def publish(handle: str, text: str, media: list[str] | None = None) -> Request:
    return Request("POST", f"{_ch(handle)}/posts", {"text": text, "media": media or []},
                   result=Post)


def history(handle: str, before: int | None = None, start: int | None = None,
            limit: int = 20, invite: str | None = None) -> Request:
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("before", before), ("from", start), ("invite", invite)):
        if value is not None:
            params[key] = value
    return Request("GET", f"{_ch(handle)}/posts", params=params, result=PostPage)


def get_post(handle: str, number: int) -> Request:
    """The channel's post with this number (``/c/HANDLE/N``)."""
    return Request("GET", f"{_ch(handle)}/posts/{number}", result=Post)


def edit_post(handle: str, number: int, text: str | None = None,
              media: list[str] | None = None) -> Request:
    return Request("PATCH", f"{_ch(handle)}/posts/{number}", {"text": text, "media": media},
                   result=Post)


def delete_post(handle: str, number: int) -> Request:
    return Request("DELETE", f"{_ch(handle)}/posts/{number}")


def forward(handle: str, number: int, to: str) -> Request:
    return Request("POST", f"{_ch(handle)}/posts/{number}/forward", {"to": to}, result=Post)


def pin(handle: str, number: int) -> Request:
    return Request("PUT", f"{_ch(handle)}/pin", {"number": number})


def unpin(handle: str) -> Request:
    return Request("DELETE", f"{_ch(handle)}/pin")


def views(handle: str, numbers: list[int]) -> Request:
    return Request("POST", f"{_ch(handle)}/views", {"numbers": numbers}, result=dict[str, int])


def updates(handle: str, since: int, limit: int = 100) -> Request:
    return Request("GET", f"{_ch(handle)}/updates", params={"since": since, "limit": limit},
                   result=Updates)


def upload_media(data: bytes) -> Request:
    return Request("POST", f"{API}/media", content=data, result=Upload)


def media_preview(sha256: str) -> Request:
    """A fresh signed preview URL for media the caller uploaded."""
    return Request("GET", f"{API}/media/{quote(sha256, safe='')}/preview", result=Preview)


def download_media(url: str) -> Request:
    """The bytes behind a media URL (``/media/…`` or a signed preview URL): no token is
    sent, so a download proves only what the URL itself grants."""
    if not url.startswith("/media/"):
        raise ValueError("a media URL starts with /media/")
    return Request("GET", url, auth=False, bytes_response=True)


def get_profile() -> Request:
    return Request("GET", f"{API}/accounts/profile", result=Profile)


def set_profile(display_name: str | None = None, avatar: str | None = None) -> Request:
    return Request("PUT", f"{API}/accounts/profile",
                   {"display_name": display_name, "avatar": avatar}, result=Profile)
