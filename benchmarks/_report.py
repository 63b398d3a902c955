"""How benchmark scripts report figures so `make bench` can collect them.

Each script prints human-readable lines and, for every figure it claims, one line
``RESULT {"name": ..., "value": ..., "unit": ..., "target": ...}``. ``run_all.py``
runs each script several times and writes min/median/max into docs/benchmarks.md.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PREFIX = "RESULT "


def result(name: str, value: float, unit: str, target: str = "") -> None:
    print(PREFIX + json.dumps({"name": name, "value": value, "unit": unit,
                                  "target": target}), flush=True)


def command() -> str:
    line = " ".join(["python", *sys.argv])
    print(f"command: {line}", flush=True)
    return line


def parsed(out: str) -> list[dict[str, Any]]:
    """The ``RESULT`` lines of a script's output, read back (``run_all.py``,
    ``_figures.py``)."""
    return [json.loads(line[len(PREFIX):]) for line in out.splitlines()
            if line.startswith(PREFIX)]
