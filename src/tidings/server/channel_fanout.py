"""Per-process fan-out of channel posts to live WebSocket connections.

One bus subscription per channel per server process (not per connection): a post
arrives once as bytes, is decoded once into one ``Frame``, and that same object is put
into each local subscriber's send queue, so 10,000 followers cost 10,000 queue appends
and no JSON work. A connection's set of channels follows its user's subscribe and
unsubscribe calls through ``JoinChannel`` / ``LeaveChannel`` on its device topic (sent
by ``ChannelService``), so it works across server processes without a second bus
subscription per connection. ``ChannelClosed`` on the channel's own topic (a ban)
detaches every connection of every process from it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial

from tidings.bus.base import Bus, Subscription
from tidings.protocol.control import ChannelClosed, ControlError, Frame, decode_channel
from tidings.services.live import channel_topic

log = logging.getLogger(__name__)

Sink = Callable[[Frame], None]
"""Queues one frame for one connection; must not block."""


class _Topic:
    __slots__ = ("members", "subscription")

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.members: dict[int, Membership] = {}


class Membership:
    """One connection's channels; :meth:`close` when the connection ends."""

    __slots__ = ("channels", "fanout", "key", "sink")

    def __init__(self, fanout: ChannelFanout, key: int, sink: Sink) -> None:
        self.fanout = fanout
        self.key = key
        self.sink = sink
        self.channels: list[int] = []
        """A list, not a set: most connections follow few channels (an empty set is
        216 bytes), and joins and leaves are rare next to deliveries."""

    def join(self, channel_id: int) -> None:
        if channel_id not in self.channels:
            self.channels.append(channel_id)
            self.fanout._add(channel_id, self)

    def leave(self, channel_id: int) -> None:
        if channel_id in self.channels:
            self.channels.remove(channel_id)
            self.fanout._remove(channel_id, self.key)

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

    def _add(self, channel_id: int, member: Membership) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            sub = self.bus.subscribe(channel_topic(channel_id),
                                     partial(self._on_message, channel_id))
            topic = _Topic(sub)
            self._channels[channel_id] = topic
        topic.members[member.key] = member

    def _remove(self, channel_id: int, key: int) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            return
        topic.members.pop(key, None)
        if not topic.members:
            topic.subscription.close()
            del self._channels[channel_id]

    def _on_message(self, channel_id: int, message: bytes) -> None:
        topic = self._channels.get(channel_id)
        if topic is None:
            return
        try:
            decoded = decode_channel(message)  # once per post and process
        except ControlError as exc:
            log.warning("channel %d: dropped a bus message: %s", channel_id, exc)
            return
        if isinstance(decoded, ChannelClosed):
            self._close(channel_id)
            return
        for member in list(topic.members.values()):
            member.sink(decoded)  # the same Frame object for every connection

    def _close(self, channel_id: int) -> None:
        topic = self._channels.pop(channel_id, None)
        if topic is None:
            return
        topic.subscription.close()
        for member in topic.members.values():
            if channel_id in member.channels:
                member.channels.remove(channel_id)

    def connections(self, channel_id: int) -> int:
        topic = self._channels.get(channel_id)
        return len(topic.members) if topic else 0
