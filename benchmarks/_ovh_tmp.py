import asyncio, os, sys, tempfile, time, statistics
from pathlib import Path
import httpx
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from media_pipeline import pictures, wait_up, server_cpu_s, thread_cpu_s, PASSWORD
from private_relay import free_port, start_server

async def run(url, pid):
    imgs,_ = pictures(101, 0, False)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/api/v1/accounts/register", json={"username": "photographer", "password": PASSWORD, "device_name": "bench"})
        me = {"Authorization": f"Bearer {r.json()['token']}"}
        (await http.post("/api/v1/channels", headers=me, json={"handle": "bench_photos", "title": "Bench Photos"})).raise_for_status()
        async def health():
            (await http.get("/healthz")).raise_for_status()
        async def me_get():
            (await http.get("/api/v1/accounts/me", headers=me)).raise_for_status()
        async def file_up():
            (await http.post("/api/v1/media", headers=me, content=os.urandom(300_000))).raise_for_status()
        async def post_text():
            (await http.post("/api/v1/channels/bench_photos/posts", headers=me, json={"text": "hello"})).raise_for_status()
        it = iter(imgs)
        async def photo_up():
            (await http.post("/api/v1/media", headers=me, content=next(it))).raise_for_status()
        for name, f, n in (("healthz", health, 300), ("GET me", me_get, 300), ("file upload 300KB", file_up, 200), ("text post", post_text, 300), ("photo upload", photo_up, 100)):
            ts=[]; c0=thread_cpu_s(pid)
            for i in range(n):
                t=time.perf_counter(); await f(); ts.append((time.perf_counter()-t)*1000)
            c1=thread_cpu_s(pid)
            cpu=[(b-a)*1000/n for a,b in zip(c0,c1)]
            ts=sorted(ts[3:])
            print(f"{name:18s} p50 {ts[len(ts)//2]:5.1f} p99 {ts[int(.99*len(ts))]:5.1f} ms; server cpu/req loop {cpu[0]:.1f} threads {cpu[1]:.1f} workers {cpu[2]:.1f}")

with tempfile.TemporaryDirectory() as tmp:
    port = free_port(); server = start_server(Path(tmp), port, None)
    try:
        url = f"http://127.0.0.1:{port}"; asyncio.run(wait_up(url)); asyncio.run(run(url, server.pid))
    finally:
        server.terminate(); server.wait(10)
