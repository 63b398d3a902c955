"""The public-route crawl: is removed content really gone from every public route?

A visitor's check, over HTTP like any client (issue #17, "removed means gone"). It is
shared by the crawl test (``tests/server/test_visibility_crawl.py``) and ``tidings
demo`` so the two cannot drift:

* every GET route the server has is classified here, as *crawled* (it shows channel
  content to someone who is not staff) or *exempt* (with why); a route in neither
  fails the test (it lists the app's routes) and the demo (it lists the OpenAPI
  document's), so a new route cannot slip past the rule;
* ``urls`` fills the crawled routes for some channels and posts; ``crawl`` fetches
  them (and the posts' media and thumbnails) as one reader;
* ``Crawl.shows`` says where a watched post's text, or any form of it (JSON-, HTML-
  and URL-escaped), or one of its media or thumbnail ids appears, and which of its
  media URLs still answer 200.

Run before a removal, the crawl must find the post on its routes (a positive control:
a route answering 404 for a wrong reason cannot pass); run after, nowhere.
"""

from __future__ import annotations

import html
import json
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tidings.client.transport import DEFAULT_TIMEOUT_S

CRAWLED: Mapping[str, str] = types.MappingProxyType({
    "/api/v1/channels/{handle}": "channel details",
    "/api/v1/channels/{handle}/posts": "history",
    "/api/v1/channels/{handle}/posts/{number}": "one post",
    "/api/v1/channels/{handle}/updates": "the update log (catch-up)",
    "/api/v1/search/posts": "post search",
    "/api/v1/search/channels": "channel search",
    "/api/v1/subscriptions": "the reader's channels",
    "/c/{handle}": "web view of a channel, og: tags",
    "/c/{handle}/{number}": "web view of a post, og: tags",
    "/media/{sha256}": "media and thumbnails",
})
"""GET routes that show channel content, each crawled."""

_STAFF_ONLY = (
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
    "/console/exchanges", "/console/cases/{case_id}/disclosed/{sha256}", "/api/v1/jobs",
    "/api/v1/admin/trusted-flaggers")

EXEMPT: Mapping[str, str] = types.MappingProxyType({
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
    "/transparency": "aggregate figures",
    "/transparency/terrorist-channel-bans.json": "aggregate figures",
    **dict.fromkeys(_STAFF_ONLY,
                    "staff or authority only (moderation needs the content; not public)"),
    **dict.fromkeys((
        "/hma/h/hash", "/hma/m/raw_lookup", "/hma/m/lookup", "/hma/m/index/status",
        "/hma/c/banks", "/hma/c/bank/{bank_name}", "/hma/c/exchanges/apis",
        "/hma/c/exchanges/api/{api_name}", "/hma/c/exchanges/api/{api_name}/schema",
        "/hma/c/exchanges", "/hma/c/exchange/{exchange_name}",
        "/hma/c/exchange/{exchange_name}/status",
        "/hma/c/bank/{bank_name}/content/{content_id}", "/hma/c/content_type",
        "/hma/c/signal_type", "/hma/c/signal_type/index"),
        "HMA API: staff or an operator-configured client; hashes and bank ids only"),
})
"""GET routes that show no channel content to the public, each with why."""

ANSWERS = frozenset({200, 404, 410})
"""What a crawled route may answer; anything else is a broken route, not a pass."""


def unclassified(routes: Iterable[str]) -> list[str]:
    """Routes with no rule here: each must be added to ``CRAWLED`` or ``EXEMPT``."""
    return sorted(set(routes) - set(CRAWLED) - set(EXEMPT))


def openapi_get_paths(document: Mapping[str, Any]) -> set[str]:
    """The GET routes an OpenAPI document lists (the demo's view of the server)."""
    paths: Mapping[str, Any] = document.get("paths") or {}
    return {p for p, ops in paths.items() if isinstance(ops, Mapping) and "get" in ops}


def forms(secret: str) -> list[str]:
    """The ways a route could carry ``secret``: raw, JSON-, HTML- and URL-escaped."""
    return sorted({secret, json.dumps(secret)[1:-1], html.escape(secret), quote(secret),
                   quote(secret, safe="")})


def media_ids(post: Mapping[str, Any]) -> tuple[str, ...]:
    """Media and thumbnail ids of a post as the API returned it."""
    out: list[str] = []
    for m in post.get("media") or []:
        out.append(str(m["sha256"]))
        for key in ("url", "thumbnail_url"):
            if m.get(key):
                out.append(str(m[key]).rsplit("/", 1)[1])
    return tuple(dict.fromkeys(out))


