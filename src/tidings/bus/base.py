"""The live fan-out interface between the parts of one server and, later, many servers.

The bus is an optimisation, never the record: everything it carries is durable in the
store first, and a subscriber that misses a message catches up from the store by
stream position. That is why a lost bus message costs latency, never data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

Handler = Callable[[bytes], None]
"""Called on the event loop for each message; must not block (queue and return)."""


class Subscription:
    """A handle that removes its handler when closed (one per connection and topic, so
    slotted; buses pass a ``functools.partial`` rather than a closure)."""

    __slots__ = ("_unsubscribe",)

    def __init__(self, unsubscribe: Callable[[], None]) -> None:
        self._unsubscribe: Callable[[], None] | None = unsubscribe

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class Bus(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, topic: str, message: bytes) -> None: ...

    @abstractmethod
    def subscribe(self, topic: str, handler: Handler) -> Subscription: ...

    @abstractmethod
    def subscriber_count(self) -> int: ...
