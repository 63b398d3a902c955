"""The README's tour, run as written: every block tagged ```` ```sh tour ```` in order,
in one shell session (variables carry over), against a real server on 127.0.0.1, the
way `make run` starts it (migrated ./data, an admin account, ADMIN_PASSWORD set as the
README asks). A block passes when every command in it succeeds; a block tagged
``fails=CODE`` must fail with that error code (the banked picture's copy is refused).
Shell blocks that are not part of the tour are listed below, each with why.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.apps import kernel_of
from tests.conftest import LiveServer, free_port, make_settings, running_app

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
FENCE = re.compile(r"^```(sh[^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_IN_THE_TOUR = {
    "make run": "starts the server and installs: this test starts the same server itself",
    "make demo": "the demo's own tests run it (tests/demo)",
    "export TIDINGS_PASSPHRASE='tidings demo key store'": "needs a demo server running",
    "tidings serve": "serves until stopped: this test serves the same app in-process",
}
"""Untagged shell blocks, by their first line's start, and why the test does not run them."""
BLOCK_TIMEOUT_S = 120


@dataclass
class Block:
    line: int
    text: str
    fails: str | None


def shell_blocks() -> tuple[list[Block], list[Block]]:
    """(tour blocks in order, other shell blocks) of the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour: list[Block] = []
    other: list[Block] = []
    for match in FENCE.finditer(readme):
        words = match.group(1).split()
        line = readme.count("\n", 0, match.start()) + 1
        fails = next((w.split("=", 1)[1] for w in words if w.startswith("fails=")), None)
        (tour if "tour" in words else other).append(Block(line, match.group(2), fails))
    return tour, other


def test_every_shell_block_is_run_or_says_why() -> None:
    tour, other = shell_blocks()
    assert len(tour) >= 10
    unexplained = [b.line for b in other
                   if not any(b.text.startswith(k) for k in NOT_IN_THE_TOUR)]
    assert unexplained == [], f"README shell blocks neither in the tour nor explained: " \
                              f"lines {unexplained} (tag them ```sh tour)"


async def run_block(block: Block, env: dict[str, str], cwd: Path, state: Path
                    ) -> tuple[int, str, str]:
    """One block in bash, the session's variables restored before and saved after."""
    strict = "" if block.fails else "set -e -o pipefail\n"
    script = (f"source {state}\n{strict}{block.text}\nrc=$?\n"
              f"export -p > {state}\nexit $rc\n")
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", script, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), BLOCK_TIMEOUT_S)
    return proc.returncode or 0, out.decode(), err.decode()


def tour_env(home: Path, port: int, admin_password: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith("TIDINGS_") or k.startswith("TIDINGS_PASSWORD_")}
    bin_dir = str(Path(sys.executable).parent)  # python and tidings, as after activate
    return {**keep, "HOME": str(home), "PORT": str(port), "ADMIN_PASSWORD": admin_password,
            "PATH": f"{bin_dir}:{keep.get('PATH', '')}", "PYTHONPATH": SRC,
            "NO_COLOR": "1", "COLUMNS": "200"}


async def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    tour, _ = shell_blocks()
    port = free_port()
    settings = make_settings(tmp_path, port=port)  # ./data of the tour's directory
    state = tmp_path / "session.sh"
    state.write_text("")
    async with running_app(settings) as app:
        server = LiveServer(app, port)
        await server.start()
        try:
            created = await kernel_of(app).accounts.ensure_admin()  # what `make run` prints
            assert created is not None
            env = tour_env(tmp_path / "home", port, created[1])
            said: list[str] = []
            for block in tour:
                started = time.monotonic()
                code, out, err = await run_block(block, env, tmp_path, state)
                where = f"README.md block at line {block.line}:\n{block.text}\n{out}\n{err}"
                if block.fails:
                    assert code == 1 and f"error ({block.fails})" in err, where
                else:
                    assert code == 0, where
                    assert "error (" not in err and "Traceback" not in err, where
                said.append(out + err)
                print(f"README line {block.line}: {time.monotonic() - started:.1f} s")
            assert len(said) == len(tour)  # every tagged block ran
            async with httpx.AsyncClient(base_url=server.url) as client:
                public = (await client.get("/api/v1/channels/daily_news/posts")).json()
        finally:
            await server.stop()
    everything = "\n".join(said)
    # The outcomes the README claims: a post, the banked copy refused with a statement of
    # reasons, a verified report in the queue, the order done at once, the report written.
    assert "posted #1 to @daily_news" in everything and "posted #2" not in everything
    assert "Your content was removed (or not published)." in everything
    assert "verified_private_report" in everything
    assert re.search(r"order ro_\S+ \(BKA-2026-1\) from Bundeskriminalamt \(DE\): completed",
                     everything)
    assert public["posts"] == []  # the order's target: gone from the public history
    assert (tmp_path / "report.html").read_text().lower().startswith("<!doctype html")
