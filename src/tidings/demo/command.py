"""Run the demo: its directory, the server's life, the story, the welcome, clean-up.

Ctrl-C (or SIGTERM) at any point stops the server and deletes a temporary directory.
Exit codes: 0 when the story held (and, when waiting, the person stopped it), 1 when
a claim failed or the server could not start or stopped by itself, 130 when stopped
during the story.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
from pathlib import Path
from types import FrameType

import websockets
from rich.console import Console
from rich.markup import escape

from tidings.demo.context import Demo
from tidings.demo.narrator import DemoFailed, Narrator
from tidings.demo.people import PASSPHRASE, keep_all
from tidings.demo.server import DemoServer, pick_port
from tidings.demo.story import play
from tidings.demo.story_legal import ORDERS_PATH, TRANSPARENCY_PATH
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError

STEP_PAUSE_S = 1.0
"""On a terminal, a breath between steps so a person can read along."""


class Stop(Exception):
    """SIGTERM: stop the server and clean up, as Ctrl-C does."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Stop


def _base_dir(data: Path | None) -> tuple[Path, bool]:
    """(directory, whether it is ours to delete)."""
    if data is None:
        return Path(tempfile.mkdtemp(prefix="tidings-demo-")), True
    if data.exists() and (not data.is_dir() or any(data.iterdir())):
        raise DemoFailed(f"{data} is not an empty directory; give --data a new or empty one")
    data.mkdir(parents=True, exist_ok=True)
    return data, False


def _welcome(console: Console, server: DemoServer, demo: Demo, base: Path, temporary: bool
             ) -> None:
    url = server.url
    admin, mod = server.staff["admin"], server.staff["moderator"]
    people = ", ".join(p for p in demo.people if p not in (admin.username, mod.username))
    alice = escape(str(demo.people_dir / "alice"))
    paths: set[str] = demo.facts.get("api_paths", set())
    extra = ([f"  Removal orders  {url}/console/orders"] if ORDERS_PATH in paths else []) + (
        [f"  Transparency    {url}/transparency"] if TRANSPARENCY_PATH in paths else [])
    lines = [
        f"[bold]Tidings is running at {url}[/bold] — look around:",
        f"  Web console     {url}/console",
        f"                  moderator: [bold]{mod.username}[/bold] / {mod.password}",
        f"                  admin:     [bold]{admin.username}[/bold] / {admin.password}",
        f"  Public channel  {url}/c/daily_news",
        *extra,
        f"  API docs        {url}/api/docs",
        f"  People          {people} (password {demo.password})",
        "  The CLI as alice (her profile and keys):",
        f"    export TIDINGS_PASSPHRASE='{PASSPHRASE}'",
        f"    tidings channel history daily_news --profile {alice}",
        f"    tidings send bob 'hello again' --profile {alice}",
    ]
    lines.append(f"    tidings tui --profile {alice}        # the terminal chat client")
    where = "deleted on exit" if temporary else "kept"
    lines.append(f"Data in {escape(str(base))} ({where}); server log "
                 f"{escape(str(server.log_path))}. "
                 "Press Ctrl-C to stop.")
    console.print()
    for line in lines:
        console.print(line, highlight=False, soft_wrap=not console.is_terminal)


async def _run(narrator: Narrator, server: DemoServer, people_dir: Path, keep: bool
               ) -> Demo:
    narrator.console.print(f"Starting a Tidings server on a fresh SQLite database at "
                           f"{escape(server.url)} …", highlight=False,
                           soft_wrap=narrator.soft)
    await server.prepare()
    await server.start()
    demo = await play(narrator, server, people_dir)
    if keep:  # someone may use the profiles with the CLI afterwards
        await keep_all(list(demo.people.values()))
    return demo


def main(port: int | None, no_wait: bool, data: Path | None) -> int:
    """Play the story; unless ``no_wait``, keep the server running until Ctrl-C."""
    console = Console()
    narrator = Narrator(console, STEP_PAUSE_S if console.is_terminal and not no_wait else 0)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    base: Path | None = None
    temporary = False
    server: DemoServer | None = None
    code = 0
    waiting = False
    try:
        base, temporary = _base_dir(data)
        server = DemoServer(base / "server", pick_port(port))
        finished = asyncio.run(_run(narrator, server, base / "people",
                                    keep=not no_wait or not temporary))
        console.print(f"\n[bold green]The story is done:[/bold green] {narrator.checks} "
                      f"claims checked in {narrator.elapsed():.1f} s.", highlight=False)
        if not no_wait:
            _welcome(console, server, finished, base, temporary)
            waiting = True
            exit_code = server.wait()
            narrator.failed(f"the server stopped by itself (exit code {exit_code})")
            code = 1
    except DemoFailed as exc:
        narrator.failed(str(exc))
        code = 1
    except (TidingsError, CryptoError) as exc:
        narrator.failed(f"the server or the client said {exc.code}: {exc.message}")
        code = 1
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        narrator.failed(f"{type(exc).__name__}: {exc}")
        code = 1
    except (KeyboardInterrupt, Stop):
        console.print("\nstopping …")
        code = 0 if waiting else 130
    finally:
        if server is not None:
            server.stop()
            if code and server.log_tail():
                console.print(f"[dim]last lines of the server log:\n"
                              f"{escape(server.log_tail())}[/dim]", highlight=False)
        if temporary and base is not None:
            shutil.rmtree(base, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    return code
