"""Removed means gone, on every public route (issue #17, item 1).

A channel with posts carrying text and a photo; each kind of removal applied (a removal
order, a moderator's decision, the rules' retro-scan, the author's delete, an edit, a
channel ban); then every public read route of the app is crawled as each audience
(anonymous, a subscriber, the author/owner, a moderator) and what it returns is checked
against the visibility table (``moderation/visibility.py``): no byte of removed text,
no media or thumbnail id of a removed post, raw or JSON-, HTML- or URL-escaped, and
no removed media or thumbnail URL answering 200. The same crawl before the removals
must find every post where the table says it is shown (a positive control: a route
that answers 404 for a wrong reason cannot pass). The route list comes from the app: a
new GET route without a line in ``CRAWLED`` or ``EXEMPT`` (``tidings/client/crawl.py``,
the crawl ``tidings demo`` runs too) fails the test. A subscriber's WebSocket, open
during the removals, gets only tombstones and the edit's new text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.apps import attach
from tests.conftest import AppFactory, LiveServer, bearer, register
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.order_util import authority, eventually, order_body, submit
from tests.server.report_util import report, report_body, staff
from tests.server.test_channel_fanout import connect
from tests.server.test_review_api import decide
from tidings.client.crawl import CRAWLED, EXEMPT, Crawl, Watched, crawl, forms, urls
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


@dataclass
class Item:
    """One post the crawl follows and what happens to it."""

    watched: Watched
    after_state: PostState = PostState.VISIBLE
    channel_after: ChannelState = ChannelState.VISIBLE

    @property
    def key(self) -> str:
        return self.watched.key

    def shown(self, who: Audience, after: bool) -> bool:
        """Does the table say ``who`` sees this post's content (text and media)?"""
        if not after:
            return True
        channel = channel_view(self.channel_after, who)
        return (channel is ChannelShown.OPEN
                and post_view(self.after_state, who).shown is Shown.FULL)


def app_get_routes(server: LiveServer) -> set[str]:
    found = set()
    for ctx in iter_route_contexts(server.app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            found.add(route.path)
        elif ctx.methods and "GET" in ctx.methods:
            found.add(str(ctx.path))
    return found


async def crawl_as(client: httpx.AsyncClient, items: list[Item], headers: dict[str, str],
                   words: list[str]) -> Crawl:
    """Every crawled route for these posts, their media and thumbnails, as one reader."""
    got = await crawl(client, urls((NEWS, BANNED), [i.watched for i in items], words,
                                   signed_in=bool(headers)), headers)
    assert not got.broken(), got.broken()
    assert got.routes == set(CRAWLED) - ({"/api/v1/subscriptions"} if not headers else set())
    return got


def reader(url: str, who: Audience) -> Audience:
    """Web pages, media and search take no login: they always show the public's view."""
    return who if url.startswith(("/api/v1/channels", "/api/v1/subscriptions")) else (
        Audience.PUBLIC)


def check(got: Crawl, items: list[Item], who: Audience, after: bool) -> None:
    for item in items:
        found = got.shows(item.watched)
        leaks = sorted(u for u in found if not item.shown(reader(u, who), after))
        assert not leaks, (item.key, who, leaks)
        # positive control: shown on the post's own routes, its channel's lists, search
        # and its media URLs (200) wherever the table says it is shown
        must = {u for u in item.watched.home() if item.shown(reader(u, who), after)}
        assert must <= found, (item.key, who, sorted(must - found))


async def test_every_public_route_follows_the_visibility_table(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url,
                                                           timeout=30) as client:
        attach(client, server.app)
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
        items = []
        for n, (key, handle, words) in enumerate((
                ("order", NEWS, "kappaorder words for the order"),
                ("moderator", NEWS, "kappamod words a moderator removes"),
                ("rules", NEWS, "kapparules words the partner list bans later"),
                ("author", NEWS, "kappaauthor words the author deletes"),
                ("edit", NEWS, "kappaeditold words before the edit"),
                ("kept", NEWS, "kappakept words that stay"),
                ("ban", BANNED, "kappaban words in a channel that gets banned")), start=1):
            media = await upload(client, owner, photo(40 + n, 30 + n, seed=n + 2))
            made = await post(client, owner, handle, words, [media["sha256"]])
            items.append(Item(Watched.of(key, handle, made)))
            assert len(items[-1].watched.media) == 2  # the picture and its thumbnail
        words = [i.watched.words.split()[0] for i in items] + ["kappaeditnew"]
        audiences = {Audience.PUBLIC: {}, Audience.AUTHOR: owner, Audience.STAFF: mod}
        for who, headers in audiences.items():
            check(await crawl_as(client, items, headers, words), items, who, after=False)
        check(await crawl_as(client, items, sub, words), items, Audience.PUBLIC, after=False)

        conn = await connect(server, sub_session)
        try:
            by = {i.key: i for i in items}
            # the rules: a partner list names the text; the retro-scan removes the post
            await client.post("/api/v1/banks", json={"name": "PARTNER_LIST"}, headers=admin)
            line = f"text_exact {TextExactSignal.hash_from_str(by['rules'].watched.words)}\n"
            r = await client.post("/api/v1/banks/PARTNER_LIST/import?label=category:"
                                  "terrorist_content", content=line.encode(), headers=admin)
            assert r.status_code == 200, r.text
            rules_url = f"/api/v1/channels/{NEWS}/posts/{by['rules'].watched.number}"
            got = await eventually(lambda: client.get(rules_url),
                                   lambda r: r.json().get("state") == "removed", 20.0)
            assert got.json()["state"] == "removed"
            # a removal order
            abe = await authority(client, admin, "auth_abe")
            await submit(client, abe, order_body(f"/c/{NEWS}/{by['order'].watched.number}"))
            # a moderator
            case = await report(client, sub, report_body(
                "post", channel=NEWS, number=by["moderator"].watched.number))
            await decide(client, mod, case["case_id"], "remove")
            # the author
            r = await client.delete(f"/api/v1/channels/{NEWS}/posts/{by['author'].watched.number}",
                                    headers=owner)
            assert r.status_code == 204
            # an edit
            r = await client.patch(f"/api/v1/channels/{NEWS}/posts/{by['edit'].watched.number}",
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
        edit = by["edit"].watched
        items.append(Item(Watched("edit-old", NEWS, edit.number, edit.words),
                          PostState.REMOVED))  # the old text only: the photo stays
        edit.words = "kappaeditnew words after"
        for who, headers in audiences.items():
            check(await crawl_as(client, items, headers, words), items, who, after=True)
        check(await crawl_as(client, items, sub, words), items, Audience.PUBLIC, after=True)
        # the live frames during the removals: tombstones and the new text only
        assert {f["kind"] for f in frames} == {"delete", "edit"}, frames
        text = json.dumps(frames)
        for item in items:
            if not item.shown(Audience.PUBLIC, after=True):
                assert not any(f in text for s in item.watched.secrets()
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
                                                     number=posts["moderator"]["number"]))
        await decide(client, mod, case["case_id"], "remove")
        r = await client.delete(f"/api/v1/channels/{NEWS}/posts/{posts['author']['number']}",
                                headers=owner)
        assert r.status_code == 204
        case = await report(client, sub, report_body("channel", channel=BANNED))
        await decide(client, mod, case["case_id"], "ban_channel")
        served = [(key, url) for key, found in urls.items() for url in found
                  if (await client.get(url)).status_code == 200]
        assert served == []
