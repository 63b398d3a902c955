"""`tidings post ...`: one channel post: show, edit, delete, pin, unpin, forward.

A post is named as ``tidings report post`` names it: the channel's HANDLE and the POST
number. Publishing stays ``tidings channel post HANDLE TEXT``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tidings.cli.channel import _client, _maybe_client, _print_posts, public_read
from tidings.cli.common import JsonOpt, ProfileOpt, ServerOpt, emit, fail, run, show
from tidings.client import channel_requests as cr

app = typer.Typer(help="A channel post: show, edit, delete, pin, forward.",
                  no_args_is_help=True)

Handle = Annotated[str, typer.Argument(help="The channel's handle.")]
PostArg = Annotated[int, typer.Argument(metavar="POST", help="The post's number.")]


def _number(post: dict[str, Any]) -> object:
    """The number a reader uses for the post: its number in its channel."""
    return post["number"]


@app.command("show")
def show_post(handle: Handle, post: PostArg, server: ServerOpt = None,
              profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """One post (public channels need no account)."""

    async def go() -> dict[str, Any]:
        async with _maybe_client(server, profile) as client:
            result: dict[str, Any] = await public_read(client, cr.get_post(handle, post))
            return result

    emit(json_out, run(go()), lambda p: _print_posts([p]))


@app.command("edit")
def edit(handle: Handle, post: PostArg, text: Annotated[str | None, typer.Argument(
             help="The new text (leave out to keep it).")] = None,
         image: Annotated[list[Path] | None, typer.Option(
             "--image", help="Replace the media with these files (repeatable).",
             exists=True, dir_okay=False, readable=True)] = None,
         server: ServerOpt = None, profile: ProfileOpt = None,
         json_out: JsonOpt = False) -> None:
    """Edit a post's text or media; the new version is checked like a new post."""
    if text is None and not image:
        fail("nothing to change: give the new TEXT or --image", "no_change")

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            media = ([(await client.upload_file(p))["sha256"] for p in image]
                     if image else None)
            return await client.edit_post(handle, post, text, media)

    emit(json_out, run(go()), lambda p: show(
        f"edited #{_number(p)} in @{p['channel']}"
        + (" (held for review)" if p.get("state") == "held" else "")))


@app.command("delete")
def delete(handle: Handle, post: PostArg, server: ServerOpt = None,
           profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Delete a post from your channel."""

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.delete_post(handle, post)

    run(go())
    emit(json_out, {"deleted": post, "channel": handle.removeprefix("@")},
         lambda r: show(f"deleted #{post} from @{r['channel']}"))


@app.command("pin")
def pin(handle: Handle, post: PostArg, server: ServerOpt = None,
        profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Pin a post at the top of the channel (replacing any pinned one)."""

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.pin(handle, post)

    run(go())
    emit(json_out, {"pinned": post, "channel": handle.removeprefix("@")},
         lambda r: show(f"pinned #{post} in @{r['channel']}"))


@app.command("unpin")
def unpin(handle: Handle, server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Unpin the channel's pinned post."""

    async def go() -> None:
        async with _client(server, profile) as client:
            await client.unpin(handle)

    run(go())
    emit(json_out, {"pinned": None, "channel": handle.removeprefix("@")},
         lambda r: show(f"nothing pinned in @{r['channel']}"))


@app.command("forward")
def forward(handle: Handle, post: PostArg,
            to: Annotated[str, typer.Option("--to", help="The channel to post the copy to.")],
            server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Forward a post to a channel you post in; the copy names where it came from."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            return await client.forward(handle, post, to.removeprefix("@"))

    emit(json_out, run(go()), lambda p: show(
        f"forwarded as #{_number(p)} to @{p['channel']}"
        + (" (held for review)" if p.get("state") == "held" else "")))
