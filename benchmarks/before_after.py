"""Before and after: the same benchmarks against an earlier revision and this tree,
alternately, on the same machine in the same period.

A temporary ``git worktree`` of ``--rev`` (default c1d6eb1, the parent of the kernel's
first commit, issue 23) is made; each benchmark is then run against the old tree and
this tree in turn (before, after, before, after, ...: ``--rounds`` pairs), each run with
its own tree's ``src`` first on ``PYTHONPATH`` and its own tree as working directory.
Load from other work on a shared machine hits both sides alike; the pairs are compared
round by round.

Which script measures the old tree: this tree's script (copied into the old worktree as
``benchmarks-current/``, so paths a script takes from its own location, such as
``channel_fanout``'s server ``PYTHONPATH``, point into the old tree) when it runs
against the old code; if it fails there (twice), the old tree's own script, and the
table says so: two different scripts may measure different work. If neither runs, the
benchmark has no "before" figures and the table says that too.

Figures are read from each run's output (``_figures.py``); the table gives, per figure,
the median and the range over the rounds on each side, the median of the per-round
changes, and a verdict: "worse" or "better" only when the two sides' ranges do not
overlap (with N rounds a figure that is pure noise is flagged that way with chance
2/C(2N, N) -- 10 % at N = 3); otherwise "within noise". The worktree is removed at the
end. Prints a markdown table (also written to ``--markdown FILE``).

    python benchmarks/before_after.py                  # the default set, 3 rounds
    python benchmarks/before_after.py --budget 10      # as many of the 3 as fit 10 min
    python benchmarks/before_after.py --rev c1d6eb1 --rounds 5 --only sdk_send
    python benchmarks/before_after.py "hma_lookup.py --entries 5000 --runs 200"
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _figures import Figures, higher_is_better, read

ROOT = Path(__file__).resolve().parents[1]
COPY = "benchmarks-current"
DEFAULT_REV = "c1d6eb1"
# Short settings. On 2 cores the default set's 3 rounds took 23 minutes at a load average
# of 4-10 (2026-12-04; about 7.5 minutes a round); a quiet machine needs about half of
# that. ``--rounds`` and ``--budget`` bound it.
PLAN = [
    "sdk_send.py --concurrency 8 32 --messages 300",
    "private_relay.py --pairs 10 --messages 300",
    "publish_path.py --entries 100000 --runs 200",
    "media_pipeline.py --photos 20 --posts 40",
    "channel_fanout.py --connections 1000 --clients 2 --posts 12 --interval 0.2",
    "hma_lookup.py --entries 20000 --runs 200",
    "bank_reload.py --entries 20000",
]


@dataclass
class Side:
    tree: Path
    script: Path | None
    note: str
    runs: list[Figures | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)


@dataclass
class Bench:
    script: str
    args: list[str]
    before: Side
    after: Side

    @property
    def name(self) -> str:
        return Path(self.script).stem


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run(tree: Path, script: Path, args: list[str], timeout: float) -> tuple[str, str | None]:
    """(standard output, None) or (output, why it failed). The script runs in its own
    process group so that a timeout also ends the servers it started."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=tree, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return out, f"timed out after {timeout:.0f} s"
    if proc.returncode != 0:
        lines = [line for line in err.splitlines() if line.strip()] or ["(no stderr)"]
        return out, f"exit {proc.returncode}: {lines[-1].strip()}"
    return out, None


def attempt(side: Side, bench: Bench, timeout: float) -> Figures | None:
    assert side.script is not None
    side.loads.append(load1())
    started = time.monotonic()
    out, failed = run(side.tree, side.script, bench.args, timeout)
    took = time.monotonic() - started
    if failed:
        side.errors.append(failed)
        log(f"    failed after {took:.0f} s: {failed}")
        return None
    figures = read(bench.name, out)
    if not figures:
        side.errors.append("printed no figure this harness reads")
    log(f"    {took:.0f} s, load {side.loads[-1]:.2f}, {len(figures)} figures")
    return figures or None


