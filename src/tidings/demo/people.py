"""The cast: each person is a CLI-style profile directory with a logged-in device.

Registering or logging in does what `tidings account register/login` does: the SDK
call, then the device's end-to-end encryption keys are created and published. During
the story the keys live in memory (the SDK's mode for bots that keep their own
storage): the CLI's key store spends a deliberate 64 MiB argon2id on every save, which
would cost the demo more time than everything else. ``keep`` writes each person's
key store once at the end, so anyone can pick a profile up with the CLI
(``tidings receive --profile <dir>``) while the server keeps running.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from tidings.client.e2ee import keystore
from tidings.client.messaging import Messenger, enroll
from tidings.client.sdk import TidingsClient

PASSPHRASE = "tidings demo key store"  # noqa: S105 - printed for the person to use
"""Unlocks every demo profile's key store (printed at the end, for the CLI)."""
DEVICE = "demo"


@dataclass
class Person:
    name: str
    profile: Path
    client: TidingsClient
    messenger: Messenger

    async def close(self) -> None:
        await self.client.close()

    def keep(self) -> None:
        """Write the device's keys into the profile's key store (CLI format)."""
        self.messenger.crypto.save(keystore(self.profile, PASSPHRASE))


async def keep_all(people: list[Person]) -> None:
    """Each key store in a thread of its own: argon2 runs outside the GIL."""
    await asyncio.gather(*(asyncio.to_thread(p.keep) for p in people))


def password() -> str:
    """One random password for all the demo's people (printed, to log in as them)."""
    return secrets.token_urlsafe(12)


async def join(server: str, people_dir: Path, name: str, pw: str, *,
               existing: bool = False) -> Person:
    """Register ``name`` (or log in, for staff created by the operator) and enroll keys."""
    profile = people_dir / name
    client = TidingsClient(server, profile_dir=profile)
    try:
        if existing:
            await client.login(name, pw, DEVICE)
        else:
            await client.register(name, pw, DEVICE)
        messenger = await enroll(client, None)
    except BaseException:
        await client.close()
        raise
    return Person(name, profile, client, messenger)
