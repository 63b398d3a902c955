"""In-process bus: the default for a single server process."""

from __future__ import annotations

import logging
from functools import partial

from tidings.bus.base import Bus, Handler, Subscription

log = logging.getLogger(__name__)


class LocalBus(Bus):
    """Handlers by topic. A topic's handlers are an immutable tuple of (key, handler),
    replaced on (un)subscribe: most topics (a device's, a channel's on one process) have
    one handler, and a one-entry tuple costs less than a one-entry dict per topic, and
    delivery iterates it without copying."""

    def __init__(self) -> None:
        self._topics: dict[str, tuple[tuple[int, Handler], ...]] = {}
        self._next = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._topics.clear()

    async def publish(self, topic: str, message: bytes) -> None:
        self.deliver(topic, message)

    def deliver(self, topic: str, message: bytes) -> None:
        for _key, handler in self._topics.get(topic, ()):
            try:
                handler(message)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("bus handler failed on topic %s", topic.split(":", 1)[0])

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        key = self._next
        self._next += 1
        self._topics[topic] = (*self._topics.get(topic, ()), (key, handler))
        return Subscription(partial(self._remove, topic, key))

    def _remove(self, topic: str, key: int) -> None:
        handlers = self._topics.get(topic)
        if handlers is None:
            return
        left = tuple(entry for entry in handlers if entry[0] != key)
        if left:
            self._topics[topic] = left
        else:
            del self._topics[topic]

    def has_topic(self, topic: str) -> bool:
        return topic in self._topics

    def topics(self) -> list[str]:
        return list(self._topics)

    def subscriber_count(self) -> int:
        return sum(len(h) for h in self._topics.values())
