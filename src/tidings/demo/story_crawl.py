"""Step 7: removed means gone, on every public route.

After the removal order of step 6, an anonymous visitor and a subscriber fetch every
public route for the demo's channels (the API, the web pages and their og: tags,
search, the update log, media and thumbnails) and look for the removed post's words
and picture, raw or escaped. It is the crawl of ``tests/server/test_visibility_crawl.py``
(``tidings.client.crawl``): the same route rules, the same leak search. Step 6 ran it
once before the order, as the positive control: a crawl that finds nothing because it
looks in the wrong place would prove nothing.
"""

from __future__ import annotations

from typing import Any

from tidings.client.crawl import (
    CRAWLED,
    EXEMPT,
    Watched,
    crawl_server,
    openapi_get_paths,
    unclassified,
    urls,
)
from tidings.client.requests import Request
from tidings.client.sdk import TidingsClient
from tidings.demo.context import Demo
from tidings.demo.story_channels import MIRROR_CHANNEL, NEWS, PROPAGANDA_CHANNEL

CHANNELS = (NEWS, PROPAGANDA_CHANNEL, MIRROR_CHANNEL)
"""The story's other public channels, crawled too."""

WATCHED = "crawl_watched"
"""``demo.facts`` key: the posts step 6 published, as the crawl follows them."""


def targets(demo: Demo, signed_in: bool) -> list[str]:
    watched: list[Watched] = demo.facts[WATCHED]
    handles = sorted({w.handle for w in watched} | set(CHANNELS))
    return urls(handles, watched, [w.words.split()[0] for w in watched], signed_in)


async def crawl_before(demo: Demo, removed: Watched, kept: Watched) -> None:
    """Step 6, before the order: the crawl finds both posts on every route of theirs."""
    demo.facts[WATCHED] = [removed, kept]
    got = await crawl_server(demo.server.url, targets(demo, signed_in=False))
    missing = {w.key: sorted(w.home() - got.shows(w)) for w in (removed, kept)}
    demo.narrator.check(
        not any(missing.values()) and not got.broken(),
        f"before the order, an anonymous crawl of {len(got.pages)} public URLs finds the "
        f"post on all {len(removed.home())} of its routes (its text on the pages, its "
        "picture and thumbnail served)", f"it misses {missing}, broken: {got.broken()}")


async def removed_means_gone(demo: Demo) -> None:
    n = demo.narrator
    await n.step(7, "Removed means gone, on every public route",
                 "Anyone can check: an anonymous visitor and a subscriber fetch every public "
                 "route for these channels (API, web pages and their og: tags, search, the "
                 "update log, media and thumbnails) and look for the removed post's words "
                 "and picture ids, raw or JSON-, HTML- or URL-escaped.")
    if WATCHED not in demo.facts:  # step 6 did not run: no removal orders in this build
        n.unavailable("the public-route crawl (it follows the removal order of step 6)")
        return
    removed, kept = demo.facts[WATCHED]
    async with TidingsClient(demo.server.url) as anonymous:
        document: dict[str, Any] = await anonymous.call(
            Request("GET", "/openapi.json", auth=False))
    api_routes = openapi_get_paths(document)
    unruled = unclassified(api_routes)
    public = sorted(api_routes & set(CRAWLED))
    n.check(not unruled, f"every GET route of the API has a visibility rule: {len(public)} "
            f"show channel content and are crawled (plus the web pages and /media), "
            f"{len(api_routes & set(EXEMPT))} show none to the public",
            f"no rule for {unruled}")
    bob = demo.people["bob"]
    readers = (("an anonymous visitor", None, False),
               ("bob, a subscriber", {"Authorization": f"Bearer {bob.client.transport.token}"},
                True))
    for who, headers, signed_in in readers:
        got = await crawl_server(demo.server.url, targets(demo, signed_in), headers)
        leaks = sorted(got.shows(removed))
        statuses = sorted({got.pages[u][0] for u in removed.media_urls()})
        n.check(not leaks and not got.broken() and 200 not in statuses,
                f"{who}: {len(got.pages)} URLs on {len(got.routes)} public routes, 0 leaks "
                f"(no word or picture id of the removed post; its picture and thumbnail "
                f"answer {'/'.join(map(str, statuses))})",
                f"found it at {leaks}, broken: {got.broken()}")
        missing = sorted(kept.home() - got.shows(kept))
        n.check(not missing, f"…and the crawl is not blind: the post no order named is still "
                f"found on all {len(kept.home())} of its routes", f"it misses {missing}")
