"""`tidings send`, `tidings receive`, `tidings devices`: end-to-end encrypted 1:1 chat.

The device's keys live in the profile's key store, unlocked with the passphrase from
``TIDINGS_PASSPHRASE`` or, interactively, a prompt.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tidings.cli.common import (
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    console,
    emit,
    fail,
    profile_dir,
    run,
    show,
)
from tidings.cli.errors import EXIT_USAGE
from tidings.client import requests as rq
from tidings.client.attachments import fetch, send_file
from tidings.client.disappearing import set_timer
from tidings.client.e2ee import PASSPHRASE_ENV, Received, passphrase_from_env
from tidings.client.formatting import fingerprint
from tidings.client.messaging import Messenger, Undecryptable
from tidings.client.receipts import Signals
from tidings.client.sdk import TidingsClient
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError, DeviceKeys
from tidings.protocol.safe_text import safe_json


def passphrase(*, confirm: bool = False) -> str:
    """From ``TIDINGS_PASSPHRASE``, else a hidden prompt (confirmed when creating keys)."""
    value = passphrase_from_env()
    if value is None:
        if not sys.stdin.isatty():
            fail(f"the key store is locked — set {PASSPHRASE_ENV} or run interactively",
                 "no_passphrase")
        value = typer.prompt("key store passphrase", hide_input=True,
                             confirmation_prompt=confirm)
    return value


def warn_device_changes(m: Messenger) -> None:
    """A verified contact's devices changed: say so (compare again with `tidings verify`)."""
    for w in m.crypto.warnings:
        show(("warning:", "yellow"), f" {w['user']}'s devices changed since you "
             f"verified them (added: {', '.join(w['added']) or '-'}; removed: "
             f"{', '.join(w['removed']) or '-'}); run `tidings verify {w['user']}`", err=True)


FileOpt = Annotated[Path | None, typer.Option(
    "--file", exists=True, dir_okay=False, help="Send this file, encrypted, as an attachment.")]


def send(user: str, text: Annotated[str, typer.Argument()] = "", file: FileOpt = None,
         server: ServerOpt = None, profile: ProfileOpt = None,
         json_out: JsonOpt = False) -> None:
    """Send an end-to-end encrypted message (or --file) to USER: their devices and yours."""
    if not text and file is None:
        fail("give a TEXT or --file", "usage", EXIT_USAGE)
    secret = passphrase()

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            m = Messenger.open(client, secret)
            result = await (send_file(m, user, file) if file is not None
                            else m.send_text(user, text))
            warn_device_changes(m)
            return result

    emit(json_out, run(go()), lambda r: console.print(f"sent {r['id']}"))


