"""End-to-end through the SDK against a real server: three people, two devices each."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.apps import kernel_of
from tests.client.helpers import close_all, device, people
from tests.conftest import LiveServer
from tidings.kernel import franking_keyring
from tidings.protocol.franking import FrankingVerdict, verify_report
from tidings.protocol.keys import b64decode

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_every_device_gets_every_message_exactly_once(live_server: Live,
                                                            tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["ann", "ben", "cat"])
        try:
            sent: list[tuple[str, str, str]] = []
            for sender in group:
                for recipient in group:
                    if sender != recipient:
                        text = f"hello {recipient} from {sender}"
                        await group[sender][0].send_text(recipient, text)
                        sent.append((sender, recipient, text))
            for user, devices in group.items():
                for i, m in enumerate(devices):
                    inbox = await m.receive()
                    assert inbox.errors == []
                    got = sorted((r.sender, r.conversation, r.text) for r in inbox.messages)
                    # incoming to this person, plus copies of what this person's *other*
                    # device sent (device 0 sent everything, so device 1 sees copies)
                    want = sorted(
                        (s, r, t) for s, r, t in sent
                        if r == user or (s == user and i != 0))
                    assert got == want, (user, i)
                    again = await m.receive()
                    assert again.items == []  # acknowledged: never delivered twice
        finally:
            await close_all(group)


async def test_offline_device_catches_up_and_restart_keeps_messages(
        live_server: Live, tmp_path: Path) -> None:
    data_tmp = tmp_path
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["dan", "eve"])
        await group["dan"][0].send_text("eve", "before restart")
        url = server.url
        port = server.port
    # the server stops between send and receive; a new app opens the same data dir
    from tests.conftest import LiveServer as _LS
    from tests.conftest import make_settings, running_app

    async with running_app(make_settings(data_tmp)) as app:
        restarted = _LS(app, port)
        await restarted.start()
        try:
            assert restarted.url == url
            for m in group["eve"]:
                inbox = await m.receive()
                assert [r.text for r in inbox.messages] == ["before restart"]
            # dan's second device was "offline" all along: it gets its copy now
            inbox = await group["dan"][1].receive()
            assert [r.text for r in inbox.messages] == ["before restart"]
            # a third device of eve that logs in later starts with an empty stream
            late = await device(url, tmp_path, "eve", "late", first=False)
            await group["dan"][0].send_text("eve", "after restart")
            assert [r.text for r in (await late.receive()).messages] == ["after restart"]
            await late.client.close()
        finally:
            await restarted.stop()
            await close_all(group)


async def test_received_franking_data_verifies_with_server_keyring(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["fay", "gus"], per_person=1)
        try:
            await group["fay"][0].send_text("gus", "report me")
            inbox = await group["gus"][0].receive()
            (msg,) = inbox.messages
            keyring = franking_keyring(kernel_of(server).secrets)
            args: dict[str, Any] = {
                "keyring": keyring, "payload": msg.content.to_bytes(),
                "franking_key": msg.franking_key, "commitment": base64.b64decode(msg.commitment),
                "tag": b64decode(msg.tag), "key_id": msg.key_id, "sender": "fay",
                "sender_device": msg.device, "conversation": "gus", "server_ts_ms": msg.ts}
            assert verify_report(**args) is FrankingVerdict.VERIFIED
            changed = bytearray(msg.content.to_bytes())
            changed[-3] ^= 1
            bad = {**args, "payload": bytes(changed)}
            assert verify_report(**bad) is FrankingVerdict.BAD_COMMITMENT
            moved = {**args, "conversation": "fay"}
            assert verify_report(**moved) is FrankingVerdict.BAD_TAG
            # what a report needs is kept locally
            kept = group["gus"][0].crypto.inbox[-1]
            assert kept["id"] == msg.id and kept["franking_key"] and kept["tag"]
        finally:
            await close_all(group)


async def test_sending_to_someone_without_keys_is_a_clear_error(live_server: Live,
                                                                tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["hugo"], per_person=1)
        try:
            from tidings.client.sdk import TidingsClient
            from tidings.protocol.errors import TidingsError

            async with TidingsClient(server.url, profile_dir=tmp_path / "keyless") as other:
                await other.register("keyless", "a long enough passphrase", "old phone")
            with pytest.raises(TidingsError) as info:
                await group["hugo"][0].send_text("keyless", "hello?")
            assert info.value.code == "no_devices"
            with pytest.raises(TidingsError) as info:
                await group["hugo"][0].send_text("nobody_here", "hello?")
            assert info.value.code == "no_devices"
        finally:
            await close_all(group)
