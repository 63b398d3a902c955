"""Per-process fan-out of channel posts to live WebSocket connections.

One bus subscription per channel per server process (not per connection): a post
arrives once as bytes, is decoded once, and the same ``str`` frame is put into each
local subscriber's send queue, so 10,000 followers cost 10,000 queue appends and no
JSON work. A connection's set of channels follows its user's subscribe/unsubscribe
calls through control words on its device topic (``chan+<id>`` / ``chan-<id>``, sent
by ``ChannelService``), so it works across server processes without a second bus
subscription per connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from tidings.bus.base import Bus, Subscription
from tidings.services.channels import channel_topic

Sink = Callable[[str], None]
"""Queues one frame for one connection; must not block."""


class _Topic:
    __slots__ = ("sinks", "subscription")

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.sinks: dict[int, Sink] = {}


class Membership:
    """One connection's channels; :meth:`close` when the connection ends."""

    __slots__ = ("channels", "fanout", "key", "sink")

    def __init__(self, fanout: ChannelFanout, key: int, sink: Sink) -> None:
        self.fanout = fanout
        self.key = key
        self.sink = sink
        self.channels: set[int] = set()

    def join(self, channel_id: int) -> None:
        if channel_id not in self.channels:
            self.channels.add(channel_id)
            self.fanout._add(channel_id, self.key, self.sink)

    def leave(self, channel_id: int) -> None:
        if channel_id in self.channels:
            self.channels.discard(channel_id)
            self.fanout._remove(channel_id, self.key)

    def control(self, word: str) -> bool:
        """Apply a ``chan+<id>`` / ``chan-<id>`` control word; False if it is not one."""
        if not word.startswith(("chan+", "chan-")) or not word[5:].isdigit():
            return False
        (self.join if word[4] == "+" else self.leave)(int(word[5:]))
        return True

    def close(self) -> None:
        for channel_id in list(self.channels):
            self.leave(channel_id)


class ChannelFanout:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._channels: dict[int, _Topic] = {}
        self._next = 0

    def attach(self, channel_ids: Iterable[int], sink: Sink) -> Membership:
        """Start delivering these channels' frames to ``sink``."""
        self._next += 1
        member = Membership(self, self._next, sink)
        for channel_id in channel_ids:
            member.join(channel_id)
        return member

    def _add(self, channel_id: int, key: int, sink: Sink) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            sub = self.bus.subscribe(channel_topic(channel_id),
                                     partial(self._on_post, channel_id))
            topic = _Topic(sub)
            self._channels[channel_id] = topic
        topic.sinks[key] = sink

    def _remove(self, channel_id: int, key: int) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            return
        topic.sinks.pop(key, None)
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

    def connections(self, channel_id: int) -> int:
        topic = self._channels.get(channel_id)
        return len(topic.sinks) if topic else 0
