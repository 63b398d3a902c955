"""Removal-order latency: from an authority's order to the post being unreachable.

TCO Regulation (EU) 2021/784, Art. 3(3) gives one hour; Tidings disables the target
inside the order's own request. This starts ``tidings serve`` as a subprocess (SQLite in
a temp dir, or ``--database-url``), creates an authority through the admin API, has a
channel publish ``--orders`` posts with a photo each (so removal also withdraws,
preserves and auto-banks media), and then, one order at a time:

1. the authority POSTs the order (target: the post's public URL) and times the answer;
2. the server's own record of the order gives ``completed_ms - received_ms``;
3. the public web view ``/c/HANDLE/N`` (410), the API (a ``removed`` tombstone with
   no text or media; 410 once the owner's strikes have banned the channel), the
   photo's public URL (404) and post search (absent) are read at once; the script
   stops with an error if any still shows the post.

Prints p50/p99 of the round trip and of the server-side time to disable.

    PYTHONPATH=src python benchmarks/removal_order.py --orders 100
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import command, result
from private_relay import free_port, start_server, wait_up

PASSWORD = "bench orders passphrase 7"


def picture(seed: int) -> bytes:
    img = Image.new("RGB", (320, 240), (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256))
    draw = ImageDraw.Draw(img)
    for i in range(12):
        x, y = (seed * 53 + i * 71) % 300, (seed * 29 + i * 47) % 220
        draw.rectangle((x, y, x + 20 + i * 3, y + 15 + i * 2),
                       fill=((i * 40 + seed) % 256, (i * 90) % 256, (seed * 7 + i) % 256))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def create_admin(data: Path, env: dict[str, str]) -> None:
    exe = str(Path(sys.executable).with_name("tidings"))
    subprocess.run([exe, "admin", "create-user", "bench_admin", "--role", "admin",
                    "--password-stdin", "--data", str(data)], input=PASSWORD.encode(),
                   env=env, check=True, capture_output=True)


async def setup(http: httpx.AsyncClient, orders: int
                ) -> tuple[dict[str, str], dict[int, str]]:
    r = await http.post("/api/v1/accounts/login", json={
        "username": "bench_admin", "password": PASSWORD, "device_name": "bench"})
    r.raise_for_status()
    admin = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await http.post("/api/v1/admin/authorities", headers=admin, json={
        "username": "bench_authority", "authority_name": "Bench Police",
        "member_state": "DE"})
    r.raise_for_status()
    authority = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await http.post("/api/v1/accounts/register", json={
        "username": "publisher", "password": PASSWORD, "device_name": "bench"})
    r.raise_for_status()
    owner = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await http.post("/api/v1/channels", headers=owner,
                        json={"handle": "bench_news", "title": "Bench News"})
    r.raise_for_status()
    numbers: dict[int, str] = {}
    for i in range(orders):
        media = await http.post("/api/v1/media", headers=owner, content=picture(i))
        media.raise_for_status()
        made = await http.post("/api/v1/channels/bench_news/posts", headers=owner, json={
            "text": f"bulletin {i}: harbour news item number {i * 7919}",
            "media": [media.json()["sha256"]]})
        made.raise_for_status()
        numbers[int(made.json()["number"])] = media.json()["sha256"]
    return authority, numbers


async def bench(url: str, orders: int) -> dict[str, Any]:
    round_trips: list[float] = []
    server_side: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        authority, shas = await setup(http, orders)
        for i, number in enumerate(shas):
            target = f"{url}/c/bench_news/{number}"
            t0 = time.perf_counter()
            r = await http.post("/api/v1/orders", headers=authority, json={
                "target": target, "legal_basis": "Regulation (EU) 2021/784, Art. 3",
                "reasons": "terrorist content (benchmark)", "reference": f"BENCH-{i}"})
            round_trips.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            order = r.json()
            assert order["status"] == "completed", order
            server_side.append(float(order["completed_ms"] - order["received_ms"]))
            web = await http.get(f"/c/bench_news/{number}")
            api = await http.get(f"/api/v1/channels/bench_news/posts/{number}")
            search = await http.get("/api/v1/search/posts",
                                    params={"q": f"number {i * 7919}"})
            search.raise_for_status()
            found = [p for p in search.json() if p.get("number") == number]
            # a removed post is a tombstone; once the owner's strikes ban the channel
            # (after a few orders, as the default rules say) the channel answers 410
            tomb = api.json() if api.status_code == 200 else {"status": api.status_code}
            gone = tomb.get("status") == 410 or (tomb.get("state") == "removed"
                                                 and not tomb.get("text"))
            media = await http.get(f"/media/{shas[number]}")
            if web.status_code not in (404, 410) or not gone \
                    or media.status_code not in (404, 410) \
                    or found:
                raise SystemExit(f"post {number} still reachable after its order: web "
                                 f"{web.status_code}, api {tomb}, media {media.status_code}, "
                                 f"search {found}")
    return {"orders": orders, "round_trip_ms": round_trips, "server_ms": server_side}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    command()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        port = free_port()
        env = {**os.environ, "TIDINGS_RATE_LIMITS": "false"}
        if args.database_url:
            env["TIDINGS_DATABASE_URL"] = args.database_url
        server = start_server(data, port, args.database_url)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_up(url))
            create_admin(data, env)
            out = asyncio.run(bench(url, args.orders))
        finally:
            server.terminate()
            server.wait(10)
    rt, srv = out["round_trip_ms"], out["server_ms"]
    print(f"{out['orders']} removal orders, each post checked unreachable (web view, API, "
          f"search) right after the answer")
    print(f"round trip: p50 {pct(rt, 0.5):.1f} ms, p99 {pct(rt, 0.99):.1f} ms, "
          f"mean {statistics.fmean(rt):.1f} ms")
    print(f"server received -> disabled: p50 {pct(srv, 0.5):.0f} ms, "
          f"p99 {pct(srv, 0.99):.0f} ms, max {max(srv):.0f} ms (the law allows 3,600,000)")
    result("removal order round trip p50", round(pct(rt, 0.5), 1), "ms")
    result("removal order round trip p99", round(pct(rt, 0.99), 1), "ms")
    result("removal order received to disabled p99", pct(srv, 0.99), "ms", "<= 3600000")


if __name__ == "__main__":
    main()
