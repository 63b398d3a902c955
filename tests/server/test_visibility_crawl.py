"""Removed means gone, on every public route (issue #17, item 1).

A channel with posts carrying text and a photo; each kind of removal applied (a removal
order, a moderator's decision, the rules' retro-scan, the author's delete, an edit, a
channel ban); then every public read route of the app is crawled as each audience
(anonymous, a subscriber, the author/owner, a moderator) and what it returns is checked
against the visibility table (``moderation/visibility.py``): no byte of removed text,
no media or thumbnail id of a removed post, raw or JSON-, HTML- or URL-escaped. The same
crawl before the removals must find every post where the table says it is shown (a
positive control: a route that answers 404 for a wrong reason cannot pass). The route
list comes from the app: a new GET route without a line in ``CRAWLED`` or ``EXEMPT``
fails the test. A subscriber's WebSocket, open during the removals, gets only
tombstones and the edit's new text.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.conftest import AppFactory, LiveServer, bearer, register
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.order_util import authority, eventually, order_body, submit
from tests.server.report_util import report, report_body, staff
from tests.server.test_channel_fanout import connect
from tests.server.test_review_api import decide
from tidings.moderation.signal_types import TextExactSignal
from tidings.moderation.visibility import (
    Audience,
    ChannelShown,
    ChannelState,
    PostState,
    Shown,
    channel_view,
    post_view,
)

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
NEWS, BANNED = "crawl_news", "crawl_gone"

CRAWLED = {
    "/api/v1/channels/{handle}": "channel details",
    "/api/v1/channels/{handle}/posts": "history",
    "/api/v1/channels/{handle}/posts/{post_id}": "one post",
    "/api/v1/channels/{handle}/updates": "the update log (catch-up)",
    "/api/v1/search/posts": "post search",
    "/api/v1/search/channels": "channel search",
    "/api/v1/subscriptions": "the reader's channels",
    "/c/{handle}": "web view of a channel, og: tags",
    "/c/{handle}/{post_id}": "web view of a post, og: tags",
    "/media/{sha256}": "media and thumbnails (test_removed_media_is_not_served)",
}
"""GET routes that show channel content, each crawled below."""

EXEMPT = {
    "/openapi.json": "the API's schema, no content",
    "/api/docs": "API documentation page",
    "/": "landing page: visible public channels by title and handle only, no posts "
    "(tests/server/test_home.py: unlisted and deleted channels are not listed)",
    "/favicon.ico": "the icon",
    "/healthz": "health, no content", "/readyz": "readiness, no content",
    "/metrics": "counters only",
    "/static": "the stylesheet",
    "/api/v1/accounts/me": "the reader's own account",
    "/api/v1/accounts/devices": "the reader's own devices",
    "/api/v1/accounts/profile": "the reader's own profile",
    "/api/v1/stream": "the reader's own device stream: E2EE messages and their notices",
    "/api/v1/keys/count": "the reader's own key count",
    "/api/v1/groups": "private groups (E2EE)", "/api/v1/groups/{gid}": "a private group",
    "/api/v1/attachments/{sha256}": "encrypted attachments of private chats",
    "/api/v1/channels/{handle}/admins": "names of a channel's admins, for its admins",
    "/api/v1/reports/{report_id}": "a reporter's own report",
    "/api/v1/notices": "the reader's own notices (their statements of reasons)",
    "/api/v1/blocks": "the reader's own block list",
    "/api/v1/requests": "the reader's own message requests (E2EE)",
    "/api/v1/invitations": "the reader's own group invitations (ids and inviters only)",
    "/api/v1/media/{sha256}/preview": "a signed preview URL for the uploader's own upload "
    "(404 to anyone else; tests/server/test_media_access.py)",
    "/console/login": "login form",
    "/transparency": "aggregate figures", "/transparency/terrorist-channel-bans.json":
    "aggregate figures",
    **dict.fromkeys((
        "/api/v1/banks", "/api/v1/banks/{name}/entries", "/api/v1/banks/{name}/export",
        "/api/v1/banks/{name}/exchanges", "/api/v1/jobs/{job_id}", "/api/v1/admin/rules",
        "/api/v1/admin/audit/verify", "/console", "/api/v1/mod/queue",
        "/api/v1/mod/cases/{case_id}", "/console/queue", "/console/appeals",
        "/console/cases/{case_id}", "/api/v1/transparency/sor-export",
        "/api/v1/transparency/report", "/api/v1/orders", "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/confirmation", "/api/v1/preservation",
        "/api/v1/preservation/{item_id}", "/api/v1/preservation/{item_id}/blobs/{sha256}",
        "/console/orders", "/console/orders/{order_id}", "/api/v1/admin/webhooks",
        "/api/v1/admin/webhooks/{endpoint_id}/deliveries",
        "/api/v1/banks/{name}/exchanges/{exchange}", "/api/v1/banks/{name}/export/summary",
        "/console/exchanges"),
        "staff or authority only (moderation needs the content; not public)"),
}
"""GET routes that show no channel content to the public, each with why."""


@dataclass
class Item:
    """One post the crawl follows: its words, media ids and what happens to it."""

    key: str
    handle: str
    words: str
    post: dict[str, Any] = field(default_factory=dict)
    after_state: PostState = PostState.VISIBLE
    channel_after: ChannelState = ChannelState.VISIBLE
    with_media: bool = True

    @property
    def ids(self) -> list[str]:
        if not self.with_media:
            return []
        media = self.post["media"][0]
        return [media["sha256"], media["url"].rsplit("/", 1)[1],
                (media.get("thumbnail_url") or "/x").rsplit("/", 1)[1]]

    def shown(self, who: Audience, after: bool) -> bool:
        """Does the table say ``who`` sees this post's content (text and media)?"""
        if not after:
            return True
        channel = channel_view(self.channel_after, who)
        return (channel is ChannelShown.OPEN
                and post_view(self.after_state, who).shown is Shown.FULL)


