"""Steps 2 and 3: a news channel publishes; known propaganda is blocked in any copy."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from tidings.client import bank_requests as br
from tidings.demo import images
from tidings.demo.context import Demo
from tidings.demo.live import listening
from tidings.demo.people import Person
from tidings.demo.plaintext import search_database
from tidings.protocol.errors import TidingsError

NEWS = "daily_news"
NEWS_TEXT = "Good morning! The harbour bridge reopens at noon today."
BANK = "DEMO_PROPAGANDA"
LABEL = "category:terrorist_content"
PROPAGANDA_CHANNEL = "true_front"
MIRROR_CHANNEL = "mirror_feed"
QUIET_S = 1.5
"""How long a subscriber listens to be sure a blocked post never arrived."""


async def news_channel(demo: Demo) -> None:
    n = demo.narrator
    await n.step(2, "A news channel publishes",
                 "Channels are public: a few people post, anyone follows. Bob follows "
                 "@daily_news and keeps his app open.")
    newsroom = await demo.person("newsroom")
    bob = demo.people["bob"]
    channel = await newsroom.client.create_channel(NEWS, "Daily News",
                                                   "Local news, every morning")
    n.check(channel["handle"] == NEWS, f"newsroom created @{NEWS}", f"got {channel!r}")
    await bob.client.subscribe(NEWS)
    async with listening(bob.client) as bob_live:
        started = time.monotonic()
        post = await newsroom.client.publish(NEWS, NEWS_TEXT)
        arrived = await bob_live.channel_posts(5.0, until_text=NEWS_TEXT)
        took_ms = (time.monotonic() - started) * 1000
    n.check(post.get("state") == "visible", f"post #{post.get('id')} passed the checks and "
            "was published", f"its state is {post.get('state')}")
    texts = [f["post"]["text"] for f in arrived if f.get("channel") == NEWS]
    n.check(NEWS_TEXT in texts, f"bob got the post live over his WebSocket ({took_ms:.0f} ms "
            "after it was sent)", f"bob received {texts!r}")
    stored = search_database(demo.server.db_path, NEWS_TEXT)
    n.check(bool(stored.hits), "a public post is public: the database search finds it in "
            f"{', '.join(sorted(set(stored.hits)))} (unlike the private message)",
            "the search did not find it")


def _reasons(exc: TidingsError) -> list[dict[str, Any]]:
    found = exc.details.get("reasons")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


async def _try_post(demo: Demo, owner: Person, handle: str, caption: str, data: bytes
                    ) -> TidingsError | None:
    """Upload and publish; the error the server answered with, or None if it posted.
    A banked picture is refused already at upload (nothing of it is stored)."""
    try:
        media = await owner.client.upload_media(data)
        await owner.client.publish(handle, caption, [media["sha256"]])
    except TidingsError as exc:
        return exc
    return None


def _check_blocked(demo: Demo, what: str, exc: TidingsError | None,
                   signal_type: str) -> None:
    """The server refused it with 422 content_rejected naming our bank and signal."""
    if exc is None:
        demo.narrator.check(False, f"{what} blocked", "the server published it")
        return
    reasons = _reasons(exc)
    ours = [r for r in reasons if r.get("bank") == BANK and r.get("signal_type") == signal_type]
    demo.narrator.check(
        exc.status == 422 and exc.code == "content_rejected" and bool(ours),
        f"{what} blocked: {exc.status} {exc.code}, a {signal_type} match in bank {BANK} "
        f"(ground: {ours[0].get('ground') if ours else '?'})",
        f"the server answered {exc.status} {exc.code} with reasons {reasons!r}")


async def propaganda(demo: Demo) -> None:
    n = demo.narrator
    await n.step(3, "Known propaganda is blocked before anyone sees it",
                 "The operator loads a hash list of known terrorist propaganda (here: a "
                 "generated stand-in picture). Every picture posted to a channel is hashed "
                 "and matched before it is stored.")
    admin = await demo.staff("admin")
    picture = images.stand_in()
    original = images.png(picture)
    banked = images.pdq(original)
    await admin.client.call(br.create_bank(BANK, "Demo stand-in for a shared hash list of "
                                           "known terrorist propaganda"))
    added = await admin.client.call(br.add_signal(BANK, "pdq", banked, [LABEL], "demo"))
    n.check(added.get("added") == 1, f"admin banked the stand-in's PDQ hash {banked[:16]}… in "
            f"{BANK} with label {LABEL} (only the hash: the picture never reached the server)",
            f"the bank answered {added!r}")

    eve = await demo.person("eve")
    bob = demo.people["bob"]
    await eve.client.create_channel(PROPAGANDA_CHANNEL, "True Front")
    await bob.client.subscribe(PROPAGANDA_CHANNEL)
    n.say(f"eve posts the picture to @{PROPAGANDA_CHANNEL}; bob follows it and is online.")
    async with listening(bob.client) as bob_live:
        blocked = await _try_post(demo, eve, PROPAGANDA_CHANNEL, "Join us", original)
        arrived = await bob_live.channel_posts(QUIET_S)
    _check_blocked(demo, "the image", blocked, "pdq")
    page = await bob.client.history(PROPAGANDA_CHANNEL)
    n.check(not arrived and not page["posts"],
            f"no one saw it: nothing reached bob in {QUIET_S} s and @{PROPAGANDA_CHANNEL} has "
            "no posts", f"bob got {len(arrived)} frames; the channel has "
            f"{len(page['posts'])} posts")

    copy = images.resized_copy(picture)
    copy_hash = images.pdq(copy)
    apart = images.distance(banked, copy_hash)
    n.check(hashlib.sha256(copy).digest() != hashlib.sha256(original).digest()
            and apart <= images.threshold(),
            f"a copy scaled to {images.COPY_SCALE:.0%} and re-encoded as JPEG has other bytes "
            f"and a PDQ hash {apart} bits from the banked one (the match threshold is "
            f"{images.threshold()})", f"the distance is {apart}")
    frank = await demo.person("frank")
    await frank.client.create_channel(MIRROR_CHANNEL, "Mirror Feed")
    n.say(f"frank posts the copy to his own channel @{MIRROR_CHANNEL}.")
    blocked = await _try_post(demo, frank, MIRROR_CHANNEL, "reposting this", copy)
    _check_blocked(demo, "the resized copy", blocked, "pdq")
    page = await frank.client.history(MIRROR_CHANNEL)
    n.check(not page["posts"], f"@{MIRROR_CHANNEL} has no posts either",
            f"it has {len(page['posts'])}")
