"""People with several devices, each a TidingsClient + Messenger, for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

from tidings.client.messaging import Messenger, enroll
from tidings.client.sdk import TidingsClient
from tidings.services.clock import Clock, system_clock

PASSWORD = "a long enough passphrase"


async def device(server_url: str, tmp: Path, user: str, name: str, *, first: bool,
                 passphrase: str | None = None, clock: Clock = system_clock) -> Messenger:
    """Register (first device) or log in, then enroll keys; profile in ``tmp/user-name``."""
    client = TidingsClient(server_url, profile_dir=tmp / f"{user}-{name}")
    if first:
        await client.register(user, PASSWORD, name)
    else:
        await client.login(user, PASSWORD, name)
    return await enroll(client, passphrase, clock)


async def people(server_url: str, tmp: Path, names: list[str], per_person: int = 2,
                 passphrase: str | None = None) -> dict[str, list[Messenger]]:
    """Without a passphrase the crypto state stays in memory (faster: no argon2id)."""
    out: dict[str, list[Messenger]] = {}
    for user in names:
        out[user] = [await device(server_url, tmp, user, f"d{i}", first=i == 0,
                                  passphrase=passphrase)
                     for i in range(per_person)]
    return out


async def close_all(groups: dict[str, list[Messenger]]) -> None:
    for devices in groups.values():
        for m in devices:
            await m.client.close()


async def join(gid: str, *members: Messenger) -> None:
    """Accept the invitation to ``gid`` (issue 20: being added is being invited)."""
    from tidings.client.groups import Groups

    for m in members:
        await Groups(m).accept(gid)
