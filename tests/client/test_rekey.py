"""Messages a device cannot read are reported clearly, re-keyed, and never crash the client."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.client.helpers import close_all, device, people
from tests.conftest import LiveServer
from tidings.client import requests as rq
from tidings.protocol.payload import MessageContent

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_lost_session_gets_a_rekey_request_and_recovers(live_server: Live,
                                                              tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["hal", "ivy"], per_person=1)
        hal, ivy = group["hal"][0], group["ivy"][0]
        try:
            await hal.send_text("ivy", "one")
            assert [m.text for m in (await ivy.receive()).messages] == ["one"]
            await ivy.send_text("hal", "ack one")  # hal now holds an established session
            assert [m.text for m in (await hal.receive()).messages] == ["ack one"]
            ivy.crypto.machine._sessions.clear()  # ivy loses its Olm state
            await hal.send_text("ivy", "two")
            inbox = await ivy.receive()
            assert inbox.messages == []
            (error,) = inbox.errors
            assert (error.sender, error.code) == ("hal", "undecryptable")
            # hal gets a re-key request over a fresh session; its next message uses it
            back = await hal.receive()
            assert [m.content.kind for m in back.messages] == ["rekey_request"]
            await hal.send_text("ivy", "three")
            assert [m.text for m in (await ivy.receive()).messages] == ["three"]
        finally:
            await close_all(group)


async def test_garbage_and_bad_commitments_are_dropped_with_clear_errors(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["jon", "kim"], per_person=1)
        jon, kim = group["jon"][0], group["kim"][0]
        try:
            await jon.send_text("kim", "hello")
            await kim.receive()
            record = (await jon.query(["kim"]))["kim"][kim.crypto.device_id]
            # a well-encrypted message whose commitment does not match its franking key
            content = MessageContent("text", {"text": "unreportable"}, uuid.uuid4().hex, 1)
            envelopes, _ = jon.crypto.encrypt(content, [record], {})
            await jon.client.call(rq.send_message({
                "client_id": content.client_id, "to": "kim",
                "commitment": base64.b64encode(os.urandom(32)).decode(),
                "envelopes": envelopes}))
            # and plain garbage
            await jon.client.call(rq.send_message({
                "client_id": "garbage", "to": "kim",
                "commitment": base64.b64encode(os.urandom(32)).decode(),
                "envelopes": [{"device_id": kim.crypto.device_id,
                               "ciphertext": {"type": 1, "body": "bm90IG9sbQ"}}]}))
            await jon.send_text("kim", "still fine")
            inbox = await kim.receive()
            assert [e.code for e in inbox.errors] == ["franking_mismatch", "undecryptable"]
            assert [m.text for m in inbox.messages] == ["still fine"]
            assert all(m["text"] != "unreportable" for m in kim.crypto.inbox)
        finally:
            await close_all(group)


async def test_device_tops_up_one_time_keys_when_claims_run_low(live_server: Live,
                                                                tmp_path: Path) -> None:
    from tests.client.test_key_drain import HOUR_MS, Clock
    from tidings.protocol import limits

    clock = Clock()  # claims are limited per hour (issue 20): the test moves time on
    async with live_server(clock=clock) as server:
        group = await people(server.url, tmp_path, ["lea", "max"], per_person=1)
        lea, mx = group["lea"][0], group["max"][0]
        claimers = [await device(server.url, tmp_path, f"claimer{i}", "d", first=True)
                    for i in range(limits.KEYS_OTK_TARGET - limits.KEYS_OTK_LOW_WATER + 1)]
        try:
            device_id = lea.crypto.device_id
            for i, other in enumerate(claimers):
                if i and i % limits.KEY_CLAIM_PER_DEVICE_MAX == 0:
                    clock.offset += HOUR_MS + 1
                claimed = await other.claim({"lea": [device_id]})
                assert claimed[device_id]["fallback"] is False
            count = (await lea.client.call(rq.Request("GET", "/api/v1/keys/count")))
            assert count["one_time_key_count"] == limits.KEYS_OTK_LOW_WATER - 1
            await lea.receive()  # sees otk_count events and uploads more
            count = (await lea.client.call(rq.Request("GET", "/api/v1/keys/count")))
            assert count["one_time_key_count"] == limits.KEYS_OTK_TARGET
            # the fresh keys work: max (who has not claimed yet today) gets one
            fresh = await mx.claim({"lea": [device_id]})
            assert fresh[device_id]["fallback"] is False
        finally:
            await close_all(group)
            for other in claimers:
                await other.client.close()