def receive(timeout: Annotated[float, typer.Option(
                help="Wait up to this many seconds for a message after catching up; "
                "returns as soon as messages are in.")] = 0.0,
            receipts: Annotated[bool, typer.Option(
                "--receipts", help="Send delivered receipts for what arrived.")] = False,
            server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Receive, decrypt and acknowledge messages; prints one line (or JSON line) each."""
    secret = passphrase()

    def display(item: Received | Undecryptable) -> None:
        if isinstance(item, Undecryptable):
            show(("could not decrypt", "red"), f" message {item.id} from {item.sender} "
                 f"({item.device}): {item.reason} [{item.code}]; "
                 "asked the sender's device to re-key", err=True)
            if json_out:
                sys.stdout.write(safe_json(item.summary()) + "\n")
        elif item.content.kind == "key_share":
            return
        elif json_out:
            sys.stdout.write(safe_json(item.summary()) + "\n")
        elif item.request:  # issue 20: shown apart, plain, with `tidings requests`
            show(f"message request from {item.sender} (tidings requests)")
        elif item.content.kind == "text":
            when = datetime.fromtimestamp(item.ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
            where = (f"[{item.conversation}] " if item.conversation.startswith("group:")
                     else "")
            show((when, "dim"), " ", (where, "cyan"), (item.sender, "bold"), ": ", item.text)
        sys.stdout.flush()

    async def go() -> None:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            m = Messenger.open(client, secret)
            inbox = await m.receive(timeout, display, until_message=True)
            for item in inbox.messages:
                if item.content.kind == "file":
                    await _save(m, item, json_out)
            signals = Signals(m)
            for s in inbox.signals:
                if s.content.kind == "receipt" or s in signals.visible_typing([s]):
                    _signal(s, json_out)
            if receipts:
                await signals.receipts(inbox.messages)

    run(go())


def _signal(s: Received, json_out: bool) -> None:
    line = {"from": s.sender, "kind": s.content.kind, **s.content.body}
    if json_out:
        sys.stdout.write(safe_json(line) + "\n")
    elif s.content.kind == "typing":
        show((f"{s.sender} is {'typing' if s.content.body.get('active') else 'idle'}", "dim"))
    else:
        ids = s.content.body.get("ids")
        listed = ", ".join(map(str, ids)) if isinstance(ids, list) else ""
        show((f"{s.sender}: {s.content.body.get('type')} {listed}", "dim"))


def typing(user: str,
           off: Annotated[bool, typer.Option("--off", help="Never send typing notices to "
                                             "USER nor show theirs.")] = False,
           on: Annotated[bool, typer.Option("--on", help="Undo --off.")] = False,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Tell USER you are typing (end-to-end encrypted), or turn that off for USER."""
    secret = passphrase()

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            signals = Signals(Messenger.open(client, secret))
            if off or on:
                signals.set_typing(user, on)
                return {"user": user, "typing_notices": on}
            return {"user": user, "sent": await signals.typing(user)}

    def human(r: dict[str, Any]) -> None:
        if "typing_notices" in r:
            console.print(f"typing notices {'on' if r['typing_notices'] else 'off'} for "
                          f"{user}", markup=False)
        else:
            console.print("sent" if r["sent"] else f"typing notices are off for {user}",
                          markup=False)

    emit(json_out, run(go()), human)


def timer(conversation: str, seconds: Annotated[int, typer.Argument(
              help="Disappear after this many seconds (at least 60); 0 turns it off.", min=0)],
          server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Set the disappearing-message timer of a chat with a USER or of a GROUP id."""
    secret = passphrase()

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            await set_timer(Messenger.open(client, secret), conversation,
                            seconds * 1000 if seconds else None)
        return {"conversation": conversation, "timer_s": seconds}

    emit(json_out, run(go()), lambda r: console.print(
        f"messages in {conversation} disappear after {seconds} s" if seconds
        else f"disappearing messages off in {conversation}"))


async def _save(m: Messenger, item: Received, json_out: bool) -> None:
    """Download, verify both hashes, decrypt and save an attachment into the profile."""
    try:
        path = await fetch(m, item)
        line: dict[str, Any] = {"id": item.id, "from": item.sender, "saved": str(path)}
        if not json_out:
            show(f"{item.sender} sent a file: saved to {path}")
    except (CryptoError, TidingsError) as exc:
        line = {"id": item.id, "from": item.sender, "error": exc.code, "message": str(exc)}
        show(("attachment refused", "red"), f" from {item.sender}: {exc} [{exc.code}]",
             err=True)
    if json_out:
        sys.stdout.write(safe_json(line) + "\n")


def devices(user: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """USER's devices and their fingerprints (Ed25519 keys), to compare out of band."""

    async def go() -> list[dict[str, Any]]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result = await client.call(rq.query_keys([user]))
        out = []
        for device_id, obj in sorted(result["devices"].get(user.strip().lower(), {}).items()):
            try:
                record = DeviceKeys.from_json(obj)
                valid = record.verify() and record.device_id == device_id
            except CryptoError:
                continue
            out.append({"device_id": device_id, "ed25519": record.ed25519,
                        "fingerprint": fingerprint(record.ed25519),
                        "curve25519": record.curve25519, "signature_valid": valid})
        return out

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("device", "fingerprint (Ed25519)", "signature")
        for d in items:
            table.add_row(d["device_id"], d["fingerprint"],
                          "valid" if d["signature_valid"] else "[red]INVALID[/red]")
        console.print(table)

    emit(json_out, run(go()), human)
