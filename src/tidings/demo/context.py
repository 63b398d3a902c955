"""What the steps of the story share: the narrator, the server and the cast."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidings.demo.narrator import Narrator
from tidings.demo.people import Person, join, password
from tidings.demo.server import DemoServer


@dataclass
class Demo:
    narrator: Narrator
    server: DemoServer
    people_dir: Path
    people: dict[str, Person] = field(default_factory=dict)
    password: str = field(default_factory=password)
    """Every demo person's password (staff have their own)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What a later step needs from an earlier one (a case id, a channel)."""

    async def person(self, name: str) -> Person:
        """A new user, registered as `tidings account register` does."""
        person = await join(self.server.url, self.people_dir, name, self.password)
        self.people[name] = person
        return person

    async def staff(self, role: str) -> Person:
        """The operator-created staff account of ``role``, logged in as a new device."""
        account = self.server.staff[role]
        if account.username not in self.people:
            self.people[account.username] = await join(
                self.server.url, self.people_dir, account.username, account.password,
                existing=True)
        return self.people[account.username]

    async def close(self) -> None:
        for person in self.people.values():
            await person.close()
