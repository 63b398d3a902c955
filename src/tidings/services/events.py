"""In-process events between services built in order (the kernel's answer to cycles).

A service that must tell one built after it (the banks tell the retro-scanner, which
needs the actions service, which needs the banks) takes a :class:`Topic` in its
constructor and emits on it; the kernel subscribes the later service while it builds,
before anything runs. No service holds another that was built after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tidings.storage.banks import EntryRecord

E = TypeVar("E")


class Topic(Generic[E]):
    """One event kind and its subscribers, called in subscription order."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: list[Callable[[E], Awaitable[object]]] = []

    def subscribe(self, handler: Callable[[E], Awaitable[object]]) -> None:
        self._handlers.append(handler)

    async def emit(self, event: E) -> None:
        for handler in self._handlers:
            await handler(event)


@dataclass(frozen=True, slots=True)
class EntriesAdded:
    """Entries were stored in a bank that acts (not an allow list): stored content
    may now match them (the retro-scan, services/retro_scan.py)."""

    bank: str
    entries: tuple[EntryRecord, ...]
