"""`tidings group ...`: private end-to-end encrypted groups (Megolm)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tidings.cli.common import (
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    console,
    emit,
    profile_dir,
    run,
    show,
)
from tidings.cli.messages import FileOpt, passphrase
from tidings.client.attachments import send_group_file
from tidings.client.groups import Groups, get_group, my_groups, set_title
from tidings.client.messaging import Messenger
from tidings.client.sdk import TidingsClient
from tidings.protocol.safe_text import safe_line

app = typer.Typer(help="Private groups: end-to-end encrypted, up to 1,000 members.",
                  no_args_is_help=True)

MemberOpt = Annotated[list[str] | None, typer.Option("--member", "-m",
                                                      help="A member (repeatable).")]
AdminOpt = Annotated[list[str] | None, typer.Option("--admin",
                                                     help="Also an admin (repeatable).")]


async def _with_groups(profile: Path | None, server: str | None, op: Any) -> Any:
    secret = passphrase()
    async with TidingsClient.from_profile(profile_dir(profile), server) as client:
        return await op(Groups(Messenger.open(client, secret)))


def _show(r: dict[str, Any]) -> None:
    show(f"{r['id']}  ", safe_line(r["title"]), f"  members: {', '.join(r['members'])}")


@app.command()
def create(name: str, member: MemberOpt = None, admin: AdminOpt = None,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Create a group titled NAME; prints its id."""
    result = run(_with_groups(profile, server,
                              lambda g: g.create(name, member or [], admin or [])))
    emit(json_out, result, lambda r: console.print(r["id"]))


@app.command()
def add(group: str, users: list[str], server: ServerOpt = None, profile: ProfileOpt = None,
        json_out: JsonOpt = False) -> None:
    """Invite USERS to GROUP (admins only). They join when they accept, and can read only
    what is sent from then on."""
    emit(json_out, run(_with_groups(profile, server, lambda g: g.add(group, users))), _show)


@app.command()
def remove(group: str, user: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Remove USER from GROUP (admins only); the next message uses a new key."""
    emit(json_out, run(_with_groups(profile, server, lambda g: g.remove(group, user))), _show)


@app.command()
def leave(group: str, server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Leave GROUP."""
    emit(json_out, run(_with_groups(profile, server, lambda g: g.leave(group))),
         lambda r: console.print(f"left {group}"))


@app.command()
def title(group: str, new_title: str, server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Rename GROUP (admins only; titles are checked like public text)."""

    async def go() -> Any:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.call(set_title(group, new_title))

    emit(json_out, run(go()), _show)


@app.command("list")
def list_groups(server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """The groups you are in."""

    async def go() -> Any:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return (await client.call(my_groups()))["groups"]

    def human(gs: list[dict[str, Any]]) -> None:
        for g in gs:
            show(f"{g['id']}  ", safe_line(g["title"]))

    emit(json_out, run(go()), human)


@app.command()
def send(group: str, text: Annotated[str, typer.Argument()] = "", file: FileOpt = None,
         server: ServerOpt = None, profile: ProfileOpt = None,
         json_out: JsonOpt = False) -> None:
    """Send TEXT (or --file) to GROUP, encrypted once with this device's Megolm session."""

    async def op(g: Groups) -> Any:
        if file is not None:
            return await send_group_file(g.m, group, file)
        return await g.send_text(group, text)

    emit(json_out, run(_with_groups(profile, server, op)),
         lambda r: console.print(f"sent {r['id']}"))


@app.command()
def invitations(server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Your pending group invitations: the group id and who invited you. Nothing of a
    group (title, members, messages) reaches you before you accept."""
    result = run(_with_groups(profile, server, lambda g: g.invitations()))

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console.print("no invitations")
        for row in rows:
            show(f"{row['group']}  invited by {row['by']}")

    emit(json_out, result, human)


@app.command()
def accept(group: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Accept the invitation to GROUP and join it."""
    emit(json_out, run(_with_groups(profile, server, lambda g: g.accept(group))), _show)


@app.command()
def decline(group: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Decline the invitation to GROUP. The inviter is not told."""
    run(_with_groups(profile, server, lambda g: g.decline(group)))
    emit(json_out, {"declined": group}, lambda r: console.print(f"declined {group}",
                                                                markup=False))


@app.command("show")
def show_group(group: str, server: ServerOpt = None, profile: ProfileOpt = None,
               json_out: JsonOpt = False) -> None:
    """A group's title, members and admins (no keys needed: nothing is decrypted)."""

    async def go() -> Any:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.call(get_group(group))

    emit(json_out, run(go()), _show)
