"""Readable narration where every result line is a checked claim.

``check`` prints a green result line only when its condition holds; otherwise it
raises ``DemoFailed``, which the command prints as a red FAILED line before exiting
non-zero. So nothing the demo says is asserted without having been looked at.
"""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel


class DemoFailed(Exception):
    """A claim of the story did not hold; the message says which and what was seen."""


class Narrator:
    def __init__(self, console: Console, pause_s: float = 0.0) -> None:
        self.console = console
        self.pause_s = pause_s
        self.started = time.monotonic()
        self.checks = 0
        self.soft = not console.is_terminal
        """Unbroken lines for logs and pipes (one claim, one line); wrapped on a terminal."""

    async def step(self, number: int, title: str, intro: str) -> None:
        """A new chapter; on a terminal, a short pause first so a person can read."""
        if self.pause_s and number > 1:
            await asyncio.sleep(self.pause_s)
        self.console.print()
        self.console.rule(f"[bold]Step {number}[/bold] · {escape(title)}", align="left")
        self.console.print(escape(intro), style="italic", highlight=False, soft_wrap=self.soft)

    def say(self, text: str) -> None:
        """A line of narration: what is being done (not a claim)."""
        self.console.print(f"  {escape(text)}", highlight=False, soft_wrap=self.soft)

    def show(self, label: str, text: str) -> None:
        """Data the demo looked at (a ciphertext excerpt, a statement of reasons)."""
        self.console.print(Panel(escape(text), title=escape(label), title_align="left",
                                 border_style="dim", expand=False), highlight=False)

    def check(self, ok: bool, claim: str, seen: str = "") -> None:
        """Print ``claim`` as a result if ``ok``; else fail with what was seen."""
        if not ok:
            raise DemoFailed(f"{claim}" + (f" — but {seen}" if seen else ""))
        self.checks += 1
        self.console.print(f"  [green]✓[/green] {escape(claim)}", highlight=False,
                           soft_wrap=self.soft)

    def unavailable(self, what: str) -> None:
        self.console.print(f"  [yellow]–[/yellow] {escape(what)}: not available in this build",
                           highlight=False, soft_wrap=self.soft)

    def failed(self, message: str) -> None:
        self.console.print(f"\n[bold red]FAILED:[/bold red] {escape(message)}",
                           highlight=False, soft_wrap=self.soft)

    def elapsed(self) -> float:
        return time.monotonic() - self.started
