"""Issue 20, finding 1: one account must not be able to drain another's one-time keys.

An attacker claims the victim's device over and over (one request naming it 200 times,
then many requests), then a crowd of fresh accounts does the same, hour after hour
(the server's clock is moved on). The victim's keys run out; friends who have never
talked to the victim must still start sessions (on the fallback key) that decrypt, and
the victim's client must never push the server past its cap, nor fail to receive.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx

from tests.client.helpers import close_all, device, people
from tests.conftest import LiveServer
from tidings.client import privacy_requests as prq
from tidings.client.messaging import Messenger
from tidings.protocol import limits

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
HOUR_MS = 3600 * 1000


class Clock:
    """The server's clock, moved forward by the test (real time plus an offset)."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.offset = 0

    def __call__(self) -> int:
        return self._time.time_ns() // 1_000_000 + self.offset


async def _claim(http: httpx.AsyncClient, token: str, devices: dict[str, list[str]]
                 ) -> dict[str, Any]:
    r = await http.post("/api/v1/keys/claim", json={"devices": devices},
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["one_time_keys"]
    return body


async def _count(m: Messenger) -> int:
    return int((await m.client.call(prq.key_count()))["one_time_key_count"])


async def test_drained_device_stays_reachable_and_recovers(live_server: Live,
                                                           tmp_path: Path) -> None:
    clock = Clock()
    async with live_server(clock=clock) as server, httpx.AsyncClient(base_url=server.url) as http:
        victim = await device(server.url, tmp_path, "victim", "phone", first=True)
        vdev = victim.crypto.device_id
        attacker = await device(server.url, tmp_path, "mallory", "d0", first=True)
        token = attacker.client.transport.token
        assert token is not None
        try:
            # 1. one request naming the device 200 times takes one key, not 200
            got = await _claim(http, token, {"victim": [vdev] * limits.KEYS_CLAIM_DEVICES_MAX})
            assert got["victim"][vdev]["fallback"] is False
            assert await _count(victim) == limits.KEYS_OTK_TARGET - 1
            # 2. the same account again and again: the fallback key every time
            for _ in range(45):
                again = await _claim(http, token, {"victim": [vdev]})
                assert again["victim"][vdev]["fallback"] is True
            assert await _count(victim) == limits.KEYS_OTK_TARGET - 1
            # 3. a crowd of fresh accounts, hour after hour, while the victim is offline
            fresh = 0
            for hour in range(3):
                for i in range(limits.KEY_CLAIM_PER_DEVICE_MAX + 5):
                    r = await http.post("/api/v1/accounts/register", json={
                        "username": f"sock{hour}x{i}", "password": "a long enough passphrase",
                        "device_name": "d"})
                    assert r.status_code == 201, r.text
                    claimed = await _claim(http, r.json()["token"], {"victim": []})
                    fresh += claimed["victim"][vdev]["fallback"] is False
                clock.offset += HOUR_MS + 1
            # bounded per hour: 29 + 30 + the rest of the 50 (then none are left)
            assert fresh == limits.KEYS_OTK_TARGET - 1
            assert await _count(victim) == 0

            # 4. friends who never talked to the victim start sessions on the fallback key
            friends = await people(server.url, tmp_path, ["ann", "ben", "cat"], per_person=1)
            for name, (m,) in friends.items():
                await m.send_text("victim", f"hello from {name}")
            # 5. the victim comes back: every message decrypts, keys are topped up once,
            # never past the server's cap, and receiving does not fail
            inbox = await victim.receive()
            assert inbox.errors == []
            assert sorted(r.text for r in inbox.messages) == [
                "hello from ann", "hello from ben", "hello from cat"]
            count = await _count(victim)
            assert limits.KEYS_OTK_LOW_WATER <= count <= limits.KEYS_STORED_OTK_MAX
            assert (await victim.receive()).items == []
            # and the sessions go on both ways
            await victim.send_text("ann", "got it")
            (reply,) = (await friends["ann"][0].receive()).messages
            assert reply.text == "got it"
            await close_all(friends)
        finally:
            await victim.client.close()
            await attacker.client.close()


async def test_stale_low_counts_never_overpublish(live_server: Live, tmp_path: Path) -> None:
    """The reported bug: 45 claims send 45 ``otk_count`` events; topping up from each
    stale count published past the cap (409 ``too_many_keys``) and every later receive
    failed. Now the client asks for the real count and receiving goes on."""
    clock = Clock()
    async with live_server(clock=clock) as server:
        victim = await device(server.url, tmp_path, "vic", "phone", first=True)
        try:
            others = await people(server.url, tmp_path, [f"claimer{i}" for i in range(45)],
                                  per_person=1)
            for i, (m,) in enumerate(others.values()):
                if i == limits.KEY_CLAIM_PER_DEVICE_MAX:
                    clock.offset += HOUR_MS + 1  # 30 fresh keys an hour: wait an hour
                await m.claim({"vic": []})
            assert await _count(victim) == limits.KEYS_OTK_TARGET - 45
            inbox = await victim.receive()
            assert inbox.errors == []
            count = await _count(victim)
            assert limits.KEYS_OTK_LOW_WATER <= count <= limits.KEYS_STORED_OTK_MAX
            # a leftover of unpublished keys (a crashed upload) is cut to the room left
            victim.crypto.one_time_keys(50)
            for _ in range(5):
                await victim.top_up(0)
            assert await _count(victim) <= limits.KEYS_STORED_OTK_MAX
            await close_all(others)
        finally:
            await victim.client.close()
