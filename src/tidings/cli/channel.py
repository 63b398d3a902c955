"""`tidings channel ...` and `tidings media gc`: public channels from the terminal."""

from __future__ import annotations

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
    profile_dir,
    run,
    show,
)
from tidings.client.profile import ProfileError
from tidings.client.sdk import TidingsClient
from tidings.protocol.safe_text import safe_line

app = typer.Typer(help="Public channels: create, post, follow, read, search.",
                  no_args_is_help=True)


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    return TidingsClient.from_profile(profile_dir(profile), server)


def _maybe_client(server: str | None, profile: Path | None) -> TidingsClient:
    """Logged in if the profile is, else anonymous: public reads need no account."""
    try:
        return _client(server, profile)
    except ProfileError:
        return TidingsClient(server or DEFAULT_SERVER)


def _print_channel(c: dict[str, Any]) -> None:
    show((safe_line(c["title"]), "bold"), f" @{c['handle']} ({c['visibility']}, "
         f"{c['subscriber_count']} subscribers)")
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
        f"posted #{p['id']} to @{p['channel']}" + (" (held for review)"
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
