"""PDQ index benchmark: Tidings' faiss flat index vs pytx's default PDQIndex.

Each implementation runs in its own subprocess so resident memory (VmRSS
from /proc/self/status, after minus before building) is not polluted by the
other. Data: N random 256-bit hashes; queries are Q banked hashes with 1-16
random bits flipped, so every query has a true match within 31.

    PYTHONPATH=src python benchmarks/pdq_index.py --n 1000000
    PYTHONPATH=src python benchmarks/pdq_index.py --n 10000000 --only tidings
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from _report import result

QUERIES = 1_000
MAX_FLIPS = 16
THRESHOLD = 31


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    targets = rng.choice(n, size=min(QUERIES, n), replace=False)
    queries = codes[targets].copy()
    for row in queries:
        bits = np.unpackbits(row)
        flip = rng.choice(256, size=int(rng.integers(1, MAX_FLIPS + 1)), replace=False)
        bits[flip] ^= 1
        row[:] = np.packbits(bits)
    return codes, targets, queries


def run_one(impl: str, n: int, seed: int) -> dict[str, float]:
    # Import both libraries first: RSS delta should count the index, not code.
    import faiss
    import threatexchange.signal_type.pdq.pdq_index  # noqa: F401

    from tidings.moderation.indexes import pdq_faiss  # noqa: F401

    # One thread for both: single-query latency without OpenMP scheduling noise.
    faiss.omp_set_num_threads(1)
    base = rss_kib()
    codes, targets, queries = data(n, seed)
    hexes_q = [q.tobytes().hex() for q in queries]
    t0 = time.perf_counter()
    if impl == "tidings":
        from tidings.moderation.indexes.pdq_faiss import PdqFaissIndex

        index = PdqFaissIndex()
        index.add_codes(codes, np.arange(n, dtype=np.int64))

        def query(h: str) -> set[int]:
            return {hit.entry_id for hit in index.search(h, THRESHOLD)}

    else:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        hexes = [c.tobytes().hex() for c in codes]
        pindex = PDQIndex(zip(hexes, range(n), strict=True))
        del hexes

        def query(h: str) -> set[int]:
            return {int(m.metadata) for m in pindex.query(h)}

    build = time.perf_counter() - t0
    del codes  # the index keeps its own copy; what stays is the index
    mem = rss_kib() - base
    lat = []
    found = 0
    for target, h in zip(targets, hexes_q, strict=True):
        t1 = time.perf_counter()
        got = query(h)
        lat.append(time.perf_counter() - t1)
        found += int(target) in got
    lat.sort()
    return {
        "build_s": build,
        "rss_mib": mem / 1024,
        "p50_ms": lat[len(lat) // 2] * 1e3,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1e3,
        "recall": found / len(lat),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["tidings", "pytx"])
    parser.add_argument("--child", choices=["tidings", "pytx"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.n, args.seed)))
        return
    print("command:", " ".join([sys.executable, *sys.argv]))
    impls = [args.only] if args.only else ["tidings", "pytx"]
    results = {}
    for impl in impls:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--n",
                str(args.n),
                "--seed",
                str(args.seed),
                "--child",
                impl,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[impl]
        print(
            f"{impl:8s} n={args.n:,} build={r['build_s']:.2f}s rss={r['rss_mib']:.1f}MiB "
            f"p50={r['p50_ms']:.3f}ms p99={r['p99_ms']:.3f}ms recall={r['recall']:.4f}"
        )
    for impl, r in results.items():
        result(f"{impl} build", r["build_s"], "s")
        result(f"{impl} resident memory", r["rss_mib"], "MiB",
               "<= 1024 MiB at 10M" if impl == "tidings" else "")
        result(f"{impl} query p50", r["p50_ms"], "ms")
        result(f"{impl} query p99", r["p99_ms"], "ms")
        result(f"{impl} recall", r["recall"], "", "equal")
    if len(results) == 2:
        t, p = results["tidings"], results["pytx"]
        result("memory ratio pytx/tidings", p["rss_mib"] / max(t["rss_mib"], 1e-9), "x",
               ">= 10x")
        print(
            f"ratio pytx/tidings: memory {p['rss_mib'] / max(t['rss_mib'], 1e-9):.1f}x, "
            f"build {p['build_s'] / t['build_s']:.1f}x, p50 {p['p50_ms'] / t['p50_ms']:.2f}x, "
            f"p99 {p['p99_ms'] / t['p99_ms']:.2f}x"
        )


if __name__ == "__main__":
    main()
