"""The crawl's leak search and route bookkeeping (the crawl itself runs against a server
in tests/server/test_visibility_crawl.py and in `tidings demo`)."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from tidings.client.crawl import (
    CRAWLED,
    EXEMPT,
    Crawl,
    Watched,
    openapi_get_paths,
    unclassified,
    urls,
)

POST = {"id": 7, "number": 3, "text": "secret <words> & \"quotes\"",
        "media": [{"sha256": "a" * 64, "url": "/media/" + "a" * 64,
                   "thumbnail_url": "/media/" + "b" * 64}]}


def test_every_form_of_the_words_and_every_media_id_is_found() -> None:
    item = Watched.of("p", "news_desk", POST)
    assert item.media == ("a" * 64, "b" * 64)
    words = str(POST["text"])
    bodies = {"/raw": words, "/json": json.dumps({"t": words}), "/html": html.escape(words),
              "/url": "?q=" + quote(words, safe=""), "/thumb": "img " + "b" * 64,
              "/clean": "nothing here", "/media/" + "a" * 64: ""}
    got = Crawl({u: (200, b) for u, b in bodies.items()})
    got.pages["/media/" + "b" * 64] = (410, "")
    assert got.shows(item) == {"/raw", "/json", "/html", "/url", "/thumb",
                               "/media/" + "a" * 64}


def test_routes_are_classified_and_urls_cover_every_crawled_route() -> None:
    assert not set(CRAWLED) & set(EXEMPT)
    assert unclassified(["/api/v1/channels/{handle}", "/api/v1/new_thing"]) == [
        "/api/v1/new_thing"]
    document = {"paths": {"/api/v1/channels/{handle}": {"get": {}},
                          "/api/v1/channels": {"post": {}}}}
    assert openapi_get_paths(document) == {"/api/v1/channels/{handle}"}
    item = Watched.of("p", "news_desk", POST)
    assert {"/c/news_desk/3", "/api/v1/channels/news_desk/posts/3"} <= item.home()  # numbers
    signed_in = Crawl(dict.fromkeys(urls(["news_desk"], [item], ["x"], True), (200, "")))
    assert signed_in.routes == set(CRAWLED)
    anonymous = Crawl(dict.fromkeys(urls(["news_desk"], [item], [], False), (404, "")))
    assert anonymous.routes == set(CRAWLED) - {"/api/v1/subscriptions"}
    assert Crawl({"/x": (500, "")}).broken() == {"/x": 500}
