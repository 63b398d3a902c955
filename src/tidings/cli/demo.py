"""`tidings demo`: start a server on a temporary SQLite, play the story, leave it running.

The story itself lives in ``tidings.demo`` (imported only when the command runs, so
`tidings --help` stays quick); docs/demo.md tells it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PortOpt = Annotated[int | None, typer.Option(
    "--port", help="Port for the demo server on 127.0.0.1 (default 8080, or a free one if "
                   "8080 is taken; 0 picks a free one).")]
NoWaitOpt = Annotated[bool, typer.Option(
    "--no-wait", help="Stop the server and exit after the story (for CI).")]
DemoDataOpt = Annotated[Path | None, typer.Option(
    "--data", help="Keep the demo's server data and profiles in this new or empty "
                   "directory (default: a temporary one, deleted on exit).")]


def demo(port: PortOpt = None, no_wait: NoWaitOpt = False, data: DemoDataOpt = None) -> None:
    """Play the whole story against a real server, then leave it running to look around.

    Two people chat end to end encrypted (and the database holds no plaintext), a news
    channel publishes, known propaganda is blocked in any copy, a verified report is
    decided with a statement of reasons, an authority's removal order is executed and
    the transparency report counts it all. Every line with a tick was checked."""
    from tidings.demo.command import main

    raise typer.Exit(main(port, no_wait, data))