def forms(secret: str) -> list[str]:
    return sorted({secret, json.dumps(secret)[1:-1], html.escape(secret), quote(secret),
                   quote(secret, safe="")})


def app_get_routes(server: LiveServer) -> set[str]:
    found = set()
    for ctx in iter_route_contexts(server.app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            found.add(route.path)
        elif ctx.methods and "GET" in ctx.methods:
            found.add(str(ctx.path))
    return found


async def crawl(client: httpx.AsyncClient, items: list[Item], headers: dict[str, str],
                words: list[str]) -> dict[str, str]:
    """Every crawled route (media aside) for these posts: {url: body}."""
    urls = {"/api/v1/subscriptions"} if headers else set()
    for handle in (NEWS, BANNED):
        urls |= {f"/api/v1/channels/{handle}", f"/api/v1/channels/{handle}/posts",
                 f"/api/v1/channels/{handle}/updates?since=0", f"/c/{handle}",
                 f"/api/v1/search/channels?q={handle}"}
    for item in items:
        urls |= {f"/api/v1/channels/{item.handle}/posts/{item.post['id']}",
                 f"/c/{item.handle}/{item.post['id']}"}
    urls |= {f"/api/v1/search/posts?q={w}" for w in words}
    out = {}
    for url in sorted(urls):
        r = await client.get(url, headers=headers)
        assert r.status_code in (200, 404, 410), (url, r.status_code, r.text)
        out[url] = r.text
    return out


def reader(url: str, who: Audience) -> Audience:
    """Web pages and search take no login: they always show the public's view."""
    return who if url.startswith(("/api/v1/channels", "/api/v1/subscriptions")) else (
        Audience.PUBLIC)


def check(pages: dict[str, str], items: list[Item], who: Audience, after: bool) -> None:
    for item in items:
        secrets = [item.words, *item.ids]
        found = {url for url, body in pages.items()
                 if any(f in body for s in secrets for f in forms(s))}
        leaks = sorted(u for u in found if not item.shown(reader(u, who), after))
        assert not leaks, (item.key, who, leaks)
        # positive control: shown on the post's own routes, its channel's lists and search
        post_id = item.post["id"]
        must = {f"/api/v1/channels/{item.handle}/posts/{post_id}",
                f"/c/{item.handle}/{post_id}", f"/api/v1/channels/{item.handle}/posts",
                f"/api/v1/channels/{item.handle}/updates?since=0", f"/c/{item.handle}",
                f"/api/v1/search/posts?q={item.words.split()[0]}"}
        must = {u for u in must if item.shown(reader(u, who), after)}
        assert must <= found, (item.key, who, sorted(must - found))


async def test_every_public_route_follows_the_visibility_table(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url,
                                                           timeout=30) as client:
        client.app = server.app  # type: ignore[attr-defined]
        routes = app_get_routes(server)
        assert routes == set(CRAWLED) | set(EXEMPT), (
            "classify each GET route: unlisted " + repr(sorted(routes - set(CRAWLED)
                                                                - set(EXEMPT)))
            + ", gone " + repr(sorted((set(CRAWLED) | set(EXEMPT)) - routes)))
        owner_session = await register(client, "alice")
        owner = bearer(owner_session)
        sub_session = await register(client, "bob")
        sub = bearer(sub_session)
        mod = await staff(client, "mod_anna", "moderator")
        admin = await staff(client, "root_admin", "admin")
        await channel(client, owner, NEWS, "Crawl News")
        await channel(client, owner, BANNED, "Crawl Gone")
        for handle in (NEWS, BANNED):
            await client.post(f"/api/v1/channels/{handle}/subscription", headers=sub)
        items = [Item("order", NEWS, "kappaorder words for the order"),
                 Item("moderator", NEWS, "kappamod words a moderator removes"),
                 Item("rules", NEWS, "kapparules words the partner list bans later"),
                 Item("author", NEWS, "kappaauthor words the author deletes"),
                 Item("edit", NEWS, "kappaeditold words before the edit"),
                 Item("kept", NEWS, "kappakept words that stay"),
                 Item("ban", BANNED, "kappaban words in a channel that gets banned")]
        for n, item in enumerate(items, start=1):
            media = await upload(client, owner, photo(40 + n, 30 + n, seed=n + 2))
            item.post = await post(client, owner, item.handle, item.words, [media["sha256"]])
        words = [i.words.split()[0] for i in items] + ["kappaeditnew"]
        audiences = {Audience.PUBLIC: {}, Audience.AUTHOR: owner, Audience.STAFF: mod}
        for who, headers in audiences.items():
            check(await crawl(client, items, headers, words), items, who, after=False)
        check(await crawl(client, items, sub, words), items, Audience.PUBLIC, after=False)

        conn = await connect(server, sub_session)
        try:
            by = {i.key: i for i in items}
            # the rules: a partner list names the text; the retro-scan removes the post
            await client.post("/api/v1/banks", json={"name": "PARTNER_LIST"}, headers=admin)
            line = f"text_exact {TextExactSignal.hash_from_str(by['rules'].words)}\n"
            r = await client.post("/api/v1/banks/PARTNER_LIST/import?label=category:"
                                  "terrorist_content", content=line.encode(), headers=admin)
            assert r.status_code == 200, r.text
            rules_url = f"/api/v1/channels/{NEWS}/posts/{by['rules'].post['id']}"
            got = await eventually(lambda: client.get(rules_url),
                                   lambda r: r.json().get("state") == "removed", 20.0)
            assert got.json()["state"] == "removed"
            # a removal order
            abe = await authority(client, admin, "auth_abe")
            await submit(client, abe, order_body(f"post:{by['order'].post['id']}"))
            # a moderator
            case = await report(client, sub, report_body(
                "post", channel=NEWS, post_id=by["moderator"].post["id"]))
            await decide(client, mod, case["case_id"], "remove")
            # the author
            r = await client.delete(f"/api/v1/channels/{NEWS}/posts/{by['author'].post['id']}",
                                    headers=owner)
            assert r.status_code == 204
            # an edit
            r = await client.patch(f"/api/v1/channels/{NEWS}/posts/{by['edit'].post['id']}",
                                   headers=owner, json={"text": "kappaeditnew words after"})
            assert r.status_code == 200, r.text
            # a channel ban
            case = await report(client, sub, report_body("channel", channel=BANNED))
            await decide(client, mod, case["case_id"], "ban_channel")
            frames = []
            while True:
                try:
                    frame = json.loads(await asyncio.wait_for(conn.recv(), 1.0))
                except TimeoutError:
                    break
                if frame.get("type") == "channel":
                    frames.append(frame)
        finally:
            await conn.close()

        for key in ("order", "moderator", "rules"):
            by[key].after_state = PostState.REMOVED
        by["author"].after_state = PostState.DELETED
        by["ban"].channel_after = ChannelState.REMOVED
        # the edit: the new text is the post now; the old one is gone everywhere
        edited_old = Item("edit-old", NEWS, by["edit"].words, by["edit"].post,
                          PostState.REMOVED, with_media=False)  # the photo stays
        by["edit"].words = "kappaeditnew words after"
        items.append(edited_old)
        for who, headers in audiences.items():
            check(await crawl(client, items, headers, words), items, who, after=True)
        check(await crawl(client, items, sub, words), items, Audience.PUBLIC, after=True)
        # the live frames during the removals: tombstones and the new text only
        assert {f["kind"] for f in frames} == {"delete", "edit"}, frames
        text = json.dumps(frames)
        for item in items:
            if not item.shown(Audience.PUBLIC, after=True):
                assert not any(f in text for s in (item.words, *item.ids)
                               for f in forms(s)), item.key
        assert "kappaeditnew" in text


async def test_removed_media_is_not_served(api: AppFactory) -> None:
    async with api() as client:
        owner, sub = await user(client, "alice"), await user(client, "bob")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, owner, NEWS)
        await channel(client, owner, BANNED)
        posts = {}
        for n, (key, handle) in enumerate((("moderator", NEWS), ("author", NEWS),
                                           ("ban", BANNED)), start=1):
            media = await upload(client, owner, photo(50 + n, 40 + n, seed=n + 20))
            posts[key] = await post(client, owner, handle, f"{key} words", [media["sha256"]])
        urls = {key: [m["url"] for m in p["media"]] + [m["thumbnail_url"] for m in p["media"]]
                for key, p in posts.items()}
        for key, found in urls.items():  # positive control
            for url in found:
                assert (await client.get(url)).status_code == 200, (key, url)
        case = await report(client, sub, report_body("post", channel=NEWS,
                                                     post_id=posts["moderator"]["id"]))
        await decide(client, mod, case["case_id"], "remove")
        r = await client.delete(f"/api/v1/channels/{NEWS}/posts/{posts['author']['id']}",
                                headers=owner)
        assert r.status_code == 204
        case = await report(client, sub, report_body("channel", channel=BANNED))
        await decide(client, mod, case["case_id"], "ban_channel")
        served = [(key, url) for key, found in urls.items() for url in found
                  if (await client.get(url)).status_code == 200]
        assert served == []
