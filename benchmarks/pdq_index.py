"""PDQ index benchmark: Tidings' index vs pytx's default PDQ index, side by side.

Implementations, each in its own subprocess so resident memory (VmRSS from
/proc/self/status, after building minus before, the input array already
allocated) is not polluted by another:

* ``tidings``: ``PdqMihIndex``, multi-index hashing (what the matcher uses);
* ``flat``: ``PdqFaissIndex``, faiss ``IndexBinaryFlat`` (the previous index);
* ``pytx``: ``PdqSignal.get_index_cls()``, i.e. pytx's default ``PDQIndex``
  (faiss ``IndexBinaryMultiHash``, nflip = threshold // 16);
* ``pytx2``: pytx's ``PDQIndex2`` (faiss ``IndexFlatL2`` on 256 floats, 1 KiB
  a hash: opt in with ``--impls``).

Bank: N random 256-bit hashes, of which the last few thousand are real PDQ
hashes (the frames of /work/shared/testdata/vpdq's videos, some videos held
out as queries). Query sets, radius 31, one thread:

* planted: Q banked random hashes with 0-31 random bits flipped (uniform);
* real: frames of the held-out videos (their re-encodings are banked);
* upload: batches of 17 planted queries, what one photo upload asks (flips,
  rotations, trims); Tidings answers a batch in one call, pytx per hash.

Recall is hits found / hits a brute-force scan finds, over all queries.

    PYTHONPATH=src python benchmarks/pdq_index.py --n 1000000
    PYTHONPATH=src python benchmarks/pdq_index.py --n 10000000 --impls tidings
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _report import result

QUERIES = 1_000
UPLOADS = 60
PER_UPLOAD = 17
THRESHOLD = 31
VPDQ_DIR = Path("/work/shared/testdata/vpdq")
HELD_OUT = ("chair-orig-22-sd-bar", "chair-22-with-small-logo-bar")
IMPLS = ("tidings", "flat", "pytx", "pytx2")


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def real_hashes() -> tuple[np.ndarray, np.ndarray]:
    """(banked, held-out) real PDQ frame hashes as (k, 32) uint8."""
    banked, held = [], []
    for path in sorted(VPDQ_DIR.glob("*.vpdq.txt")):
        rows = [bytes.fromhex(line.split(",")[2]) for line in path.read_text().splitlines()]
        (held if path.name.removesuffix(".vpdq.txt") in HELD_OUT else banked).extend(rows)

    def arr(rows: list[bytes]) -> np.ndarray:
        return np.frombuffer(b"".join(rows), np.uint8).reshape(-1, 32).copy()

    return arr(banked), arr(held)


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bank codes, planted queries, real queries."""
    rng = np.random.default_rng(seed)
    banked, held = real_hashes() if VPDQ_DIR.is_dir() else (np.zeros((0, 32), np.uint8),) * 2
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    codes[n - len(banked) :] = banked
    targets = rng.choice(n - len(banked), size=QUERIES, replace=False)
    bits = np.unpackbits(codes[targets], axis=1)
    for row in bits:
        row[rng.choice(256, size=int(rng.integers(0, THRESHOLD + 1)), replace=False)] ^= 1
    if len(held):
        held = held[rng.choice(len(held), size=min(500, len(held)), replace=False)]
    real = held
    return codes, np.packbits(bits, axis=1), real


def truth(codes: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    words = codes.view(np.uint64)
    out = []
    for q in queries.view(np.uint64):
        counts = np.bitwise_count(words ^ q).astype(np.uint16)
        dist = counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]
        out.append({int(i) for i in np.flatnonzero(dist <= THRESHOLD)})
    return out


def pct(lat: list[float], p: float) -> float:
    lat = sorted(lat)
    return lat[min(len(lat) - 1, int(len(lat) * p))] * 1e3


