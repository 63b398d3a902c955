"""Per-process fan-out of channel posts to live WebSocket connections.

One bus subscription per channel per server process (not per connection): a post
arrives once as bytes, is decoded once, and the same ``str`` frame is put into each
local subscriber's send queue, so 10,000 followers cost 10,000 queue appends and no
JSON work. Likewise one bus subscription per connected user carries that user's
subscribe/unsubscribe notices (``sub:<id>`` / ``unsub:<id>``), so a connection's set
of channels follows changes made on any device, through any server process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial

from tidings.bus.base import Bus, Subscription
from tidings.services.channels import channel_topic, user_topic

log = logging.getLogger(__name__)

Sink = Callable[[str], None]
"""Queues one frame for one connection; must not block."""


class _Topic:
    __slots__ = ("sinks", "subscription")

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.sinks: dict[int, Sink] = {}


class _Member:
    """One connection: its user, its sink and the channels it currently follows."""

    __slots__ = ("channels", "key", "sink", "user_id")

    def __init__(self, key: int, user_id: int, sink: Sink) -> None:
        self.key = key
        self.user_id = user_id
        self.sink = sink
        self.channels: set[int] = set()


class ChannelFanout:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._channels: dict[int, _Topic] = {}
        self._users: dict[int, tuple[Subscription, dict[int, _Member]]] = {}
        self._next = 0

    def attach(self, user_id: int, channel_ids: Iterable[int], sink: Sink) -> Callable[[], None]:
        """Start delivering these channels' frames to ``sink``; returns the detach call."""
        self._next += 1
        member = _Member(self._next, user_id, sink)
        entry = self._users.get(user_id)
        if entry is None:
            sub = self.bus.subscribe(user_topic(user_id), partial(self._on_user, user_id))
            entry = (sub, {})
            self._users[user_id] = entry
        entry[1][member.key] = member
        for channel_id in channel_ids:
            self._join(member, channel_id)
        return lambda: self._detach(member)

    def _detach(self, member: _Member) -> None:
        for channel_id in list(member.channels):
            self._leave(member, channel_id)
        entry = self._users.get(member.user_id)
        if entry is not None:
            entry[1].pop(member.key, None)
            if not entry[1]:
                entry[0].close()
                del self._users[member.user_id]

    def _join(self, member: _Member, channel_id: int) -> None:
        if channel_id in member.channels:
            return
        topic = self._channels.get(channel_id)
        if topic is None:
            sub = self.bus.subscribe(channel_topic(channel_id),
                                     partial(self._on_post, channel_id))
            topic = _Topic(sub)
            self._channels[channel_id] = topic
        topic.sinks[member.key] = member.sink
        member.channels.add(channel_id)

    def _leave(self, member: _Member, channel_id: int) -> None:
        member.channels.discard(channel_id)
        topic = self._channels.get(channel_id)
        if topic is None:
            return
        topic.sinks.pop(member.key, None)
        if not topic.sinks:
            topic.subscription.close()
            del self._channels[channel_id]

    def _on_post(self, channel_id: int, message: bytes) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            return
        frame = message.decode()  # once per post and process, shared by every sink
        for sink in list(topic.sinks.values()):
            sink(frame)

    def _on_user(self, user_id: int, message: bytes) -> None:
        entry = self._users.get(user_id)
        if entry is None:
            return
        word, _, raw = message.decode().partition(":")
        if not raw.isdigit():
            log.warning("bad user notice %r", word)
            return
        for member in list(entry[1].values()):
            if word == "sub":
                self._join(member, int(raw))
            elif word == "unsub":
                self._leave(member, int(raw))

    def connections(self, channel_id: int) -> int:
        topic = self._channels.get(channel_id)
        return len(topic.sinks) if topic else 0
