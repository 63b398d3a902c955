"""Key verification: 60-digit safety numbers, interactive SAS, verified devices.

Which devices this device has verified is kept in the key store
(``settings["verified"]``: user -> device id -> Ed25519 key). When a verified
contact's device list changes (a device added or gone), ``DeviceCrypto`` records a
warning the first time it sees the new list (``Messenger.crypto.warnings``); the CLI
prints it. Nothing is re-verified automatically: the person compares again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tidings.client import privacy_requests as prq
from tidings.client import requests as rq
from tidings.client.e2ee import Received
from tidings.client.messaging import Messenger
from tidings.client.sas_flow import SasFlow, SasState
from tidings.crypto import SasParty, safety_number
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import DeviceKeys
from tidings.protocol.payload import MessageContent

SAS_POLL_S = 0.3


async def safety(m: Messenger, user: str) -> tuple[str, dict[str, DeviceKeys]]:
    """The 60-digit safety number with ``user`` and the devices it covers."""
    user = user.strip().lower()
    found = await m.query(sorted({user, m.user}))
    theirs, mine = found.get(user, {}), found.get(m.user, {})
    if not theirs:
        raise TidingsError(f"{user} has no devices with verifiable keys", "no_devices")
    number = safety_number(m.user, [r.ed25519 for r in mine.values()],
                           user, [r.ed25519 for r in theirs.values()])
    return number, theirs


def mark_verified(m: Messenger, user: str, devices: dict[str, DeviceKeys]) -> None:
    verified = m.crypto.settings.setdefault("verified", {})
    verified.setdefault(user, {}).update({d: r.ed25519 for d, r in devices.items()})
    m.save()


def verified_devices(m: Messenger, user: str) -> dict[str, str]:
    return dict(m.crypto.settings.get("verified", {}).get(user, {}))


async def send_to_device(m: Messenger, user: str, device_id: str, body: dict[str, Any]
                         ) -> None:
    record = (await m.query([user])).get(user, {}).get(device_id)
    if record is None:
        raise TidingsError(f"{user} has no verifiable device {device_id}", "device_not_found")
    claimed = {} if m.crypto.has_session(record) else await m.claim({user: [device_id]})
    content = MessageContent("verification", body, uuid.uuid4().hex, time.time_ns() // 1_000_000)
    envelopes, commitment = m.crypto.encrypt(content, [record], claimed)
    m.save()
    await m.client.call(rq.send_message({"client_id": content.client_id, "to": user,
                                         "to_device": device_id, "commitment": commitment,
                                         "envelopes": envelopes}))


def _party(m: Messenger) -> tuple[SasParty, str]:
    return SasParty(m.user, m.crypto.device_id), m.crypto.machine.identity.ed25519


async def start_sas(m: Messenger, user: str, device_id: str) -> SasFlow:
    record = (await m.query([user])).get(user, {}).get(device_id)
    if record is None:
        raise TidingsError(f"{user} has no verifiable device {device_id}", "device_not_found")
    own, own_key = _party(m)
    flow, first = SasFlow.start(own, own_key, SasParty(user, device_id), record.ed25519)
    await send_to_device(m, user, device_id, first)
    return flow


async def pending_start(m: Messenger, user: str) -> tuple[str, dict[str, Any]] | None:
    """A ``start`` from one of ``user``'s devices waiting in the stream, if any."""
    inbox = await m.receive()
    for s in inbox.signals:
        if s.content.kind == "verification" and s.sender == user \
                and s.content.body.get("step") == "start":
            return s.device, dict(s.content.body)
    return None


async def accept_sas(m: Messenger, user: str, device_id: str, start: dict[str, Any]) -> SasFlow:
    record = (await m.query([user])).get(user, {}).get(device_id)
    if record is None:
        raise TidingsError(f"{user} has no verifiable device {device_id}", "device_not_found")
    own, own_key = _party(m)
    flow, reply = SasFlow.accept(own, own_key, SasParty(user, device_id), record.ed25519,
                                 start)
    # Answering a verification is consenting to talk: accept a pending message request
    # from them, or the server refuses the reply (issue 20).
    await m.client.call(prq.accept_request(user))
    await send_to_device(m, user, device_id, reply)
    return flow


async def pump(m: Messenger, flow: SasFlow, until: set[SasState], timeout: float) -> SasState:
    """Receive and answer verification messages until the flow reaches ``until``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while flow.state not in until | {SasState.CANCELLED}:
        if asyncio.get_running_loop().time() > deadline:
            raise TidingsError("the other device did not answer in time", "sas_timeout")
        inbox = await m.receive(SAS_POLL_S)
        for s in inbox.signals:
            await answer(m, flow, s)
    await settle(m, flow)
    return flow.state


async def answer(m: Messenger, flow: SasFlow, signal: Received) -> bool:
    """Feed one received signal to the flow if it belongs to it; send what it answers.

    For clients that read the stream themselves (the TUI) instead of :func:`pump`.
    """
    if signal.content.kind != "verification" or signal.sender != flow.peer.user \
            or signal.device != flow.peer.device_id:
        return False
    for reply in flow.feed(dict(signal.content.body)):
        await send_to_device(m, flow.peer.user, flow.peer.device_id, reply)
    return True


async def settle(m: Messenger, flow: SasFlow) -> bool:
    """A finished flow marks the peer device verified, if its key is still the one checked."""
    if flow.state is not SasState.DONE:
        return False
    record = (await m.query([flow.peer.user])).get(flow.peer.user, {})
    device = record.get(flow.peer.device_id)
    if device is None or device.ed25519 != flow.peer_ed25519:
        return False
    mark_verified(m, flow.peer.user, {flow.peer.device_id: device})
    return True


async def confirm(m: Messenger, flow: SasFlow) -> None:
    await send_to_device(m, flow.peer.user, flow.peer.device_id, flow.confirm())
