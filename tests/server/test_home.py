"""The landing page, the API documentation pages and the icon, over HTTP."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.server.channel_util import channel, user


async def test_landing_page_says_what_this_is_and_links_onwards(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        bob = await user(client, "bob")
        await channel(client, alice, "daily_news", "Daily News", description="Mornings")
        await channel(client, alice, "quiet_corner", "Quiet Corner")
        await channel(client, alice, "hidden_room", "Hidden Room", visibility="unlisted")
        await channel(client, alice, "gone_soon", "Gone Soon")
        assert (await client.delete("/api/v1/channels/gone_soon", headers=alice)
                ).status_code == 204
        assert (await client.post("/api/v1/channels/daily_news/subscription", headers=bob)
                ).status_code in (200, 204)

        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "end-to-end encrypted" in html
        for link in ('href="/transparency"', 'href="/console"', 'href="/api/docs"',
                     'href="/openapi.json"'):
            assert link in html
        # Most followed first; unlisted and deleted channels are never listed.
        assert html.index('href="/c/daily_news"') < html.index('href="/c/quiet_corner"')
        assert "1 subscriber<" in html and "Mornings" in html
        assert "hidden_room" not in html and "Gone Soon" not in html

        found = (await client.get("/", params={"q": "quiet"})).text
        assert 'href="/c/quiet_corner"' in found and 'href="/c/daily_news"' not in found
        assert "hidden_room" not in (await client.get("/", params={"q": "hidden"})).text
        too_long = await client.get("/", params={"q": "x" * 201})
        assert too_long.status_code == 422
        assert too_long.json()["error"]["code"] == "invalid_request"


async def test_titles_are_escaped_on_the_landing_page(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "markup", "<b>Bold</b> & co")
        html = (await client.get("/")).text
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html and "<b>Bold" not in html


async def test_api_docs_are_served_from_this_server(api: AppFactory) -> None:
    async with api() as client:
        for path, assets in (("/api/docs", ("/static/swagger-ui-bundle.js",
                                            "/static/swagger-ui.css", "/static/api-docs.js")),):
            page = await client.get(path)
            assert page.status_code == 200
            assert "http" not in page.text.replace('"/openapi.json"', "")  # no other host
            assert 'data-openapi-url="/openapi.json"' in page.text
            for asset in assets:
                assert f'"{asset}"' in page.text
                served = await client.get(asset)
                assert served.status_code == 200 and served.content.strip(), asset
            assert "script-src 'self';" in page.headers["content-security-policy"]


async def test_favicon(api: AppFactory) -> None:
    async with api() as client:
        icon = await client.get("/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
        svg = await client.get("/static/favicon.svg")
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
