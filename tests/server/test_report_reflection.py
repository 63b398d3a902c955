"""Issue 20 item 5: reports are for content only.

The attack: mallory starts a SAS verification with bob whose transaction id is her own
text; bob's client echoes the ``txn`` in its franked ``verification`` reply; mallory
reports that reply, and the console showed her words as a franking-verified message from
bob. Now the server refuses any control payload (verification, receipts, keys, typing,
timers) as reported content, and names reported messages from the tag it verified,
never from an id the reporter supplies; the client refuses to echo a free-text ``txn``.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.conftest import AppFactory
from tests.server.channel_util import user
from tests.server.report_util import franked, keyring, report, report_body, staff
from tidings.client.report_requests import message_report
from tidings.client.sas_flow import SasFlow
from tidings.crypto import SasError, SasParty
from tidings.crypto.identity import DeviceIdentity
from tidings.protocol.errors import BadRequest
from tidings.protocol.franking import FrankingKeyring, commitment, reported_message_id
from tidings.protocol.keys import b64decode, b64encode
from tidings.protocol.payload import CONTROL_KINDS, MessageContent

NOW = 1_767_225_600_000
ATTACKER_TEXT = "I will hurt you tonight - bob"


def franked_kind(ring: FrankingKeyring, kind: str, body: dict[str, Any], sender: str,
                 conversation: str, ts: int) -> dict[str, Any]:
    """A control payload as the server tagged it and its recipient's client holds it."""
    payload = MessageContent(kind, body, secrets.token_hex(4), ts).to_bytes()
    key = secrets.token_bytes(32)
    c = commitment(key, payload)
    key_id, tag = ring.tag(c, sender, "DEVBOB", conversation, ts)
    return {"id": "M" + secrets.token_hex(6), "sender": sender, "sender_device": "DEVBOB",
            "conversation": conversation, "ts": ts, "payload": b64encode(payload),
            "franking_key": b64encode(key), "commitment": b64encode(c),
            "tag": b64encode(tag), "key_id": key_id}


def message_body(msg: dict[str, Any], context: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    body = report_body("message", category="harassment")
    body["message"], body["context"] = msg, context or []
    return body


CONTROL_BODIES: dict[str, dict[str, Any]] = {
    "verification": {"step": "key", "txn": ATTACKER_TEXT, "key": "AAAA"},
    "receipt": {"type": "read", "ids": [ATTACKER_TEXT]},
    "typing": {"active": True},
    "key_share": {"session_id": ATTACKER_TEXT, "session_key": "AAAA"},
    "rekey_request": {"message_id": ATTACKER_TEXT},
    "timer": {"timer_ms": 60_000},
}


def test_every_control_kind_is_covered() -> None:
    assert set(CONTROL_BODIES) == CONTROL_KINDS


@pytest.mark.parametrize("kind", sorted(CONTROL_BODIES))
async def test_a_franked_control_payload_cannot_be_reported(api: AppFactory, kind: str
                                                            ) -> None:
    async with api() as client:
        await user(client, "bob")
        mallory = await user(client, "mallory")
        ring = keyring(client)
        # bob's genuine, franked control message to mallory, echoing her text
        reflected = franked_kind(ring, kind, CONTROL_BODIES[kind], "bob", "mallory", NOW)
        r = await client.post("/api/v1/reports", headers=mallory, json=message_body(reflected))
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "not_content"
        # nor smuggled in as context of a real message
        real = franked(ring, "hello", "bob", "mallory", NOW + 5)
        r = await client.post("/api/v1/reports", headers=mallory,
                              json=message_body(real, [reflected]))
        assert r.status_code == 400 and r.json()["error"]["code"] == "not_content"


async def test_reported_message_ids_come_from_the_verified_tag(api: AppFactory) -> None:
    async with api() as client:
        bob = await user(client, "bob")
        await user(client, "mallory")
        mod = await staff(client, "mod_anna", "moderator")
        ring = keyring(client)
        msg = franked(ring, "the threat", "mallory", "bob", NOW, message_id="Mvictims_id")
        first = await report(client, bob, message_body(msg))
        again = await report(client, bob, message_body({**msg, "id": ATTACKER_TEXT}))
        assert first["case_id"] == again["case_id"]
        case = (await client.get(f"/api/v1/mod/cases/{first['case_id']}", headers=mod)).json()
        expected = reported_message_id(b64decode(msg["tag"]))
        ids = {m["message_id"] for rep in case["reports"] for m in rep["messages"]}
        assert ids == {expected}  # neither "Mvictims_id" nor the attacker's text
        assert {rep["location"] for rep in case["reports"]} == {f"message:{expected}"}


def test_a_client_refuses_to_echo_a_free_text_transaction_id() -> None:
    alice = DeviceIdentity.create("alice", "DEVA")
    bob = DeviceIdentity.create("bob", "DEVB")
    start = {"step": "start", "txn": ATTACKER_TEXT, "commitment": "x"}
    for txn in (ATTACKER_TEXT, "", None, 12, "0123456789ABCDEF", "0" * 17):
        with pytest.raises(SasError):
            SasFlow.accept(SasParty("bob", "DEVB"), bob.ed25519, SasParty("alice", "DEVA"),
                           alice.ed25519, {**start, "txn": txn})
    flow, first = SasFlow.start(SasParty("alice", "DEVA"), alice.ed25519,
                                SasParty("bob", "DEVB"), bob.ed25519)
    accepted, reply = SasFlow.accept(SasParty("bob", "DEVB"), bob.ed25519,
                                     SasParty("alice", "DEVA"), alice.ed25519, first)
    assert reply["txn"] == flow.txn == accepted.txn


def test_the_client_will_not_build_a_report_of_a_control_message() -> None:
    def stored(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = MessageContent(kind, body, "c1", 1).to_bytes()
        return {"id": f"M{kind}", "from": "bob", "device": "D", "ts": 1,
                "conversation": "mallory", "payload": b64encode(payload),
                "franking_key": "k", "commitment": "c", "tag": "t", "key_id": "k1"}

    inbox = [stored("verification", CONTROL_BODIES["verification"]),
             stored("text", {"text": "hi"})]
    with pytest.raises(BadRequest) as info:
        message_report(inbox, "Mverification", "harassment", "why")
    assert info.value.code == "not_content"
    with pytest.raises(BadRequest):
        message_report(inbox, "Mtext", "harassment", "why", context=1)  # control as context
    assert message_report(inbox[1:], "Mtext", "harassment", "why").json is not None
