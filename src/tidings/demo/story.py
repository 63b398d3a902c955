"""The whole story, step by step, against a running demo server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tidings.demo.context import Demo
from tidings.demo.narrator import Narrator
from tidings.demo.server import DemoServer
from tidings.demo.story_channels import news_channel, propaganda
from tidings.demo.story_chat import private_chat
from tidings.demo.story_crawl import removed_means_gone
from tidings.demo.story_legal import removal_order, transparency
from tidings.demo.story_reports import decide, report_abuse
from tidings.demo.story_returning import returning_channel

Step = Callable[[Demo], Awaitable[None]]
STEPS: tuple[Step, ...] = (private_chat, news_channel, propaganda, report_abuse, decide,
                           removal_order, removed_means_gone, transparency,
                           returning_channel)


async def play(narrator: Narrator, server: DemoServer, people_dir: Path) -> Demo:
    """Run every step in order; the first claim that does not hold stops the story."""
    demo = Demo(narrator, server, people_dir)
    try:
        for step in STEPS:
            await step(demo)
    finally:
        await demo.close()
    return demo