def run_one(impl: str, n: int, seed: int) -> dict[str, float]:
    # Import every library first: the RSS delta should count the index, not code.
    import faiss
    import threatexchange.signal_type.pdq.pdq_index2  # noqa: F401
    from threatexchange.signal_type.pdq.signal import PdqSignal

    from tidings.moderation.indexes import PdqFaissIndex, PdqMihIndex

    faiss.omp_set_num_threads(1)  # one thread for all: single-query latency
    codes, planted, real = data(n, seed)
    base = rss_kib()  # after the input exists: the delta is what the index holds
    t0 = time.perf_counter()
    if impl in ("tidings", "flat"):
        index = PdqMihIndex() if impl == "tidings" else PdqFaissIndex()
        index.add_codes(codes, np.arange(n, dtype=np.int64))
        if impl == "tidings":
            index.search_codes(codes[:1], THRESHOLD)  # builds the sub-tables

        def query(hs: list[str]) -> list[set[int]]:
            return [{h.entry_id for h in hits} for hits in index.search_many(hs, THRESHOLD)]

    else:
        from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2

        hexes = [c.tobytes().hex() for c in codes]
        entries = zip(hexes, range(n), strict=True)
        pindex = (
            PdqSignal.get_index_cls()(entries) if impl == "pytx" else PDQIndex2(entries=entries)
        )
        del hexes

        def query(hs: list[str]) -> list[set[int]]:
            return [{int(m.metadata) for m in pindex.query(h)} for h in hs]

    build = time.perf_counter() - t0
    mem = rss_kib() - base
    out: dict[str, float] = {"build_s": build, "rss_mib": mem / 1024}
    for name, queries in (("planted", planted), ("real", real)):
        if not len(queries):
            continue
        hexes_q = [q.tobytes().hex() for q in queries]
        lat, got = [], []
        for h in hexes_q:
            t1 = time.perf_counter()
            got.extend(query([h]))
            lat.append(time.perf_counter() - t1)
        want = truth(codes, queries)
        out[f"{name}_p50_ms"] = pct(lat, 0.5)
        out[f"{name}_p99_ms"] = pct(lat, 0.99)
        out[f"{name}_recall"] = sum(len(g & w) for g, w in zip(got, want, strict=True)) / max(
            1, sum(len(w) for w in want)
        )
        out[f"{name}_extra"] = sum(len(g - w) for g, w in zip(got, want, strict=True))
    hexes_p = [q.tobytes().hex() for q in planted]
    lat = []
    for u in range(UPLOADS):
        batch = hexes_p[u * PER_UPLOAD : (u + 1) * PER_UPLOAD]
        t1 = time.perf_counter()
        query(batch)
        lat.append(time.perf_counter() - t1)
    out["upload_p50_ms"] = pct(lat, 0.5)
    out["upload_p99_ms"] = pct(lat, 0.99)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--impls", default="tidings,flat,pytx",
                        help=f"comma-separated, of {', '.join(IMPLS)}")
    parser.add_argument("--child", choices=IMPLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.n, args.seed)))
        return
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"settings: n={args.n:,} radius={THRESHOLD} one thread; planted {QUERIES} queries "
          f"(0-{THRESHOLD} bits flipped), real held-out vPDQ frames, {UPLOADS} uploads of "
          f"{PER_UPLOAD} hashes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    impls = [i for i in args.impls.split(",") if i]
    results: dict[str, dict[str, float]] = {}
    for impl in impls:
        if impl not in IMPLS:
            parser.error(f"unknown implementation {impl}")
        out = subprocess.run(
            [sys.executable, __file__, "--n", str(args.n), "--seed", str(args.seed),
             "--child", impl],
            check=True, capture_output=True, text=True,
        )
        r = results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        line = f"{impl:8s} build={r['build_s']:.2f}s rss={r['rss_mib']:.1f}MiB"
        for s in ("planted", "real"):
            if f"{s}_p50_ms" in r:
                line += (f" | {s} p50={r[f'{s}_p50_ms']:.3f} p99={r[f'{s}_p99_ms']:.3f}ms "
                         f"recall={r[f'{s}_recall']:.4f} extra={r[f'{s}_extra']:.0f}")
        line += (f" | upload of {PER_UPLOAD} p50={r['upload_p50_ms']:.2f} "
                 f"p99={r['upload_p99_ms']:.2f}ms")
        print(line, flush=True)
    for impl, r in results.items():
        result(f"{impl} build", r["build_s"], "s")
        result(f"{impl} resident memory", r["rss_mib"], "MiB",
               "<= 1024 MiB at 10M" if impl == "tidings" else "")
        for key, value in r.items():
            if key.endswith(("_ms", "_recall")):
                unit = "ms" if key.endswith("_ms") else ""
                target = "equal" if key.endswith("_recall") else ""
                result(f"{impl} {key.removesuffix('_ms').replace('_', ' ')}", value, unit, target)
    if "tidings" in results and "pytx" in results:
        t, p = results["tidings"], results["pytx"]
        ratios = {k: p[k] / t[k] for k in t if k.endswith("_ms") and k in p}
        for key, ratio in ratios.items():
            result(f"speed-up pytx/tidings {key.removesuffix('_ms').replace('_', ' ')}", ratio,
                   "x", ">= 1.5x (goal 2x)" if "upload" not in key else "")
        print("speed-up pytx/tidings: "
              + ", ".join(f"{k.removesuffix('_ms')} {v:.2f}x" for k, v in ratios.items())
              + f"; memory pytx/tidings {p['rss_mib'] / max(t['rss_mib'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
