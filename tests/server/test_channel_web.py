"""The public web view: server-rendered pages, previews, notices, and a real browser."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from tests.apps import kernel_of
from tests.conftest import AppFactory, LiveServer
from tests.server.channel_util import channel, photo, post, upload, user
from tidings.storage.channel_schema import channels

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
CHROMIUM = "/usr/bin/chromium"


async def test_channel_page_renders_posts_and_previews(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "web_news", "Web News", description="All the <news>")
        image = await upload(client, alice, photo(seed=2))
        p = await post(client, alice, "web_news", "Hello <b>world</b>", [image["sha256"]])
        page = await client.get("/c/web_news")
        assert page.status_code == 200
        html = page.text
        assert '<meta property="og:title" content="Web News">' in html
        assert 'content="All the &lt;news&gt;"' in html
        assert re.search(r'og:image" content="http://[^"]+/media/' + image["sha256"], html)
        assert "Hello &lt;b&gt;world&lt;/b&gt;" in html  # escaped, never markup
        assert f'href="/c/web_news/{p["number"]}"' in html
        assert image["thumbnail_url"] in html
        assert "<script" not in html and "style=" not in html
        assert "script-src 'self'" in page.headers["content-security-policy"]
        single = await client.get(f"/c/web_news/{p['number']}")
        assert single.status_code == 200 and "Hello &lt;b&gt;world" in single.text
        css = await client.get("/static/channel.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_notices_for_deleted_removed_and_unlisted(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        created = await channel(client, alice, "notice_chan", visibility="unlisted")
        p = await post(client, alice, "notice_chan", "soon gone")
        assert (await client.get("/c/notice_chan")).status_code == 404
        invite = created["invite_token"]
        assert "soon gone" in (await client.get(f"/c/notice_chan?invite={invite}")).text
        await client.delete(f"/api/v1/channels/notice_chan/posts/{p['number']}", headers=alice)
        gone = await client.get(f"/c/notice_chan/{p['number']}?invite={invite}")
        assert gone.status_code == 410 and "This post was deleted." in gone.text
        assert "soon gone" not in gone.text
        db = kernel_of(client).db
        async with db.write() as conn:  # what a moderator's ban does to the row
            await conn.execute(channels.update().values(state="removed"))
        banned = await client.get(f"/c/notice_chan?invite={invite}")
        assert banned.status_code == 410 and "removed for violating the rules" in banned.text
        assert (await client.get("/c/no_such_chan")).status_code == 404


async def test_content_is_cached_at_most_a_minute_and_never_a_readers_view(
        api: AppFactory) -> None:
    """Removed means gone from caches too: an anonymous 200 of a content route may be
    kept 60 s, as public media; a signed-in reader's view, an invite-link page and every
    404/410 never."""
    public = "public, max-age=60, must-revalidate"
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "cache_news")
        p = await post(client, alice, "cache_news", "cached words")
        urls = [f"/c/cache_news/{p['number']}", "/c/cache_news", "/api/v1/channels/cache_news",
                f"/api/v1/channels/cache_news/posts/{p['number']}",
                "/api/v1/channels/cache_news/updates?since=0", "/api/v1/search/posts?q=cached"]
        for url in urls:
            r = await client.get(url)
            assert (r.status_code, r.headers["cache-control"]) == (200, public), url
            mine = await client.get(url, headers=alice)
            assert mine.headers["cache-control"] == "private, no-store", url
        await client.delete(f"/api/v1/channels/cache_news/posts/{p['number']}", headers=alice)
        gone = await client.get(urls[0])
        assert (gone.status_code, gone.headers["cache-control"]) == (410, "no-store")
        missing = await client.get("/c/no_such_chan")
        assert (missing.status_code, missing.headers["cache-control"]) == (404, "no-store")
        invited = await client.get("/c/cache_news?invite=x")
        assert invited.headers["cache-control"] == "private, no-store"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
async def test_page_in_headless_chromium(live_server: Live) -> None:
    from playwright.async_api import async_playwright

    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        alice = await user(client, "alice")
        await channel(client, alice, "browser_news", "Browser News")
        image = await upload(client, alice, photo(320, 200, seed=6))
        keep = await post(client, alice, "browser_news", "A photo post", [image["sha256"]])
        doomed = await post(client, alice, "browser_news", "This one will vanish")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking"])
            page = await browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            broken: list[str] = []
            page.on("response", lambda r: broken.append(r.url) if r.status >= 400 else None)
            await page.goto(f"{server.url}/c/browser_news")
            assert await page.title() == "Browser News · Tidings"
            assert await page.locator("article.post").count() == 2
            assert "This one will vanish" in await page.locator("section.posts").inner_text()
            img = page.locator(f"#post-{keep['number']} img")
            await img.wait_for()
            width = await img.evaluate(  # wait for it to load (or fail) on a busy machine
                "i => i.complete ? i.naturalWidth : new Promise(done => {"
                " i.onload = () => done(i.naturalWidth); i.onerror = () => done(0); })")
            assert width > 0  # the image really loaded
            color = await page.locator("article.post").first.evaluate(
                "a => getComputedStyle(a).borderRadius")
            assert color == "12px"  # the static stylesheet applied under the CSP
            await client.delete(f"/api/v1/channels/browser_news/posts/{doomed['number']}",
                                headers=alice)
            await page.reload()
            assert await page.locator("article.post").count() == 1
            assert "This one will vanish" not in await page.content()
            await page.goto(f"{server.url}/c/browser_news/{doomed['number']}")
            assert "This post was deleted." in await page.locator("main").inner_text()
            assert not [e for e in errors if "Content Security Policy" in e], errors
            assert [u for u in broken if "favicon" not in u] == [
                f"{server.url}/c/browser_news/{doomed['number']}"]  # the 410 notice itself
            await browser.close()
