"""Media pipeline budgets (docs/decisions.md, "Media pipeline and its time budget").

Two figures, each against its budget in ``protocol/limits.py``:

1. **Photo signals** (``MEDIA_PHOTO_SIGNALS_BUDGET_MS``, 30 ms for 1 Mpx): decode a
   ~1-megapixel JPEG, PDQ of its pixels, MD5 + SHA-256 of the upload, as the upload
   pipeline does (``moderation/media_signals.py``) — pure, one thread, no I/O. The full
   cleaning an upload also does (metadata-free re-encode and a thumbnail,
   ``services.media_hashing.photo_signals``) is printed beside it.
2. **Image post** (``MEDIA_IMAGE_POST_P99_BUDGET_MS``, p99 50 ms): ``tidings serve`` as a
   subprocess (SQLite in a temp dir), one client uploads a fresh ~1-megapixel JPEG and
   publishes a post with it, sequentially; the time from the upload request to the
   post's answer (the upload and the publish also apart), after ``WARM_UP`` posts that
   are not timed, and the server process's CPU time per post (from /proc: on a shared,
   loaded machine the wall time measures the neighbours as much as Tidings). The
   post's gate reuses the upload's stored signals (no second decode). The client is
   the SDK (``TidingsClient.upload_media``, then ``publish``: what the CLI and the TUI
   call); every request is authenticated, rate limits are off.

Each run uses a different image (made before timing): by default a real photograph of
at least 0.6 Mpx from an installed package (``benchmarks/_photos.py``: bus, zidane,
hubble_deep_field, retina, quokka), resized to 1155x866 from a randomly placed window
of 92-100 % of it, with a random brightness of 97-103 %, saved as JPEG quality 90 (so
each upload is a distinct file with a camera photo's statistics); ``--synthetic`` or no
such photo installed: generated ellipses on a plain background (the figures before
2026-12-03 used those). With
``TIDINGS_BENCH_PROFILE=FILE`` py-spy samples the server (every thread) during the
posts and the busiest functions are printed (py-spy on PATH or beside the interpreter;
``TIDINGS_BENCH_PROFILE_GIL=1``: only the thread holding the GIL, i.e. Python work).

    PYTHONPATH=src python benchmarks/media_pipeline.py --photos 100 --posts 200
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from tidings.client.sdk import TidingsClient
from tidings.moderation import media_signals as ms
from tidings.protocol import limits
from tidings.services.media_hashing import photo_signals

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _photos import real_photos
from _profile import Spy, summary
from _report import command, result
from private_relay import free_port, start_server

WIDTH, HEIGHT = 1155, 866  # 1.0 megapixel
WARM_UP = 5
"""Posts made before the timed ones (the server's first requests set up its caches and
statements, its hash workers' first jobs their memory): not timed."""
PASSWORD = "bench media passphrase 7"


def picture(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (WIDTH, HEIGHT), (rng.randrange(256), rng.randrange(256), 90))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        draw.ellipse((x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 200)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


REAL_MIN_PIXELS = 600_000


def real_sources() -> list[Image.Image]:
    """The installed real photographs of at least REAL_MIN_PIXELS."""
    found = real_photos(max_side=1600)
    return [img for img in found.values() if img.width * img.height >= REAL_MIN_PIXELS]


def real_picture(sources: list[Image.Image], seed: int) -> bytes:
    """A distinct ~1 Mpx JPEG made from one of the real photographs."""
    rng = random.Random(seed)
    src = sources[seed % len(sources)]
    share = rng.uniform(0.92, 1.0)
    w, h = src.width * share, src.height * share
    if w / h > WIDTH / HEIGHT:  # crop to the target's aspect
        w = h * WIDTH / HEIGHT
    else:
        h = w * HEIGHT / WIDTH
    x, y = rng.uniform(0, src.width - w), rng.uniform(0, src.height - h)
    img = src.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS, box=(x, y, x + w, y + h))
    gain = rng.uniform(0.97, 1.03)
    img = img.point(lambda v: min(255, round(v * gain)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def pictures(n: int, first_seed: int, synthetic: bool) -> tuple[list[bytes], str]:
    """n distinct photos and what they are."""
    sources = [] if synthetic else real_sources()
    if sources:
        return ([real_picture(sources, first_seed + i) for i in range(n)],
                f"real photos ({len(sources)} sources)")
    return [picture(first_seed + i) for i in range(n)], "synthetic ellipses"


def _cpu_s(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """Live child processes (the server's PDQ hash workers, services/hash_workers.py)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def thread_cpu_s(pid: int) -> tuple[float, float, float]:
    """(main thread, all other threads, child processes) CPU seconds of a process (Linux
    /proc): the main thread runs the event loop; the other threads are the worker
    threads and the SQLite connection; the children hash uploads (PDQ)."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            cpu = _cpu_s(task / "stat")
        except OSError:  # the thread ended meanwhile
            continue
        if task.name == str(pid):
            main += cpu
        else:
            other += cpu
    children = 0.0
    for child in _children(pid):
        try:
            children += _cpu_s(Path(f"/proc/{child}/stat"))
        except OSError:
            continue
    return main, other, children


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server so far, its child processes included."""
    return sum(thread_cpu_s(pid))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def signals_only(data: bytes) -> tuple[ms.MediaSignal, ...]:
    """Decode + PDQ + exact hashes of the upload: the budgeted part."""
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        pixels = img.convert("RGB")
    return ms.media_signals(ms.PreparedMedia("photo", "image/jpeg", md5, sha, md5, sha,
                                             pixels))


def bench_signals(photos: int, synthetic: bool) -> None:
    images, what = pictures(photos, 1000, synthetic)
    signals_only(images[0])  # warm up (imports, first allocation)
    hashed, full, hashed_wall, plain = [], [], [], []
    for data in images:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            pixels = img.convert("RGB")
        c0 = time.process_time()
        ms.pdq(pixels)  # the one plain PDQ, without the query variants
        plain.append((time.process_time() - c0) * 1000)
        t0, c0 = time.perf_counter(), time.process_time()
        signals_only(data)
        hashed_wall.append((time.perf_counter() - t0) * 1000)
        hashed.append((time.process_time() - c0) * 1000)
        md5, sha = ms.digests(data)
        c0 = time.process_time()
        photo_signals(data, md5, sha)
        full.append((time.process_time() - c0) * 1000)
    # CPU time of this one thread: what a quiet machine's wall time would be (the work is
    # single-threaded); the wall time on a shared machine is printed beside it.
    print(f"photo signals, {WIDTH}x{HEIGHT} JPEG ({what}), n={photos}, load average "
          f"{os.getloadavg()[0]:.1f}: decode+PDQ+MD5/SHA-256 CPU p50 "
          f"{statistics.median(hashed):.1f} ms p99 {pct(hashed, 0.99):.1f} ms (wall p50 "
          f"{statistics.median(hashed_wall):.1f} ms); with cleaning and thumbnail CPU p50 "
          f"{statistics.median(full):.1f} ms p99 {pct(full, 0.99):.1f} ms; of which one "
          f"plain PDQ (no query variants) CPU p50 {statistics.median(plain):.1f} ms")
    result("one plain PDQ of the decoded photo (no query variants), CPU p50",
           round(statistics.median(plain), 1), "ms")
    budget = f"<= {limits.MEDIA_PHOTO_SIGNALS_BUDGET_MS} ms"
    result("photo signals (decode + PDQ + exact hashes, 1 Mpx), CPU p50",
           round(statistics.median(hashed), 1), "ms", budget)
    result("upload processing (clean + thumbnail + signals, 1 Mpx), CPU p50",
           round(statistics.median(full), 1), "ms")


async def bench_posts(url: str, posts: int, pid: int, synthetic: bool) -> None:
    images, what = pictures(posts + WARM_UP, 0, synthetic)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/api/v1/accounts/register", json={
            "username": "photographer", "password": PASSWORD, "device_name": "bench"})
        r.raise_for_status()
        token = r.json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        (await http.post("/api/v1/channels", headers=me,
                         json={"handle": "bench_photos", "title": "Bench Photos"})
         ).raise_for_status()
        sdk = TidingsClient(url, token)  # the timed calls: what the SDK's users call
        times, uploads, publishes = [], [], []
        profile = os.environ.get("TIDINGS_BENCH_PROFILE")
        gil = os.environ.get("TIDINGS_BENCH_PROFILE_GIL") == "1"  # Python work only
        spy = Spy(pid, Path(profile), gil=gil) if profile else None
        for i, data in enumerate(images):
            if i == WARM_UP:
                cpu0, split0 = server_cpu_s(pid), thread_cpu_s(pid)
                client0 = time.process_time()
            t0 = time.perf_counter()
            up = await sdk.upload_media(data)
            t1 = time.perf_counter()
            await sdk.publish("bench_photos", f"photo {i}", [up["sha256"]])
            t2 = time.perf_counter()
            if i >= WARM_UP:
                times.append((t2 - t0) * 1000)
                uploads.append((t1 - t0) * 1000)
                publishes.append((t2 - t1) * 1000)
        cpu_ms = (server_cpu_s(pid) - cpu0) * 1000 / posts
        client_ms = (time.process_time() - client0) * 1000 / posts
        split = [(b - a) * 1000 / posts for a, b in zip(split0, thread_cpu_s(pid), strict=True)]
        if spy is not None:
            spy.stop()
            for kind, rows in summary(spy.path, top=15).items():
                print(f"server profile, {kind} (% of samples):")
                for name, share in rows:
                    print(f"  {share:5.1f}  {name}")
        served = await http.get(up["url"])
        assert served.status_code == 200, served.status_code
        await sdk.close()
    print(f"image post (SDK upload_media + publish over HTTP, {what}), n={posts}, load average "
          f"{os.getloadavg()[0]:.1f}: wall p50 {statistics.median(times):.1f} ms p99 "
          f"{pct(times, 0.99):.1f} ms (upload p50 {statistics.median(uploads):.1f} p99 "
          f"{pct(uploads, 0.99):.1f}, publish p50 {statistics.median(publishes):.1f} p99 "
          f"{pct(publishes, 0.99):.1f}; {WARM_UP} posts before, not timed); server CPU "
          f"per post {cpu_ms:.1f} ms (event-loop thread "
          f"{split[0]:.1f} ms, other threads {split[1]:.1f} ms, hash worker processes "
          f"{split[2]:.1f} ms); client (SDK) CPU per post {client_ms:.1f} ms")
    result("image post, server CPU per post (mean)", round(cpu_ms, 1), "ms")
    result("image post, client CPU per post (mean)", round(client_ms, 1), "ms")
    budget = f"p99 <= {limits.MEDIA_IMAGE_POST_P99_BUDGET_MS} ms"
    result("image post (upload + publish, 1 Mpx) p50", round(statistics.median(times), 1),
           "ms")
    result("image post (upload + publish, 1 Mpx) p99", round(pct(times, 0.99), 1), "ms",
           budget)


async def wait_up(url: str, timeout_s: float = 120) -> None:
    """Longer than private_relay's: on a shared, loaded machine start-up can take 20 s."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--synthetic", action="store_true",
                        help="generated pictures instead of the installed real photos")
    parser.add_argument("--signals-only", action="store_true",
                        help="hash the photos only (no server, no posts)")
    args = parser.parse_args()
    command()
    bench_signals(args.photos, args.synthetic)
    if args.signals_only:
        return
    print("settings: tidings serve on SQLite (synchronous=FULL; blobs fsynced before the "
          "answer), every request authenticated (Bearer token), rate limits off "
          "(TIDINGS_RATE_LIMITS=false: one client posting as fast as it can is the load), "
          "moderation gate on (upload and publish), one client (the SDK: "
          "TidingsClient.upload_media then publish), sequential", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = start_server(Path(tmp), port, None)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_up(url))
            asyncio.run(bench_posts(url, args.posts, server.pid, args.synthetic))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
