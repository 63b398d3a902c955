"""In-process bus: the default for a single server process."""

from __future__ import annotations

import logging

from tidings.bus.base import Bus, Handler, Subscription

log = logging.getLogger(__name__)


class LocalBus(Bus):
    def __init__(self) -> None:
        self._topics: dict[str, dict[int, Handler]] = {}
        self._next = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._topics.clear()

    async def publish(self, topic: str, message: bytes) -> None:
        self.deliver(topic, message)

    def deliver(self, topic: str, message: bytes) -> None:
        handlers = self._topics.get(topic)
        if not handlers:
            return
        for handler in list(handlers.values()):
            try:
                handler(message)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("bus handler failed on topic %s", topic.split(":", 1)[0])

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        key = self._next
        self._next += 1
        self._topics.setdefault(topic, {})[key] = handler

        def _remove() -> None:
            handlers = self._topics.get(topic)
            if handlers is not None:
                handlers.pop(key, None)
                if not handlers:
                    del self._topics[topic]

        return Subscription(_remove)

    def has_topic(self, topic: str) -> bool:
        return topic in self._topics

    def topics(self) -> list[str]:
        return list(self._topics)

    def subscriber_count(self) -> int:
        return sum(len(h) for h in self._topics.values())
