"""Private message relay over HTTP and WebSocket: device sets, idempotency, franking tags."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import websockets

from tests.apps import kernel_of
from tests.conftest import AppFactory, LiveServer, bearer
from tests.server.test_gateway import events_until_live, recv, ws_url
from tests.server.test_keys_api import enrolled
from tidings.kernel import franking_keyring
from tidings.protocol.franking import FrankingKeyring
from tidings.protocol.keys import b64decode

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
COMMITMENT = base64.b64encode(os.urandom(32)).decode()


def body(to: str, devices: list[str], client_id: str = "c1", **extra: Any) -> dict[str, Any]:
    return {"client_id": client_id, "to": to, "commitment": COMMITMENT,
            "envelopes": [{"device_id": d, "ciphertext": {"type": 0, "body": f"QUJD{d}"}}
                          for d in devices], **extra}


async def three_devices(client: httpx.AsyncClient) -> tuple[dict[str, Any], ...]:
    a1, _ = await enrolled(client, "alice")
    a2, _ = await enrolled(client, "alice", first=False)
    b1, _ = await enrolled(client, "bob")
    return a1, a2, b1


async def test_envelopes_must_cover_exactly_the_right_devices(api: AppFactory) -> None:
    async with api() as client:
        a1, a2, b1 = await three_devices(client)
        h = bearer(a1)
        r = await client.post("/api/v1/messages", json=body("bob", [b1["device_id"]]), headers=h)
        assert r.status_code == 409
        err = r.json()["error"]
        assert err["code"] == "mismatched_devices"
        assert err["details"] == {"missing": [a2["device_id"]], "extra": []}
        r = await client.post("/api/v1/messages", json=body(
            "bob", [b1["device_id"], a2["device_id"], a1["device_id"], "DGONE"]), headers=h)
        assert r.json()["error"]["details"] == {"missing": [],
                                                "extra": sorted([a1["device_id"], "DGONE"])}
        r = await client.post("/api/v1/messages", json=body(
            "bob", [b1["device_id"], a2["device_id"]]), headers=h)
        assert r.status_code == 200, r.text
        # every target device got one event with the franking data; the sender did not
        for session, expected in ((b1, 1), (a2, 1), (a1, 0)):
            page = (await client.get("/api/v1/stream", params={"since": 0},
                                     headers=bearer(session))).json()
            msgs = [e for e in page["events"] if e["kind"] == "message"]
            assert len(msgs) == expected
        (event,) = [e for e in (await client.get("/api/v1/stream", params={"since": 0},
                    headers=bearer(b1))).json()["events"] if e["kind"] == "message"]
        b = event["body"]
        assert (b["from"], b["device"], b["conversation"]) == ("alice", a1["device_id"], "bob")
        assert b["ciphertext"] == {"type": 0, "body": f"QUJD{b1['device_id']}"}
        assert b["id"] == r.json()["id"] and b["ts"] == r.json()["ts"]
        keyring: FrankingKeyring = franking_keyring(kernel_of(client).secrets)
        assert keyring.verify(b["key_id"], b64decode(b["tag"]), base64.b64decode(COMMITMENT),
                              "alice", a1["device_id"], "bob", b["ts"])
        assert not keyring.verify(b["key_id"], b64decode(b["tag"]),
                                  base64.b64decode(COMMITMENT), "alice", a1["device_id"],
                                  "bob", b["ts"] + 1)


async def test_retry_returns_same_id_and_stores_nothing_twice(api: AppFactory) -> None:
    async with api() as client:
        a1, a2, b1 = await three_devices(client)
        devices = [b1["device_id"], a2["device_id"]]
        first = await client.post("/api/v1/messages", json=body("bob", devices, "retry"),
                                  headers=bearer(a1))
        again = await client.post("/api/v1/messages", json=body("bob", devices, "retry"),
                                  headers=bearer(a1))
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        page = (await client.get("/api/v1/stream", params={"since": 0},
                                 headers=bearer(b1))).json()
        assert len([e for e in page["events"] if e["kind"] == "message"]) == 1
        # the same client_id from another device is another message
        other = await client.post("/api/v1/messages", json=body(
            "bob", [b1["device_id"], a1["device_id"]], "retry"), headers=bearer(a2))
        assert other.json()["id"] != first.json()["id"]


async def test_bad_sends_are_typed_4xx(api: AppFactory) -> None:
    async with api() as client:
        a1, a2, b1 = await three_devices(client)
        h = bearer(a1)
        ok = [b1["device_id"], a2["device_id"]]
        cases = [
            (body("nobody", ok), 404, "user_not_found"),
            ({**body("bob", ok), "commitment": "AAAA"}, 400, "bad_commitment"),
            ({**body("bob", ok), "client_id": "has space"}, 400, "invalid_message"),
            (body("bob", [b1["device_id"], b1["device_id"]]), 400, "duplicate_device"),
            ({**body("bob", ok), "envelopes": [{"device_id": "D", "ciphertext": {
                "type": 7, "body": "x"}}]}, 400, "invalid_message"),
            (body("bob", ["DX"], to_device="DX"), 404, "device_not_found"),
        ]
        for payload, status, code in cases:
            r = await client.post("/api/v1/messages", json=payload, headers=h)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), payload
        # a control message to one device only
        r = await client.post("/api/v1/messages", json=body(
            "bob", [b1["device_id"]], "ctl", to_device=b1["device_id"]), headers=h)
        assert r.status_code == 200
        # a device without published keys cannot send
        from tests.conftest import register
        c = await register(client, "carl")
        r = await client.post("/api/v1/messages", json=body("bob", [b1["device_id"]]),
                              headers=bearer(c))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "no_device_keys")


async def test_send_over_websocket_and_live_delivery(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        a1, a2, b1 = await three_devices(http)
        sender = await websockets.connect(ws_url(server), additional_headers=bearer(a1))
        await sender.send(json.dumps({"type": "hello", "since": 0}))
        await events_until_live(sender)
        receiver = await websockets.connect(ws_url(server), additional_headers=bearer(b1))
        await receiver.send(json.dumps({"type": "hello", "since": 0}))
        await events_until_live(receiver)
        devices = [b1["device_id"], a2["device_id"]]
        for i in range(20):
            await sender.send(json.dumps({"type": "send", "ref": f"r{i}",
                                          **body("bob", devices, f"ws{i}")}))
        replies = [await recv(sender) for _ in range(20)]
        assert sorted(r["ref"] for r in replies) == sorted(f"r{i}" for i in range(20))
        assert all(r["type"] == "sent" and r["id"].startswith("M") for r in replies)
        got = [await recv(receiver) for _ in range(20)]
        assert [g["seq"] for g in got] == list(range(1, 21))
        assert {g["body"]["id"] for g in got} == {r["id"] for r in replies}
        # errors carry the ref; a malformed send is answered, not fatal
        await sender.send(json.dumps({"type": "send", "ref": "bad", **body("bob", devices[:1])}))
        err = await recv(sender)
        assert (err["type"], err["ref"], err["code"]) == ("error", "bad", "mismatched_devices")
        assert err["details"]["missing"] == [a2["device_id"]]
        await sender.send(json.dumps({"type": "send", "ref": "worse", "to": "bob"}))
        err = await recv(sender)
        assert (err["ref"], err["code"]) == ("worse", "invalid_message")
        await sender.send(json.dumps({"type": "send", "to": "bob"}))
        assert (await recv(sender))["code"] == "bad_frame"
        # acknowledged events are deleted (existing cumulative ack)
        await receiver.send(json.dumps({"type": "ack", "upto": 20}))
        await receiver.send('{"type":"ping"}')
        assert (await recv(receiver))["type"] == "pong"
        page = (await http.get("/api/v1/stream", params={"since": 0},
                               headers=bearer(b1))).json()
        assert page["events"] == []
        await sender.close()
        await receiver.close()
