"""Run the real `tidings` command in a subprocess without blocking the test's event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass
class Result:
    code: int
    out: str
    err: str


async def tidings(*args: str, stdin: str = "", env: dict[str, str] | None = None,
                  timeout: float = 60) -> Result:
    full_env = {**os.environ, "PYTHONPATH": SRC, "NO_COLOR": "1", "COLUMNS": "200",
                "TIDINGS_PASSPHRASE": "test key store passphrase",
                **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full_env)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    return Result(proc.returncode or 0, out.decode(), err.decode())
