"""The figures a benchmark printed, read back from its standard output.

Used by ``before_after.py``. Every script's ``RESULT`` lines (``_report.py``) are read;
where a script prints a figure only in its human-readable or JSON output (the CPU per
message of ``sdk_send`` and ``private_relay``, the CPU per post of ``channel_fanout``,
the p50s of ``hma_lookup``, the stages of ``publish_path``), the reader for that script
picks it out. A figure a script does not print is simply absent: nothing is estimated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from _report import parsed

Figures = dict[str, tuple[float, str]]
"""figure name -> (value, unit)"""


def higher_is_better(unit: str) -> bool:
    return unit.endswith("/s")


def results(out: str) -> Figures:
    return {str(item["name"]): (float(item["value"]), str(item.get("unit", "")))
            for item in parsed(out)}


def json_objects(out: str) -> list[dict[str, Any]]:
    """The JSON objects printed on one line, or as an indented block from ``{`` to ``}``."""
    objects: list[dict[str, Any]] = []
    block: list[str] | None = None
    for line in out.splitlines():
        if block is not None:
            block.append(line)
            if line == "}":
                objects.append(json.loads("\n".join(block)))
                block = None
        elif line == "{":
            block = [line]
        elif line.startswith("{") and line.endswith("}"):
            try:
                objects.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return objects


def number(pattern: str, out: str) -> float | None:
    match = re.search(pattern, out, re.MULTILINE)
    return float(match.group(1)) if match else None


RELAY_FIELDS = (("messages_per_s", "delivered", "msg/s"), ("p50_ms", "p50", "ms"),
                ("p99_ms", "p99", "ms"),
                ("server_cpu_ms_per_message", "server CPU per message", "ms"),
                ("client_cpu_ms_per_message", "client CPU per message", "ms"))


def sdk_send(out: str) -> Figures:
    found: Figures = {}
    for obj in json_objects(out):
        if "senders" in obj:
            for key, name, unit in RELAY_FIELDS:
                if key in obj:
                    found[f"C={obj['senders']} {name}"] = (float(obj[key]), unit)
    return found


def private_relay(out: str) -> Figures:
    found: Figures = {}
    for obj in json_objects(out):
        if "pairs" in obj and "messages_per_s" in obj:
            for key, name, unit in RELAY_FIELDS:
                if key in obj:
                    found[f"{obj['pairs']} pairs {name}"] = (float(obj[key]), unit)
    return found


def publish_path(out: str) -> Figures:
    found = results(out)
    for stage in ("clean", "check", "store"):
        value = number(rf"^\s+{stage}\s+p50=\s*([\d.]+) ms", out)
        if value is not None:
            found[f"stage {stage} p50"] = (value, "ms")
    return found


def channel_fanout(out: str) -> Figures:
    found = results(out)
    value = number(r"-> ([\d.]+) ms per post", out)
    if value is not None:
        found["server CPU per post"] = (value, "ms")
    return found


def hma_lookup(out: str) -> Figures:
    found = results(out)
    for kind in ("hash", "photo"):
        value = number(rf"^{kind} lookup\s+p50 ([\d.]+) ms", out)
        if value is not None:
            found[f"hma_lookup_{kind}_p50"] = (value, "ms")
    return found


READERS: dict[str, Callable[[str], Figures]] = {
    "sdk_send": sdk_send, "private_relay": private_relay, "publish_path": publish_path,
    "channel_fanout": channel_fanout, "hma_lookup": hma_lookup,
}


def read(script_stem: str, out: str) -> Figures:
    """The figures one run of ``script_stem`` printed (its ``RESULT`` lines by default)."""
    return READERS.get(script_stem, results)(out)
