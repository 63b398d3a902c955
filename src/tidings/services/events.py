"""In-process events between services built in order (the kernel's answer to cycles).

A service that must tell one built after it (the banks tell the retro-scanner, which
needs the actions service, which needs the banks; the job queue tells the job runner,
built last) takes a :class:`Topic` in its constructor and emits on it; the kernel
subscribes the later service while it builds, before anything runs. No service holds
another that was built after it.
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


@dataclass(frozen=True, slots=True)
class JobEnqueued:
    """A job was queued by this process (services/jobs.py): a runner here may claim it
    at once instead of at its next poll."""

    kind: str
    job_id: int


A = TypeVar("A")
R = TypeVar("R")


class Hook(Generic[A, R]):
    """A question a service built early asks one built later (the gate asks the actions
    service for an actor's history): given to the asker's constructor, answered by the
    kernel binding the later service's method once, while it builds, before anything
    runs. Asking before the binding is a wiring error, not a silent default."""

    __slots__ = ("_answer", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._answer: Callable[[A], Awaitable[R]] | None = None

    def bind(self, answer: Callable[[A], Awaitable[R]]) -> None:
        if self._answer is not None:
            raise RuntimeError(f"the {self.name} hook is already answered")
        self._answer = answer

    async def __call__(self, question: A) -> R:
        if self._answer is None:
            raise RuntimeError(f"the {self.name} hook was never answered (kernel wiring)")
        return await self._answer(question)
