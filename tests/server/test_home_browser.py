"""The first pages a newcomer opens, in headless Chromium with every other host blocked:
the landing page and Swagger UI render from this server's own files (no CDN)."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.channel_util import channel, user

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
async def test_pages_render_offline(live_server: Live) -> None:
    from playwright.async_api import async_playwright

    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        alice = await user(client, "alice")
        await channel(client, alice, "daily_news", "Daily News")
        own = urlsplit(server.url).netloc
        blocked: list[str] = []
        problems: list[str] = []
        requested: list[str] = []

        async def only_this_server(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).netloc != own:
                blocked.append(url)
                await route.abort()
                return
            requested.append(urlsplit(url).path)
            await route.continue_()

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page()
            await page.route("**/*", only_this_server)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)

            await page.goto(server.url + "/")
            assert await page.locator("h1").inner_text() == "Tidings"
            await page.click("text=Daily News")
            await page.wait_for_url(server.url + "/c/daily_news")
            await page.goto(server.url + "/")
            await page.click("text=API documentation")
            await page.wait_for_url(server.url + "/api/docs")
            tags = page.locator(".swagger-ui .opblock-tag")
            await tags.first.wait_for(timeout=30_000)
            assert await tags.count() > 10  # every area of the API
            title = await page.locator(".swagger-ui .info .title").first.inner_text()
            assert title.startswith("Tidings")
            await page.click(".swagger-ui .opblock-tag >> text=accounts")  # the UI runs
            register = page.locator(".opblock-summary-path", has_text="/api/v1/accounts/register")
            await register.wait_for(timeout=5_000)
            await register.click()
            await page.locator(".opblock-body").first.wait_for(timeout=5_000)
            await browser.close()
    assert blocked == []
    assert problems == []
    assert "/static/swagger-ui-bundle.js" in requested
