"""`tidings channel ...` and `tidings media gc`: public channels from the terminal."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tidings.cli.common import (
    DEFAULT_SERVER,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    cell,
    console,
    emit,
    fail,
    profile_dir,
    run,
    show,
)
from tidings.client import channel_requests as cr
from tidings.client.profile import ProfileError
from tidings.client.requests import Request
from tidings.client.sdk import TidingsClient
from tidings.protocol.safe_text import safe_line

app = typer.Typer(help="Public channels: create, post, follow, read, search, manage.",
                  no_args_is_help=True)


class Visibility(StrEnum):
    public = "public"
    unlisted = "unlisted"


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    return TidingsClient.from_profile(profile_dir(profile), server)


def _maybe_client(server: str | None, profile: Path | None) -> TidingsClient:
    """Logged in if the profile is, else anonymous: public reads need no account."""
    try:
        return _client(server, profile)
    except ProfileError:
        return TidingsClient(server or DEFAULT_SERVER)


async def public_read(client: TidingsClient, request: Request) -> Any:
    """A read that public channels answer without an account: sent with the token when
    there is one (an unlisted channel you follow, your own), else without."""
    if client.transport.token is None:
        request = replace(request, auth=False)
    return await client.call(request)


def _print_channel(c: dict[str, Any]) -> None:
    n = c["subscriber_count"]
    show((safe_line(c["title"]), "bold"), f" @{c['handle']} ({c['visibility']}, "
         f"{n} subscriber{'' if n == 1 else 's'})")
    if c.get("invite_token") and c["visibility"] == "unlisted":
        console.print(f"invite link: /c/{c['handle']}?invite={c['invite_token']}")


def _print_posts(posts: list[dict[str, Any]]) -> None:
    for p in posts:
        if "text" not in p:  # a tombstone: number and state only (docs/channels.md)
            show((f"#{p['number']} ({p.get('state', 'unavailable')})", "dim"))
            continue
        media = f"  [{len(p['media'])} media]" if p["media"] else ""
        fwd = (f"  (forwarded from @{p['forwarded_from']['channel']})"
               if p.get("forwarded_from") else "")
        show((f"#{p['number']}", "dim"), " ", p["text"], media, fwd, "  ",
             (f"{p['views']} views", "dim"))


@app.command()
def create(handle: str,
           title: Annotated[str, typer.Option("--title", help="The channel's title.")],
           description: Annotated[str, typer.Option(help="What the channel is about.")] = "",
           unlisted: Annotated[bool, typer.Option(
               "--unlisted", help="Reachable only through its invite link.")] = False,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Create a channel you own."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.create_channel(handle, title, description,
                                               "unlisted" if unlisted else "public")

    emit(json_out, run(go()), _print_channel)


@app.command()
def post(handle: str, text: str,
         image: Annotated[list[Path] | None, typer.Option(
             "--image", help="A photo, video or file to attach (repeatable, at most 10).",
             exists=True, dir_okay=False, readable=True)] = None,
         server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Post to a channel (uploads each --image first)."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            ids = [(await client.upload_file(p))["sha256"] for p in image or []]
            return await client.publish(handle, text, ids)

    emit(json_out, run(go()), lambda p: console.print(
        f"posted #{p['number']} to @{p['channel']}" + (" (held for review)"
                                                    if p["state"] == "held" else "")))


@app.command()
def subscribe(handle: str,
              invite: Annotated[str | None, typer.Option(help="Invite token (unlisted).")] = None,
              server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """Follow a channel."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.subscribe(handle, invite)

    emit(json_out, run(go()), lambda c: console.print(f"subscribed to @{c['handle']}"))


