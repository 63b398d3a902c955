"""Helpers for report and review tests: franked messages, staff accounts, notices."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.apps import kernel_of
from tests.conftest import bearer, login
from tidings.crypto import encrypt_attachment
from tidings.kernel import franking_keyring
from tidings.protocol.franking import FrankingKeyring, commitment
from tidings.protocol.keys import b64encode
from tidings.protocol.payload import MessageContent
from tidings.services.accounts import AccountService

PASSWORD = "a long enough passphrase"


def keyring(client: httpx.AsyncClient) -> FrankingKeyring:
    return franking_keyring(kernel_of(client).secrets)


def franked(ring: FrankingKeyring, text: str, sender: str, conversation: str, ts: int,
            device: str = "DEVSENDER", message_id: str | None = None) -> dict[str, Any]:
    """A message as the server would have tagged it and the recipient's client keeps it."""
    payload = MessageContent("text", {"text": text}, secrets.token_hex(4), ts).to_bytes()
    key = secrets.token_bytes(32)
    c = commitment(key, payload)
    key_id, tag = ring.tag(c, sender, device, conversation, ts)
    return {"id": message_id or "M" + secrets.token_hex(6), "sender": sender,
            "sender_device": device, "conversation": conversation, "ts": ts,
            "payload": b64encode(payload), "franking_key": b64encode(key),
            "commitment": b64encode(c), "tag": b64encode(tag), "key_id": key_id}


async def staff(client: httpx.AsyncClient, name: str, role: str) -> dict[str, str]:
    accounts: AccountService = kernel_of(client).accounts
    await accounts.create_user(name, PASSWORD, role, check_reserved=False)
    return bearer(await login(client, name))


def report_body(kind: str, category: str = "terrorist_content", **target: Any
                ) -> dict[str, Any]:
    return {"target": {"kind": kind, **target}, "category": category,
            "explanation": "This glorifies an attack.", "good_faith": True}


async def report(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any],
                 status: int = 201) -> dict[str, Any]:
    r = await client.post("/api/v1/reports", headers=headers, json=body)
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


async def notices(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notices", headers=headers)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


def franked_file(ring: FrankingKeyring, data: bytes, name: str, media_type: str,
                 sender: str, conversation: str, ts: int) -> dict[str, Any]:
    """A ``file`` message as its recipient's client keeps it: the attachment's key record
    (encrypted for real, so the hashes are genuine) inside the franked payload."""
    _, key = encrypt_attachment(data, media_type)
    payload = MessageContent("file", {"name": name, "attachment": key.to_json()},
                             secrets.token_hex(4), ts).to_bytes()
    franking_key = secrets.token_bytes(32)
    c = commitment(franking_key, payload)
    key_id, tag = ring.tag(c, sender, "DEVSENDER", conversation, ts)
    return {"id": "M" + secrets.token_hex(6), "sender": sender, "sender_device": "DEVSENDER",
            "conversation": conversation, "ts": ts, "payload": b64encode(payload),
            "franking_key": b64encode(franking_key), "commitment": b64encode(c),
            "tag": b64encode(tag), "key_id": key_id}
