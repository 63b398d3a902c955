"""The key directory over HTTP: signatures, ownership, identity pinning, claims, limits."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import httpx

from tests.conftest import AppFactory, bearer, login, register
from tidings.crypto.identity import DeviceIdentity
from tidings.protocol import limits


async def enrolled(client: httpx.AsyncClient, user: str, *, first: bool = True,
                   otks: int = 5) -> tuple[dict[str, Any], DeviceIdentity]:
    session = await (register if first else login)(client, user)
    ident = DeviceIdentity.create(user, session["device_id"])
    body = {"device_keys": ident.device_keys().to_json(),
            "one_time_keys": [k.to_json() for k in ident.generate_one_time_keys(otks)],
            "fallback_key": ident.fallback_key().to_json()}
    r = await client.post("/api/v1/keys/upload", json=body, headers=bearer(session))
    assert r.status_code == 200, r.text
    assert r.json() == {"one_time_key_count": otks}
    ident.mark_published()
    return session, ident


async def test_upload_rules(api: AppFactory) -> None:
    async with api() as client:
        session = await register(client, "alice")
        ident = DeviceIdentity.create("alice", session["device_id"])
        keys = ident.device_keys()
        h = bearer(session)
        # bad signature
        forged = replace(keys, signature=DeviceIdentity.create("alice", "X").sign(b"x"))
        r = await client.post("/api/v1/keys/upload", json={"device_keys": forged.to_json()},
                              headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_signature")
        # someone else's device id
        other = DeviceIdentity.create("alice", "DOTHER").device_keys()
        r = await client.post("/api/v1/keys/upload", json={"device_keys": other.to_json()},
                              headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_device")
        # malformed: the published record schema refuses it
        r = await client.post("/api/v1/keys/upload", json={"device_keys": {"user": 1}}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
        # one-time keys before device keys
        otk = ident.generate_one_time_keys(1)[0].to_json()
        r = await client.post("/api/v1/keys/upload", json={"one_time_keys": [otk]}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "no_device_keys")
        # good, then idempotent re-upload of the same record and keys
        for _ in range(2):
            r = await client.post("/api/v1/keys/upload", json={
                "device_keys": keys.to_json(), "one_time_keys": [otk]}, headers=h)
            assert r.status_code == 200 and r.json()["one_time_key_count"] == 1
        # identity key change refused
        new = DeviceIdentity.create("alice", session["device_id"]).device_keys()
        r = await client.post("/api/v1/keys/upload", json={"device_keys": new.to_json()},
                              headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "identity_key_change")
        # a one-time key signed by another key, or flagged as fallback
        stranger = DeviceIdentity.create("alice", session["device_id"])
        bad_otk = stranger.generate_one_time_keys(1)[0].to_json()
        r = await client.post("/api/v1/keys/upload", json={"one_time_keys": [bad_otk]}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_signature")
        r = await client.post("/api/v1/keys/upload", json={
            "one_time_keys": [ident.fallback_key().to_json()]}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
        # bounded upload
        r = await client.post("/api/v1/keys/upload", json={
            "one_time_keys": [otk] * (limits.KEYS_UPLOAD_OTK_MAX + 1)}, headers=h)
        assert r.status_code in (400, 422)


async def test_query_returns_signed_records(api: AppFactory) -> None:
    async with api() as client:
        a, ident = await enrolled(client, "bob")
        b, _ = await enrolled(client, "bob", first=False)
        r = await client.post("/api/v1/keys/query", json={"users": ["bob", "nobody"]},
                              headers=bearer(a))
        devices = r.json()["devices"]
        assert devices["nobody"] == {}
        assert set(devices["bob"]) == {a["device_id"], b["device_id"]}
        assert devices["bob"][a["device_id"]] == ident.device_keys().to_json()
        r = await client.post("/api/v1/keys/query", json={
            "users": [f"u{i}" for i in range(limits.KEYS_QUERY_USERS_MAX + 1)]},
            headers=bearer(a))
        assert r.status_code in (400, 422)
        assert (await client.post("/api/v1/keys/query", json={"users": []})).status_code == 401


async def test_claim_hands_out_each_key_once_then_fallback_and_notifies(api: AppFactory
                                                                        ) -> None:
    async with api() as client:
        owner, ident = await enrolled(client, "carol", otks=3)
        claimer = await register(client, "dave")
        got: list[dict[str, Any]] = []
        for i in range(5):  # one fresh key per claimer a day: five claimers
            other = await register(client, f"dave{i}")
            r = await client.post("/api/v1/keys/claim", json={"devices": {"carol": []}},
                                  headers=bearer(other))
            assert r.status_code == 200
            got.append(r.json()["one_time_keys"]["carol"][owner["device_id"]])
        assert [k["fallback"] for k in got] == [False, False, False, True, True]
        assert len({k["key_id"] for k in got[:3]}) == 3
        for k in got:  # every handed-out key verifies against the owner's signing key
            from tidings.protocol.keys import OneTimeKey
            assert OneTimeKey.from_json(k).verify("carol", owner["device_id"], ident.ed25519)
        page = (await client.get("/api/v1/stream", params={"since": 0},
                                 headers=bearer(owner))).json()
        counts = [e["body"]["count"] for e in page["events"] if e["kind"] == "otk_count"]
        assert counts == [2, 1, 0]
        # usernames are case-insensitive, as everywhere
        r = await client.post("/api/v1/keys/claim", json={"devices": {"CAROL": []}},
                              headers=bearer(claimer))
        assert r.json()["one_time_keys"]["carol"][owner["device_id"]]["fallback"] is True
        # unknown users and devices are simply absent
        r = await client.post("/api/v1/keys/claim", json={
            "devices": {"carol": ["DNOPE"], "ghost": []}}, headers=bearer(claimer))
        assert r.json()["one_time_keys"] == {"carol": {}, "ghost": {}}


async def test_concurrent_claims_over_http_never_share_a_key(api: AppFactory) -> None:
    async with api() as client:
        owner, _ = await enrolled(client, "erin", otks=10)
        claimers = [await register(client, f"fred{i}") for i in range(20)]

        async def claim(claimer: dict[str, Any]) -> dict[str, Any]:
            r = await client.post("/api/v1/keys/claim", json={"devices": {"erin": []}},
                                  headers=bearer(claimer))
            key: dict[str, Any] = r.json()["one_time_keys"]["erin"][owner["device_id"]]
            return key

        keys = await asyncio.gather(*(claim(c) for c in claimers))
        one_time = [json.dumps(k, sort_keys=True) for k in keys if not k["fallback"]]
        assert len(one_time) == 10 and len(set(one_time)) == 10
