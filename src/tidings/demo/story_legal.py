"""Steps 6 and 8: an authority's removal order, and the transparency report's counts
(step 7, the crawl that shows the ordered post is gone everywhere, is story_crawl.py).

Both run against the server's real API when this build serves it: the order through
the SDK's request builders, as `tidings order submit` sends it, from an authority the
admin creates over the API (`tidings admin create-authority` writes the same on the
server host). The server's OpenAPI document says which routes exist; without them the
step says plainly that the feature is not available in this build, and claims nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from tidings.client import order_requests as orq
from tidings.client.crawl import Watched
from tidings.client.requests import API, Request
from tidings.client.sdk import TidingsClient
from tidings.demo import images
from tidings.demo.context import Demo
from tidings.demo.story_channels import BANK
from tidings.demo.story_crawl import crawl_before

ORDERS_PATH = f"{API}/orders"
AUTHORITIES_PATH = f"{API}/admin/authorities"
TRANSPARENCY_PATH = f"{API}/transparency/report"
ONE_HOUR_MS = 3_600_000
"""TCO Regulation (EU) 2021/784, Art. 3(3): remove within one hour of receipt."""
CHANNEL = "night_watch"
POST_TEXT = ("Glory to the heroes of yesterday's attack on the central station. "
             "Who will be next?")
KEPT_TEXT = "Patrol rota: the neighbourhood watch meets at the library at nine tonight."
"""A post no order names: the crawl must still find it (it is not blind)."""
AUTHORITY = "bka_demo"
AUTHORITY_NAME = "Bundeskriminalamt (demo)"
NOTICE_WAIT_S = 5.0


async def api_paths(demo: Demo) -> set[str]:
    """The routes this build serves, from its OpenAPI document."""
    if "api_paths" not in demo.facts:
        async with TidingsClient(demo.server.url) as anonymous:
            document: dict[str, Any] = await anonymous.call(
                Request("GET", "/openapi.json", auth=False))
        demo.facts["api_paths"] = set(document.get("paths", {}))
    paths: set[str] = demo.facts["api_paths"]
    return paths


async def removal_order(demo: Demo) -> None:
    n = demo.narrator
    await n.step(6, "An authority's removal order is done in seconds",
                 "A competent authority orders terrorist content removed; the law gives "
                 "one hour (TCO Regulation Art. 3(3)). Tidings disables it while answering.")
    paths = await api_paths(demo)
    if ORDERS_PATH not in paths or AUTHORITIES_PATH not in paths:
        n.unavailable("removal orders (POST /api/v1/orders)")
        return
    owner = await demo.person("nightwatch")
    bob = demo.people["bob"]
    await owner.client.create_channel(CHANNEL, "Night Watch")
    picture = await owner.client.upload_media(images.street_photo())
    post = await owner.client.publish(CHANNEL, POST_TEXT, [picture["sha256"]])
    kept = await owner.client.publish(CHANNEL, KEPT_TEXT)
    await bob.client.subscribe(CHANNEL)
    n.check(post.get("state") == "visible" and kept.get("state") == "visible",
            f"@{CHANNEL} posted text and a picture that no bank knows yet: it is public",
            f"its state is {post.get('state')}")
    await crawl_before(demo, Watched.of("ordered", CHANNEL, post),
                       Watched.of("kept", CHANNEL, kept))

    admin = await demo.staff("admin")
    created: dict[str, Any] = await admin.client.call(
        orq.create_authority(AUTHORITY, AUTHORITY_NAME, "DE"))
    n.check(bool(created.get("token")), f"admin created the authority account {AUTHORITY} "
            f"({AUTHORITY_NAME}); its API token is shown once", f"got {created!r}")
    url = f"{demo.server.url}/c/{CHANNEL}/{post['number']}"
    n.say(f"The authority sends an order for {url} …")
    async with TidingsClient(demo.server.url, str(created["token"])) as authority:
        started = time.monotonic()
        order: dict[str, Any] = await authority.call(orq.submit_order(
            url, "Regulation (EU) 2021/784, Art. 3; Directive (EU) 2017/541, Art. 5",
            "The post glorifies a terrorist attack and incites further ones.",
            "DEMO-2026-0001"))
        took = time.monotonic() - started
    received, completed = order.get("received_ms"), order.get("completed_ms")
    n.check(order.get("status") == "completed" and isinstance(received, int)
            and isinstance(completed, int) and completed - received < ONE_HOUR_MS
            and order.get("confirmation") is not None,
            f"order {order.get('id')} completed {(completed or 0) - (received or 0)} ms after "
            f"it was received ({took:.2f} s with the round trip), with the Annex II "
            "confirmation in the answer", f"the order is {order!r}")
    page = await bob.client.history(CHANNEL)
    n.check(all(p["number"] != post["number"] for p in page["posts"]),
            f"the post is gone: @{CHANNEL}'s history no longer shows it to bob",
            f"bob still sees {page['posts']!r}")
    notice = await _notice(owner.client, "removal_order")
    n.check(notice is not None, "the channel's owner was told who ordered it, why, and how to "
            "challenge it (TCO Art. 11)", "no notice arrived")


async def _notice(client: TidingsClient, kind: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + NOTICE_WAIT_S
    while True:
        notices: list[dict[str, Any]] = await client.call(Request("GET", f"{API}/notices"))
        found = [x for x in notices if x.get("kind") == kind]
        if found or time.monotonic() > deadline:
            return found[0] if found else None
        await asyncio.sleep(0.2)


async def transparency(demo: Demo) -> None:
    n = demo.narrator
    await n.step(8, "The transparency report counts it all",
                 "Everything above is counted for the transparency report (DSA Art. 15 and "
                 "24, TCO Art. 7); admins and auditors read it, and /transparency is public.")
    if TRANSPARENCY_PATH not in await api_paths(demo):
        n.unavailable("the transparency report (GET /api/v1/transparency/report)")
        return
    admin = await demo.staff("admin")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    figures: dict[str, Any] = await admin.client.call(Request(
        "GET", TRANSPARENCY_PATH, params={"from": today, "to": today}))
    by_source: dict[str, int] = figures.get("actions_by_source") or {}
    by_action: dict[str, int] = figures.get("actions_by_action") or {}
    notices: dict[str, int] = figures.get("notices_by_source") or {}
    rows = [("measures taken", figures.get("actions_total")),
            *((f"  from {k}", v) for k, v in sorted(by_source.items())),
            *((f"  {k}", v) for k, v in sorted(by_action.items())),
            ("  decided automatically", figures.get("automated_decisions")),
            ("  decided by people", figures.get("human_decisions")),
            *((f"notices from {k}", v) for k, v in sorted(notices.items())),
            ("notices acted on", figures.get("notices_actioned")),
            ("removal orders received", figures.get("orders_received")),
            ("  completed within the hour", figures.get("orders_completed_within_hour"))]
    n.show(f"transparency report for {today} (GET /api/v1/transparency/report)",
           "\n".join(f"{label:<34} {value}" for label, value in rows))
    matched, rejected = by_source.get(f"hash_match:{BANK}", 0), by_action.get("reject", 0)
    n.check(rejected == 2 and matched >= 2,
            f"it counts the two blocked posts as {rejected} rejections, among {matched} "
            f"measures after matches in {BANK}", f"it counts {rejected} rejections and {matched} "
            f"measures from {BANK}")
    verified = notices.get("verified_private_report", 0)
    n.check(verified == 1 and int(figures.get("human_decisions") or 0) >= 1,
            "it counts alice's verified report and the moderator's decision",
            f"verified reports {verified}, human decisions {figures.get('human_decisions')}")
    if "nightwatch" in demo.people:  # step 6 ran: this build has removal orders
        n.check(figures.get("orders_received") == 1
                and figures.get("orders_completed_within_hour") == 1,
                "it counts the removal order, completed within the hour",
                f"orders received {figures.get('orders_received')}, within the hour "
                f"{figures.get('orders_completed_within_hour')}")
