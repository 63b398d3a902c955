"""Typed publishing on the live bus: the topics, and which messages each one carries.

Services publish only through these functions, so every bus message is one of the
types in ``protocol/control.py`` (docs/decisions.md, "Gateway and control messages").
"""

from __future__ import annotations

from collections.abc import Iterable

from tidings.bus.base import Bus
from tidings.protocol.control import (
    ChannelMessage,
    ContactsChanged,
    DeviceMessage,
    SessionEnded,
    encode_channel,
    encode_contacts,
    encode_device,
    encode_session,
)

SESSIONS_TOPIC = "sessions"
"""Every process listens here for ``SessionEnded`` (measures are rare)."""


CONTACTS_TOPIC = "contacts"
"""Every process listens here for ``ContactsChanged`` (blocks are rare)."""


def device_topic(device_id: str) -> str:
    return f"device:{device_id}"


def channel_topic(channel_id: int) -> str:
    return f"channel:{channel_id}"


async def to_device(bus: Bus, device_id: str, message: DeviceMessage) -> None:
    await bus.publish(device_topic(device_id), encode_device(message))


async def to_channel(bus: Bus, channel_id: int, message: ChannelMessage) -> None:
    await bus.publish(channel_topic(channel_id), encode_channel(message))


async def end_sessions(bus: Bus, ended: Iterable[SessionEnded]) -> None:
    """After the measure's commit: close these sessions' sockets on every process now
    (the log in storage/sessions.py catches what the bus loses, within a second)."""
    for message in ended:
        await bus.publish(SESSIONS_TOPIC, encode_session(message))


async def contacts_changed(bus: Bus, message: ContactsChanged) -> None:
    """After a block's commit: every process drops its kept send-gate decisions."""
    await bus.publish(CONTACTS_TOPIC, encode_contacts(message))