@dataclass
class Watched:
    """A post the crawl looks for: its words and its media (and thumbnail) ids."""

    key: str
    handle: str
    number: int
    """The post's number in its channel (what its public URLs name)."""
    words: str
    media: tuple[str, ...] = ()

    @classmethod
    def of(cls, key: str, handle: str, post: Mapping[str, Any]) -> Watched:
        return cls(key, handle, int(post["number"]), str(post.get("text") or ""), media_ids(post))

    def secrets(self) -> list[str]:
        return [s for s in (self.words, *self.media) if s]

    def media_urls(self) -> list[str]:
        return [f"/media/{m}" for m in self.media]

    def home(self) -> set[str]:
        """The routes that show this post while it is public: its own pages, its
        channel's lists, a search for its first word, its media."""
        return {f"/api/v1/channels/{self.handle}/posts/{self.number}",
                f"/c/{self.handle}/{self.number}", f"/api/v1/channels/{self.handle}/posts",
                f"/api/v1/channels/{self.handle}/updates?since=0", f"/c/{self.handle}",
                search_url(self.words.split()[0]), *self.media_urls()}


def search_url(word: str) -> str:
    return f"/api/v1/search/posts?q={quote(word)}"


def urls(handles: Iterable[str], watched: Iterable[Watched], searches: Iterable[str],
         signed_in: bool) -> list[str]:
    """The crawled routes filled in for these channels, posts and search words."""
    out = {"/api/v1/subscriptions"} if signed_in else set()
    for handle in handles:
        out |= {f"/api/v1/channels/{handle}", f"/api/v1/channels/{handle}/posts",
                f"/api/v1/channels/{handle}/updates?since=0", f"/c/{handle}",
                f"/api/v1/search/channels?q={quote(handle)}"}
    for item in watched:
        out |= item.home()
    out |= {search_url(w) for w in searches}
    return sorted(out)


@dataclass
class Crawl:
    """What one reader got from every URL: ``{url: (status, body)}``; media bodies are
    not kept (only whether they were served)."""

    pages: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def routes(self) -> set[str]:
        """The route templates these URLs exercised."""
        return {_template(u) for u in self.pages}

    def broken(self) -> dict[str, int]:
        """URLs that answered something other than 200, 404 or 410."""
        return {u: s for u, (s, _) in self.pages.items() if s not in ANSWERS}

    def shows(self, item: Watched) -> set[str]:
        """Where ``item`` appears: a page carrying any form of its words or media ids,
        or one of its media URLs answering 200."""
        needles = [f for s in item.secrets() for f in forms(s)]
        media = set(item.media_urls())
        return {u for u, (status, body) in self.pages.items()
                if (status == 200 if u in media else any(n in body for n in needles))}


async def crawl(client: httpx.AsyncClient, targets: Iterable[str],
                headers: Mapping[str, str] | None = None) -> Crawl:
    """Fetch each URL as one reader (``headers``: none for the anonymous public)."""
    result = Crawl()
    for url in targets:
        r = await client.get(url, headers=dict(headers or {}))
        body = "" if url.startswith("/media/") else r.text
        result.pages[url] = (r.status_code, body)
    return result


async def crawl_server(server: str, targets: Iterable[str],
                       headers: Mapping[str, str] | None = None,
                       timeout: float = DEFAULT_TIMEOUT_S) -> Crawl:
    """``crawl`` against a server URL (the demo's, or any deployment's)."""
    async with httpx.AsyncClient(base_url=server.rstrip("/"), timeout=timeout) as client:
        return await crawl(client, targets, headers)


def _template(url: str) -> str:
    """The route template a filled-in URL belongs to."""
    path = url.split("?", 1)[0]
    parts = path.strip("/").split("/")
    if parts[0] == "media":
        return "/media/{sha256}"
    if parts[0] == "c":
        return "/c/{handle}" + ("/{number}" if len(parts) > 2 else "")
    if parts[:3] == ["api", "v1", "channels"] and len(parts) > 3:
        tail = {4: "", 5: "/" + parts[-1], 6: "/posts/{number}"}.get(len(parts))
        return path if tail is None else "/api/v1/channels/{handle}" + tail
    return path
