"""HMA-compatible lookup latency: ``GET /hma/m/lookup`` by PDQ hash and ``POST
/hma/m/lookup`` of a photo, through the whole ASGI app (routing, auth, the publish
gate's matcher, bank content ids from the database), in-process over httpx.

The bank holds ``--entries`` random PDQ hashes (banked through ``BankService``); each
hash lookup asks for a banked hash with 5 bits flipped (one match), each photo lookup
uploads the 256x256 bridge photo from tests/data/hma (hashed by the server each time).
SQLite; the caller is let in by ``hma_allow_addresses``.

    PYTHONPATH=src python benchmarks/hma_lookup.py --entries 20000 --runs 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tidings.config import load_settings
from tidings.server.app import create_app
from tidings.server.state import app_edge
from tidings.storage import migrate
from tidings.storage.database import Database

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import command, result

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "hma" / "bridge-256.jpg"


def near(hex_hash: str, bits: int, rng: random.Random) -> str:
    value = int(hex_hash, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def main(entries: int, runs: int) -> None:
    command()
    rng = random.Random(7)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(entries)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp), {}, rate_limits=False,
                                 hma_allow_addresses=("127.0.0.1/32",))
        db = Database(settings.resolved_database_url)
        await migrate.upgrade(db)
        await db.close()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            banks = app_edge(app).kernel.banks
            await banks.create_bank("BENCH_PDQ")
            await banks.import_text("BENCH_PDQ", "".join(f"pdq {h}\n" for h in hashes),
                                    "pytx", ["category:terrorist_content"])
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                by_hash: list[float] = []
                for i in range(runs):
                    query = {"signal_type": "pdq", "signal": near(hashes[i % entries], 5, rng)}
                    start = time.perf_counter()
                    r = await client.get("/hma/m/lookup", params=query)
                    by_hash.append((time.perf_counter() - start) * 1000)
                    if r.status_code != 200 or len(r.json().get("BENCH_PDQ", [])) != 1:
                        raise SystemExit(f"unexpected answer: {r.text}")
                data = PHOTO.read_bytes()
                by_photo: list[float] = []
                for _ in range(max(50, runs // 3)):
                    start = time.perf_counter()
                    r = await client.post("/hma/m/lookup", files={"photo": ("p.jpg", data)})
                    by_photo.append((time.perf_counter() - start) * 1000)
                    if r.status_code != 200:
                        raise SystemExit(f"unexpected answer: {r.text}")
    print(f"{entries} banked PDQ hashes; {runs} hash lookups, {len(by_photo)} photo lookups")
    print(f"hash lookup  p50 {statistics.median(by_hash):.2f} ms  p99 {pct(by_hash, 0.99):.2f} ms")
    print(f"photo lookup p50 {statistics.median(by_photo):.2f} ms  "
          f"p99 {pct(by_photo, 0.99):.2f} ms")
    result("hma_lookup_hash_p99", round(pct(by_hash, 0.99), 2), "ms")
    result("hma_lookup_photo_p99", round(pct(by_photo, 0.99), 2), "ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.runs))
