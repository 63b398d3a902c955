"""The public transparency page in headless Chromium: its server-drawn SVG charts are
rendered (bars with size and the stylesheet's colour) under the strict CSP."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from tests.apps import attach
from tests.conftest import LiveServer
from tests.server.test_transparency_api import ban_two_channels
from tests.server.transparency_history import DAY, HOUR, START
from tidings.services.clock import ManualClock

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
async def test_transparency_page_draws_its_charts(live_server: Live) -> None:
    from playwright.async_api import async_playwright

    clock = ManualClock()
    async with live_server(clock=clock, job_concurrency=0) as server, \
            httpx.AsyncClient(base_url=server.url) as client:
        attach(client, server.app)
        await ban_two_channels(client, clock)
        clock.now = START + 2 * DAY + 12 * HOUR  # 3 January
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error"
                    and "Failed to load resource" not in m.text else None)  # see below
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(r.url) if r.status >= 400
                    and not r.url.endswith("/favicon.ico") else None)
            await page.goto(f"{server.url}/transparency?period=2026-01")
            charts = page.locator("svg.chart")
            assert await charts.count() == 4
            by_action = charts.nth(2)
            labels = await by_action.locator("g.bar text.label").all_text_contents()
            assert labels == ["Refused at upload", "Strike", "Channel banned"]
            sizes = [await r.bounding_box() for r in await by_action.locator("rect").all()]
            assert all(b is not None and b["width"] > 0 and b["height"] > 0 for b in sizes)
            widths = [b["width"] for b in sizes if b is not None]
            assert widths[0] == widths[1] > widths[2]  # 6, 6 and 2, to scale
            days = charts.nth(3).locator("g.bar")
            assert await days.count() == 3  # 1..3 January: up to today
            assert await charts.nth(3).locator("text.label").all_text_contents() == [
                "01-01", "01-02", "01-03"]
            fill = await page.eval_on_selector(
                "svg.chart rect", "r => getComputedStyle(r).fill")
            assert fill not in ("", "rgb(0, 0, 0)", "none")  # the stylesheet applied
            await page.click("nav.periods >> text=2026")
            await page.wait_for_url(f"{server.url}/transparency?period=2026")
            assert await page.locator("svg.chart").count() == 4
            await browser.close()
    assert problems == []