@app.command()
def unsubscribe(handle: str, server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Stop following a channel."""

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.unsubscribe(handle)

    run(go())
    emit(json_out, {"unsubscribed": handle}, lambda _: console.print(f"left @{handle}"))


@app.command()
def subscriptions(server: ServerOpt = None, profile: ProfileOpt = None,
                  json_out: JsonOpt = False) -> None:
    """The channels you follow."""

    async def go() -> list[dict[str, Any]]:
        async with _client(server, profile) as client:
            return await client.subscriptions()

    def human(channels: list[dict[str, Any]]) -> None:
        for c in channels:
            _print_channel(c)

    emit(json_out, run(go()), human)


@app.command()
def history(handle: str,
            limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
            before: Annotated[int | None, typer.Option(help="Older than this post number.")] = None,
            server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """A channel's posts, newest first."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.history(handle, before=before, limit=limit)

    emit(json_out, run(go()), lambda page: _print_posts(page["posts"]))


@app.command()
def search(query: str, posts: Annotated[bool, typer.Option(
               "--posts", help="Search posts' text instead of channels.")] = False,
           limit: Annotated[int, typer.Option(min=1, max=50)] = 20,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Search public channels (handle, title, description) or, with --posts, posts."""

    async def go() -> list[dict[str, Any]]:
        async with _maybe_client(server, profile) as client:
            if posts:
                return await client.search_posts(query, limit)
            return await client.search_channels(query, limit)

    def human(items: list[dict[str, Any]]) -> None:
        if posts:
            _print_posts(items)
            return
        table = Table("handle", "title", "subscribers")
        for c in items:
            table.add_row(cell("@" + c["handle"]), cell(c["title"]), str(c["subscriber_count"]))
        console.print(table)

    emit(json_out, run(go()), human)


@app.command("show")
def show_channel(handle: str,
                 invite: Annotated[str | None, typer.Option(help="Invite token (unlisted).")
                                   ] = None,
                 server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """A channel's title, description, subscribers and pinned post."""

    async def go() -> dict[str, Any]:
        async with _maybe_client(server, profile) as client:
            result: dict[str, Any] = await public_read(client, cr.get_channel(handle, invite))
            return result

    def human(c: dict[str, Any]) -> None:
        _print_channel(c)
        if c["description"]:
            show(c["description"])
        pinned = c.get("pinned_number", c.get("pinned_post_id"))
        if pinned:
            show(("pinned: ", "dim"), f"#{pinned}")

    emit(json_out, run(go()), human)


@app.command()
def edit(handle: str,
         title: Annotated[str | None, typer.Option(help="A new title.")] = None,
         description: Annotated[str | None, typer.Option(help="A new description.")] = None,
         visibility: Annotated[Visibility | None, typer.Option(
             help="public, or unlisted (reachable only through its invite link).")] = None,
         server: ServerOpt = None, profile: ProfileOpt = None,
         json_out: JsonOpt = False) -> None:
    """Change a channel's title, description or visibility (checked like a new one)."""
    if title is None and description is None and visibility is None:
        fail("nothing to change: pass --title, --description or --visibility", "no_change")

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.edit_channel(
                handle, title=title, description=description,
                visibility=visibility.value if visibility else None)

    emit(json_out, run(go()), _print_channel)


@app.command()
def avatar(handle: str, file: Annotated[Path, typer.Argument(
               help="A picture (JPEG, PNG, WebP or GIF).", exists=True, dir_okay=False,
               readable=True)],
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Set a channel's picture (uploaded, then checked against the banks)."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            sha256 = (await client.upload_file(file))["sha256"]
            return await client.edit_channel(handle, avatar=sha256)

    emit(json_out, run(go()), lambda c: show(f"@{c['handle']} avatar: {c['avatar_url']}"))


@app.command()
def delete(handle: str,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Delete a channel you own, with its posts."""
    if not yes and not (sys.stdin.isatty() and typer.confirm(
            f"delete @{handle.removeprefix('@')} and its posts?")):
        fail("not confirmed: pass --yes (asked only in a terminal)", "not_confirmed")

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.delete_channel(handle)

    run(go())
    name = handle.removeprefix("@")
    emit(json_out, {"deleted": name}, lambda _: show(f"deleted @{name}"))


@app.command()
def invite(handle: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """A new invite link for an unlisted channel; the old link stops working."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.rotate_invite(handle)

    emit(json_out, run(go()), lambda c: show(
        f"invite link: /c/{c['handle']}?invite={c['invite_token']}"))


@app.command()
def admins(handle: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Who runs the channel, and what each may do."""

    async def go() -> list[dict[str, Any]]:
        async with _client(server, profile) as client:
            return await client.channel_admins(handle)

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("admin", "post", "edit others", "manage admins")
        for a in items:
            name = str(a["username"]) + (" (owner)" if a["owner"] else "")
            table.add_row(cell(name), *("yes" if a[k] else "no" for k in (
                "can_post", "can_edit_others", "can_manage_admins")))
        console.print(table)

    emit(json_out, run(go()), human)


@app.command("admin-set")
def admin_set(handle: str, username: str,
              can_post: Annotated[bool, typer.Option("--post/--no-post",
                                                     help="May publish.")] = True,
              edit_others: Annotated[bool, typer.Option(
                  "--edit-others", help="May edit and delete others' posts.")] = False,
              manage_admins: Annotated[bool, typer.Option(
                  "--manage-admins", help="May add and remove admins.")] = False,
              server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """Make someone an admin of your channel, or change their rights."""
    rights = {"can_post": can_post, "can_edit_others": edit_others,
              "can_manage_admins": manage_admins}

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.set_channel_admin(handle, username, **rights)

    run(go())
    emit(json_out, {"channel": handle.removeprefix("@"), "username": username, **rights},
         lambda r: show(f"{username} is an admin of @{r['channel']}"))


@app.command("admin-remove")
def admin_remove(handle: str, username: str, server: ServerOpt = None,
                 profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Take someone's admin rights away."""

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.remove_channel_admin(handle, username)

    run(go())
    emit(json_out, {"channel": handle.removeprefix("@"), "removed": username},
         lambda r: show(f"{username} is no longer an admin of @{r['channel']}"))
