"""Screenshots of the web console for the docs, taken from a real browser.

Plays ``tidings demo`` (a real server with the demo's story: a verified report, a
removal order, a banned channel trying to come back), logs in as the demo's moderator
in headless Chromium and saves what a moderator sees to ``docs/images/``:

    PYTHONPATH=src python scripts/console_screenshots.py [--out docs/images]

Needs Chromium (``/usr/bin/chromium``, Debian's package) and Playwright (dev extra).
Not part of the test suite: run it when the console's pages change, and commit the
pictures with the change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CREDENTIALS = re.compile(r"moderator:\s+(\S+)\s+/\s+(\S+)")
PEOPLE = re.compile(r"People\s+([\w, ]+) \(password (.+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(port: int) -> tuple[subprocess.Popen[str], str, str, str, str]:
    """The demo server with its story played; returns it, the moderator's login and
    one of the demo's people with their password."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "tidings.cli", "demo", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    mod: tuple[str, str] | None = None
    for line in proc.stdout:
        found = CREDENTIALS.search(line)
        if found:
            mod = (found.group(1), found.group(2))
        people = PEOPLE.search(line)
        if mod and people:
            person = people.group(1).split(",")[0].strip()
            return proc, mod[0], mod[1], person, people.group(2).strip()
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("the demo did not print the moderator's login (is the build broken?)")


def report_a_post(base: str, person: str, password: str) -> None:
    """Leave the moderator something to review: one of the demo's people reports the
    news channel's first post (the demo decides every case it opens itself)."""
    import httpx

    with httpx.Client(base_url=base) as http:
        login = http.post("/api/v1/accounts/login", json={
            "username": person, "password": password, "device_name": "screenshots"})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        posts = http.get("/api/v1/channels/daily_news/posts").json()["posts"]
        http.post("/api/v1/reports", headers=auth, json={
            "target": {"kind": "post", "channel": "daily_news", "number": posts[-1]["number"]},
            "category": "spam", "good_faith": True,
            "explanation": "Advertises the same shop in every post."}).raise_for_status()


async def shoot(base: str, user: str, password: str, out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    saved: list[Path] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport={"width": 1280, "height": 900})

        async def save(name: str) -> None:
            path = out / f"console-{name}.png"
            await page.screenshot(path=str(path), full_page=True)
            saved.append(path)

        await page.goto(f"{base}/console/login")
        await page.fill("input[name=username]", user)
        await page.fill("input[name=password]", password)
        await page.click("button[type=submit]")
        await page.goto(f"{base}/console/queue")
        await save("queue")
        first_case = page.locator("a[href^='/console/cases/']").first
        if await first_case.count():
            await first_case.click()
            await page.wait_for_load_state()
            await save("case")
        await page.goto(f"{base}/console/orders")
        await save("orders")
        await page.goto(f"{base}/transparency")
        await save("transparency")
        await browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc, user, password, person, person_password = start_demo(port)
    try:
        report_a_post(f"http://127.0.0.1:{port}", person, person_password)
        for path in asyncio.run(shoot(f"http://127.0.0.1:{port}", user, password, args.out)):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