def choose_old_script(bench: Bench, rev: str, timeout: float) -> Figures | None:
    """Round 1 of the old side: this tree's script if it runs against the old code
    (tried twice), else the old tree's own; sets ``bench.before``'s script and note."""
    side = bench.before
    for _ in range(2):
        figures = attempt(side, bench, timeout)
        if figures is not None:
            return figures
    why = side.errors[-1]
    own = side.tree / "benchmarks" / bench.script
    if not own.exists():
        side.script, side.note = None, f"cannot run against {rev}: this script fails ({why})" \
            " and the old tree has no script of that name"
        return None
    side.script = own
    side.note = (f"{rev}'s own script (this tree's fails against the old code: {why}; "
                 + script_note(bench.script, rev).removeprefix("this tree's script (") )
    side.errors.clear()
    side.loads.clear()
    figures = attempt(side, bench, timeout)
    if figures is None:
        side.script = None
        side.note = f"cannot run against {rev}: this tree's script fails ({why}), and so " \
            f"does {rev}'s own ({side.errors[-1]})"
    return figures


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def cell(values: list[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def verdict(before: list[float], after: list[float], unit: str, same_script: bool) -> str:
    if not before or not after:
        return "no comparison"
    if min(len(before), len(after)) < 2:
        return "one round: no noise estimate"
    up = higher_is_better(unit)
    worse = max(after) < min(before) if up else min(after) > max(before)
    better = min(after) > max(before) if up else max(after) < min(before)
    word = "**worse**" if worse else "better" if better else "within noise"
    return word if same_script else f"{word} (different scripts)"


def rows(bench: Bench) -> list[str]:
    names: list[str] = []
    units: dict[str, str] = {}
    for runs in (bench.after.runs, bench.before.runs):
        for figures in runs:
            for name, (_, unit) in (figures or {}).items():
                if name not in units:
                    names.append(name)
                    units[name] = unit
    same = bench.before.script is not None and bench.before.script.parent.name == COPY
    out = []
    for name in names:
        def values(side: Side, key: str = name) -> list[float]:
            return [f[key][0] for f in side.runs if f and key in f]
        before, after = values(bench.before), values(bench.after)
        pairs = [(a[name][0], b[name][0]) for a, b in zip(bench.before.runs, bench.after.runs,
                                                          strict=False)
                 if a and b and name in a and name in b and a[name][0]]
        change = (f"{(statistics.median(b / a for a, b in pairs) - 1) * 100:+.0f} %"
                  if pairs else "")
        out.append(f"| {bench.name} | {name} ({units[name]}) | {cell(before)} | "
                   f"{cell(after)} | {change} | {verdict(before, after, units[name], same)} |")
    if not names:
        out.append(f"| {bench.name} | (no figures) | n/a | n/a | | no comparison |")
    return out


def report(benches: list[Bench], rev: str, rev_line: str, head: str, rounds: int,
           took: float) -> str:
    loads = [x for b in benches for s in (b.before, b.after) for x in s.loads]
    lines = [
        f"Before: `{rev_line}`. After: `{head}`. {rounds} rounds, each benchmark run "
        f"before then after in every round; {took / 60:.1f} min in all; "
        f"{os.cpu_count()} cores; 1-minute load average at the start of the runs "
        f"{min(loads, default=0):.2f}–{max(loads, default=0):.2f} "
        f"(median {statistics.median(loads) if loads else 0:.2f}).",
        "",
        "Each cell: median of the rounds (lowest–highest). Change: median over the rounds "
        "of after/before - 1. Verdict: worse/better only where the two ranges do not "
        "overlap. (ms): lower is better; (msg/s): higher is better.",
        "",
        f"| benchmark | figure | before ({rev}) | after | change | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for bench in benches:
        lines += rows(bench)
    lines += ["", "Commands (each with its own tree's `src` first on `PYTHONPATH`, run in "
              "that tree; `OLD` is the temporary worktree of " + rev + ", `NEW` this tree):",
              ""]
    for bench in benches:
        args = shlex.join(bench.args)
        old = bench.before.script
        old_cmd = (f"`cd OLD && PYTHONPATH=OLD/src python "
                   f"{old.relative_to(bench.before.tree)} {args}`" if old else "not run")
        lines.append(f"- {bench.name}: before {old_cmd} — {bench.before.note}; after "
                     f"`cd NEW && PYTHONPATH=NEW/src python benchmarks/{bench.script} {args}`")
        for label, side in (("before", bench.before), ("after", bench.after)):
            if side.errors:
                lines.append(f"  - {label}: {len(side.errors)} failed run(s): "
                             + "; ".join(sorted(set(side.errors))))
    return "\n".join(lines) + "\n"


def script_note(script: str, rev: str) -> str:
    changed = git("diff", "--numstat", rev, "--", f"benchmarks/{script}")
    if not changed:
        return "this tree's script (the same at both revisions)"
    plus, minus = changed.split()[:2]
    return f"this tree's script (changed since {rev}: +{plus} -{minus} lines)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commands", nargs="*", metavar="COMMAND",
                        help='a benchmark and its arguments, e.g. "hma_lookup.py --runs 200" '
                             "(default: the short set in PLAN)")
    parser.add_argument("--rev", default=DEFAULT_REV, help="the 'before' revision")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=[], help="benchmark names from the set")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run")
    parser.add_argument("--budget", type=float, default=0, metavar="MINUTES",
                        help="start no round that the rounds so far say would end after "
                             "this many minutes (0: run every round); the report says how "
                             "many ran")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args()
    commands = [shlex.split(c) for c in (args.commands or PLAN)]
    if args.only:
        commands = [c for c in commands if Path(c[0]).stem in args.only]
    rev = git("rev-parse", "--short", args.rev)
    rev_line = git("log", "-1", "--format=%h %ad %s", "--date=short", rev)[:110]
    dirty = " + uncommitted changes" if git("status", "--porcelain", "src", "benchmarks") else ""
    head = git("log", "-1", "--format=%h %ad %s", "--date=short")[:90] + dirty
    old = Path(tempfile.mkdtemp(prefix="tidings-before-"))
    started = time.monotonic()
    try:
        git("worktree", "add", "--detach", str(old), rev)
        shutil.copytree(ROOT / "benchmarks", old / COPY,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for tree in (old, ROOT):  # each side imports its own tree's code
            where = subprocess.run(
                [sys.executable, "-c", "import tidings; print(tidings.__file__)"],
                env={**os.environ, "PYTHONPATH": str(tree / "src")}, capture_output=True,
                text=True, check=True).stdout.strip()
            if not Path(where).is_relative_to(tree / "src"):
                raise SystemExit(f"PYTHONPATH={tree}/src imports tidings from {where}")
        benches = [Bench(Path(c[0]).name, c[1:],
                         Side(old, old / COPY / Path(c[0]).name, script_note(c[0], rev)),
                         Side(ROOT, ROOT / "benchmarks" / Path(c[0]).name,
                              "this tree's script"))
                   for c in commands]
        done = 0
        for rnd in range(1, args.rounds + 1):
            spent = time.monotonic() - started
            if args.budget and done and spent / done * rnd > args.budget * 60:
                log(f"stopping after {done} rounds: round {rnd} would end after the "
                    f"{args.budget:g}-minute budget")
                break
            for bench in benches:
                log(f"[round {rnd}/{args.rounds}] {bench.name} before ({rev})")
                if rnd == 1:
                    bench.before.runs.append(choose_old_script(bench, rev, args.timeout))
                elif bench.before.script is not None:
                    bench.before.runs.append(attempt(bench.before, bench, args.timeout))
                else:
                    bench.before.runs.append(None)
                log(f"[round {rnd}/{args.rounds}] {bench.name} after")
                bench.after.runs.append(attempt(bench.after, bench, args.timeout))
            done = rnd
        text = report(benches, rev, rev_line, head, done, time.monotonic() - started)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                       capture_output=True, check=False)
        shutil.rmtree(old, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True,
                       check=False)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
