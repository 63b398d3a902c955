"""The cast: each person is a CLI-style profile directory with a logged-in device.

Registering or logging in does what `tidings account register/login` does: the SDK
call, then the device's end-to-end encryption keys are created in the profile's key
store (locked with the demo's passphrase) and published. After the demo, anyone can
pick up a profile with the CLI: ``tidings receive --profile <dir>``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from tidings.client.messaging import Messenger, enroll
from tidings.client.sdk import TidingsClient

PASSPHRASE = "tidings demo key store"
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


def password() -> str:
    return secrets.token_urlsafe(12)


async def join(server: str, people_dir: Path, name: str, pw: str | None = None, *,
               existing: bool = False) -> Person:
    """Register ``name`` (or log in, for staff created by the operator) and enroll keys."""
    profile = people_dir / name
    client = TidingsClient(server, profile_dir=profile)
    try:
        if existing:
            await client.login(name, pw or "", DEVICE)
        else:
            await client.register(name, pw or password(), DEVICE)
        messenger = await enroll(client, PASSPHRASE)
    except BaseException:
        await client.close()
        raise
    return Person(name, profile, client, messenger)
