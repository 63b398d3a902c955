"""py-spy profiles of a benchmark's processes, one measured stretch at a time.

``Spy(pid, path)`` attaches ``py-spy record`` (collapsed stacks) to a running process;
``stop()`` ends it with SIGINT, as Ctrl-C does, so it writes its file. ``summary``
reads such a file and returns where the samples were: the functions that held the CPU
themselves (self time) and the ones under which it was spent (inclusive), in percent of
the process's samples. py-spy is found as ``$TIDINGS_PYSPY``, on ``PATH`` or beside the
interpreter; it is a tool for whoever profiles, not a project dependency.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def pyspy() -> str:
    found = os.environ.get("TIDINGS_PYSPY") or shutil.which("py-spy")
    beside = Path(sys.executable).with_name("py-spy")
    if found:
        return found
    if beside.exists():
        return str(beside)
    raise RuntimeError("py-spy not found: set TIDINGS_PYSPY or put it on PATH")


class Spy:
    def __init__(self, pid: int, path: Path, rate: int = 200, gil: bool = True) -> None:
        """``gil``: sample only the thread holding the GIL (the Python work; threads
        waiting for it, or in fsync or SQLite with it released, are left out)."""
        self.path = path
        self.proc = subprocess.Popen(
            [pyspy(), "record", "--pid", str(pid), "-r", str(rate), "-f", "raw", "-o",
             str(path), "--nonblocking", *(["--gil"] if gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for root in ("site-packages/", "src/", "lib/python3"):
        if root in file:
            file = file.split(root, 1)[1]
    return f"{m['fn']} ({file})"


def summary(path: Path, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive shares (percent of samples) of the busiest functions."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"self": [], "inclusive": []}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";")[1:]]  # first: process/thread name
        total += n
        if frames:
            own[frames[-1]] += n
        for name in set(frames):
            under[name] += n
    share = 100 / max(1, total)
    return {"self": [(k, round(v * share, 1)) for k, v in own.most_common(top)],
            "inclusive": [(k, round(v * share, 1)) for k, v in under.most_common(top * 3)
                          if "<module>" not in k][:top * 2]}
