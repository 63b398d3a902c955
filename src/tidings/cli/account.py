"""`tidings account ...`: register, log in and manage this person's devices."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tidings.cli.common import (
    DEFAULT_SERVER,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    ask_password,
    cell,
    console,
    emit,
    fail,
    profile_dir,
    run,
    show,
)
from tidings.client import profile as profiles
from tidings.client import requests as rq
from tidings.client.messaging import enroll
from tidings.client.sdk import TidingsClient

app = typer.Typer(help="Your account and devices.", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin",
                                             help="Read the password from standard input.")]
DeviceName = Annotated[str | None, typer.Option("--device-name", help="A name for this device.")]


def _device_name(value: str | None) -> str:
    return value or f"cli@{socket.gethostname()}"[:64]


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    directory = profile_dir(profile)
    return TidingsClient(server or DEFAULT_SERVER, profile_dir=directory)


def _passphrase() -> str:
    from tidings.cli.messages import passphrase

    return passphrase(confirm=True)


def _print_session(session: dict[str, Any]) -> None:
    console.print(f"logged in as [bold]{session['username']}[/bold] on device "
                  f"{session['device_id']}")


@app.command()
def register(name: str, password_stdin: PasswordStdin = False, device_name: DeviceName = None,
             server: ServerOpt = None, profile: ProfileOpt = None,
             json_out: JsonOpt = False) -> None:
    """Create an account and log this profile in as its first device."""
    password = ask_password(password_stdin, confirm=True)
    secret = _passphrase()

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            session = await client.register(name, password, _device_name(device_name))
            await enroll(client, secret)  # device keys, 50 one-time keys, fallback key
            return session

    session = run(go())
    emit(json_out, {k: v for k, v in session.items() if k != "token"}, _print_session)


@app.command()
def login(name: str, password_stdin: PasswordStdin = False, device_name: DeviceName = None,
          server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Log in as a new device of an existing account."""
    password = ask_password(password_stdin)
    secret = _passphrase()

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            session = await client.login(name, password, _device_name(device_name))
            await enroll(client, secret)  # each login is a new device with new keys
            return session

    session = run(go())
    emit(json_out, {k: v for k, v in session.items() if k != "token"}, _print_session)


@app.command()
def devices(server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """List this account's devices."""

    async def go() -> list[dict[str, Any]]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.devices()

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("id", "name", "created", "last seen", "")
        for d in items:
            table.add_row(cell(d["id"]), cell(d["name"]), _ts(d["created_at"]),
                          _ts(d["last_seen_at"]), "this device" if d["current"] else "")
        console.print(table)

    emit(json_out, run(go()), human)


@app.command()
def revoke(device_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Log out another of your devices."""

    async def go() -> None:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            await client.revoke_device(device_id)

    run(go())
    emit(json_out, {"revoked": device_id}, lambda _: console.print(f"revoked {device_id}"))


@app.command()
def logout(server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Log this device out and forget its token."""

    async def go() -> None:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            await client.logout()

    run(go())
    emit(json_out, {"logged_out": True}, lambda _: console.print("logged out"))


@app.command()
def whoami(server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Show who this profile is logged in as."""

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.me()

    emit(json_out, run(go()),
         lambda me: console.print(f"{me['username']} ({me['role']}) on {me['device_id']}"))


def _ts(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


@app.command("profile")
def profile_command(display_name: Annotated[str | None, typer.Option(
                        "--display-name", help="The name others see.")] = None,
                    avatar: Annotated[Path | None, typer.Option(
                        "--avatar", help="A picture to show beside it.", exists=True,
                        dir_okay=False, readable=True)] = None,
                    no_avatar: Annotated[bool, typer.Option(
                        "--no-avatar", help="Remove the picture.")] = False,
                    server: ServerOpt = None, profile: ProfileOpt = None,
                    json_out: JsonOpt = False) -> None:
    """Show your public profile, or change its display name or picture."""
    if avatar is not None and no_avatar:
        fail("pass --avatar FILE or --no-avatar, not both", "conflicting_options")

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            if display_name is None and avatar is None and not no_avatar:
                return await client.public_profile()
            picture = ("" if no_avatar else
                       (await client.upload_file(avatar))["sha256"] if avatar else None)
            return await client.set_profile(display_name, picture)

    emit(json_out, run(go()), lambda p: show(
        f"{p['username']}: ", p["display_name"] or "(no display name)",
        f"  avatar {p['avatar_url'] or 'none'}"
        + (f"  ({p['state']})" if p["state"] != "visible" else "")))


@app.command()
def delete(password_stdin: PasswordStdin = False,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Delete your account: every device is logged out, keys and queued messages go."""
    # Ask only in a terminal: standard input may hold the password, and a script's
    # --json output must be the answer alone.
    terminal = sys.stdin.isatty() and not password_stdin
    if not yes and not (terminal and typer.confirm("delete your account for good?")):
        fail("not confirmed: pass --yes (asked only in a terminal)", "not_confirmed")
    password = ask_password(password_stdin)
    directory = profile_dir(profile)

    async def go() -> str:
        async with TidingsClient.from_profile(directory, server) as client:
            name = client.profile.username if client.profile else ""
            await client.call(rq.delete_account(password))
        profiles.remove(directory)
        return name

    name = run(go())
    emit(json_out, {"deleted": name}, lambda _: show(f"account {name} deleted"))
