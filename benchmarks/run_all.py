"""`make bench`: run every benchmark several times and write docs/benchmarks.md.

Each script in this folder (not starting with ``_`` and not this file) is run with the
arguments in ``PLAN`` (default: none) ``--repeat`` times. Lines starting with
``RESULT `` carry figures (see ``_report.py``); the report gives min/median/max for each
figure, the machine, and the exact commands, so anyone can reproduce them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _report import parsed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "benchmarks.md"

PLAN: dict[str, list[str]] = {
    "vs_synapse.py": ["--messages", "2000", "--concurrency", "1", "8", "32"],
    "private_relay.py": ["--pairs", "20", "--messages", "1000"],
    "sdk_send.py": ["--concurrency", "1", "8", "32", "--messages", "2000"],
    "pdq_index.py": ["--n", "1000000"],
    "removal_order.py": ["--orders", "100"],
    "media_pipeline.py": ["--photos", "100", "--posts", "200"],
    "evasion_eval.py": ["--random", "100000"],
}
SKIP_ENV = "TIDINGS_BENCH_ONLY"


def machine() -> str:
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB memory, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def run_script(script: Path, args: list[str]) -> tuple[list[dict[str, object]], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}")
    return parsed(proc.stdout), proc.stdout


def merged(old: str, new: list[str], tail: str) -> list[str]:
    """The sections of an earlier report, with ``new`` ones replacing those of the same
    name (``## script``) and the rest appended; the header and notes are rewritten."""
    body = old[:len(old) - len(tail)] if tail and old.endswith(tail) else old
    chunks = ["## " + c for c in body.split("\n## ")[1:]]
    by_name = {c.split("\n", 1)[0]: c.rstrip("\n") + "\n" for c in chunks}
    for section in new:
        by_name[section.split("\n", 1)[0]] = section
    return list(by_name.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="script names to run")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections of docs/benchmarks.md and replace "
                             "(or add) only the sections of the scripts run")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py")
                     if not p.name.startswith("_") and p.name != "run_all.py")
    only = args.only or (os.environ.get(SKIP_ENV, "").split() or None)
    if only:
        scripts = [s for s in scripts if s.name in only or s.stem in only]
    sections: list[str] = []
    for script in scripts:
        cmd_args = PLAN.get(script.name, [])
        figures: dict[str, list[float]] = {}
        meta: dict[str, tuple[str, str]] = {}
        last_out = ""
        started = time.time()
        for i in range(args.repeat):
            print(f"[{script.name}] run {i + 1}/{args.repeat}", flush=True)
            results, last_out = run_script(script, cmd_args)
            for r in results:
                name = str(r["name"])
                figures.setdefault(name, []).append(float(r["value"]))  # type: ignore[arg-type]
                meta[name] = (str(r.get("unit", "")), str(r.get("target", "")))
        command = f"PYTHONPATH=src python benchmarks/{script.name} {' '.join(cmd_args)}".strip()
        rows = ["| figure | min | median | max | unit | target |",
                "| --- | --- | --- | --- | --- | --- |"]
        for name, values in figures.items():
            unit, target = meta[name]
            rows.append(f"| {name} | {min(values):.4g} | {statistics.median(values):.4g} | "
                        f"{max(values):.4g} | {unit} | {target} |")
        human = "\n".join(line for line in last_out.splitlines() if not line.startswith("RESULT "))
        sections.append(
            f"## {script.stem}\n\n`{command}` — {args.repeat} runs, "
            f"{time.time() - started:.0f} s in all.\n\n" + "\n".join(rows)
            + f"\n\nOutput of the last run:\n\n```\n{human.strip()}\n```\n")
    header = (f"# Benchmarks\n\nWritten by `make bench` (`python benchmarks/run_all.py`) on "
              f"{time.strftime('%Y-%m-%d')}.\n\nMachine: {machine()}.\n\n"
              "Each figure is the min / median / max over the runs. Targets come from the "
              "issues; where one is not met the section says so.\n\n")
    notes = ROOT / "docs" / "benchmarks-notes.md"
    tail = "\n" + notes.read_text() if notes.exists() else ""
    if args.merge and OUT.exists():
        sections = merged(OUT.read_text(), sections, tail)
    OUT.write_text(header + "\n".join(sections) + tail)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
