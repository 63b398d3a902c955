"""Step 9: a banned channel tries to come back under a new account and a new handle.

An authority's order bans @dawn_front_media. Its people register again and create
@sunrise_bulletin: a handle no confusable check links to the old one, the old title with
"(backup)", the description lightly edited, the avatar re-encoded. The channel is held:
nobody but its owner and staff can reach it, the owner is told, and the moderator's
case shows it beside the banned channel with the signals that matched. The moderator
bans it as ban evasion (docs/rules.md, "Returning channels").
"""

from __future__ import annotations

from typing import Any

from tidings.client import order_requests as orq
from tidings.client import report_requests as rr
from tidings.client.sdk import TidingsClient
from tidings.demo import images
from tidings.demo.context import Demo
from tidings.demo.story_legal import ORDERS_PATH, api_paths
from tidings.protocol.errors import TidingsError

BANNED = "dawn_front_media"
RETURNING = "sunrise_bulletin"
DESCRIPTION = ("Official channel of the Dawn Front media office. Statements, releases and "
               "news from the fronts, every day. Share before they delete it.")
AUTHORITY = "ocrc_demo"


async def returning_channel(demo: Demo) -> None:
    n = demo.narrator
    await n.step(9, "A banned channel tries to come back",
                 "The people behind a banned channel return with a new account and a new "
                 "handle, the same title and description lightly edited, and the same avatar "
                 "re-encoded. Tidings holds it before anyone sees it and shows a moderator "
                 "which banned channel it resembles.")
    if ORDERS_PATH not in await api_paths(demo):
        n.unavailable("removal orders (POST /api/v1/orders)")
        return
    logo = images.channel_logo()
    first = await demo.person("dawnfront")
    avatar = await first.client.upload_media(images.png(logo))
    await first.client.create_channel(BANNED, "Dawn Front Media", DESCRIPTION,
                                      avatar=str(avatar["sha256"]))
    admin = await demo.staff("admin")
    created: dict[str, Any] = await admin.client.call(
        orq.create_authority(AUTHORITY, "OCRC (demo)", "FR"))
    async with TidingsClient(demo.server.url, str(created["token"])) as authority:
        order: dict[str, Any] = await authority.call(orq.submit_order(
            f"{demo.server.url}/c/{BANNED}",
            "Regulation (EU) 2021/784, Art. 3; Directive (EU) 2017/541, Art. 5",
            "The channel is the media office of a terrorist group.", "OCRC-DEMO-1"))
    n.check(order.get("status") == "completed",
            f"an order banned @{BANNED}; its fingerprint (handle, title, description, "
            "avatar PDQ, invite link) is kept", f"the order is {order!r}")

    back = await demo.person("sunrise")
    copy = await back.client.upload_media(images.reencoded(logo))
    held = await back.client.create_channel(
        RETURNING, "Dawn Front Media (backup)",
        DESCRIPTION.replace("every day", "every single day") + " ✓",
        avatar=str(copy["sha256"]))
    n.check(held.get("state") == "held",
            f"sunrise (a new account) created @{RETURNING}, a handle unlike @{BANNED}: "
            "it is held", f"its state is {held.get('state')}")
    bob = demo.people["bob"]
    try:
        await bob.client.channel(RETURNING)
        hidden = False
    except TidingsError as exc:
        hidden = exc.status == 404
    n.check(hidden, f"bob cannot reach @{RETURNING} (404), nor can search or the web view",
            "bob can see it")

    moderator = await demo.staff("moderator")
    queue: list[dict[str, Any]] = await moderator.client.call(rr.queue(kind="channel"))
    case_id = next((c["id"] for c in queue if c["target"]["ref"] == str(held.get("id"))),
                   None)
    n.check(case_id is not None, "a case about the held channel waits in the review queue",
            f"the queue is {queue!r}")
    assert case_id is not None
    case: dict[str, Any] = await moderator.client.call(rr.case(case_id))
    hold = case["content"]["returning"]["holds"][0]
    signals = ", ".join(f"{s['signal']} ({_closeness(s)})" for s in hold["signals"])
    n.show(f"case {case_id}: @{RETURNING} beside @{hold['resembles']['handle']}",
           f"score {hold['score']}: {signals}\n"
           f"owner {case['content']['returning']['owner']['username']}, account age "
           f"{case['content']['returning']['owner']['account_age_days']} days")
    n.check(hold["resembles"]["handle"] == BANNED and hold["score"] >= 50,
            f"the case names @{BANNED} and the signals that matched", f"the hold is {hold!r}")
    await moderator.client.call(rr.decide(case_id, "ban_channel", "ban_evasion"))
    try:
        await bob.client.channel(RETURNING)
        gone = False
    except TidingsError as exc:
        gone = exc.status == 410
    n.check(gone, f"the moderator banned @{RETURNING} as ban evasion, with a statement of "
            "reasons to its owner", "it is not banned")


def _closeness(signal: dict[str, Any]) -> str:
    if "distance" in signal:
        return f"PDQ distance {signal['distance']}"
    if "similarity" in signal:
        return f"similarity {signal['similarity']}"
    return str(signal.get("detail", ""))
