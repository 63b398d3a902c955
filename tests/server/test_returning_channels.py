"""Banned channels do not come back (issue 24), through the public API: a channel
banned by a removal order, then a look-alike from a new account with a non-confusable
handle, a re-encoded avatar and a lightly edited title and description."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from PIL import Image

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.moderation.videos import real_photo
from tests.server.channel_util import channel, internal_id, post, upload
from tests.server.order_util import DAY, authority, member, order_body, submit
from tests.server.report_util import notices, staff
from tidings.services.clock import ManualClock

DESCRIPTION = ("Official channel of the Dawn Front media office. Statements, releases and "
               "news from the fronts, every day. Share before they delete it.")


async def _banned_by_order(client: httpx.AsyncClient, *texts: str
                           ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The banned channel (with ``texts`` posted too), the admin's headers and its
    owner's."""
    alice = await member(client, "alice")
    admin = await member(client, "root_admin", "admin")
    bka = await authority(client, admin, "bka")
    avatar = (await upload(client, alice, real_photo()))["sha256"]
    banned = await channel(client, alice, "dawn_front_media", "Dawn Front Media",
                           description=DESCRIPTION, avatar=avatar)
    await post(client, alice, "dawn_front_media", "statement number one")
    for text in texts:
        await post(client, alice, "dawn_front_media", text)
    order = await submit(client, bka, order_body("http://127.0.0.1:8080/c/dawn_front_media"))
    assert order["status"] == "completed"
    return banned, admin, alice


async def _create(client: httpx.AsyncClient, headers: dict[str, str], handle: str,
                  title: str, description: str, avatar: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"handle": handle, "title": title, "description": description}
    if avatar:
        body["avatar"] = avatar
    r = await client.post("/api/v1/channels", headers=headers, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def _console_case(client: httpx.AsyncClient, name: str, case_id: str) -> str:
    """The case page of the web console, signed in as ``name`` (a staff account)."""
    login = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf, login.text
    r = await client.post("/console/login", data={
        "username": name, "password": "a long enough passphrase", "csrf": csrf.group(1)})
    assert r.status_code == 303, r.text
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200, page.text
    return page.text


async def _case_about(client: httpx.AsyncClient, mod: dict[str, str], kind: str,
                      ref: str) -> dict[str, Any]:
    queue = (await client.get("/api/v1/mod/queue", headers=mod)).json()
    case_id = next(c["id"] for c in queue if c["target"] == {"kind": kind, "ref": ref})
    r = await client.get(f"/api/v1/mod/cases/{case_id}", headers=mod)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_a_returning_channel_is_held_shown_side_by_side_and_decided(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        banned, admin, _ = await _banned_by_order(client)
        clock.advance(3 * DAY)
        mallory, bob = await member(client, "mallory"), await member(client, "bob")
        mod = await staff(client, "mod_anna", "moderator")
        avatar = (await upload(client, mallory, real_photo(quality=55, scale=0.8)))["sha256"]
        edited = DESCRIPTION.replace("every day", "every single day") + " ✓"
        held = await _create(client, mallory, "sunrise_bulletin", "Dawn Front Media (backup)",
                             edited, avatar)
        assert held["state"] == "held"
        # Not reachable by handle, search, web view or invite link: only owner and staff.
        token = held["invite_token"]
        for headers in ({}, bob):
            r = await client.get("/api/v1/channels/sunrise_bulletin", headers=headers)
            assert r.status_code == 404
            r = await client.get("/api/v1/channels/sunrise_bulletin",
                                 params={"invite": token}, headers=headers)
            assert r.status_code == 404
        assert (await client.get("/c/sunrise_bulletin")).status_code == 404
        assert (await client.get("/api/v1/search/channels",
                                 params={"q": "dawn front"})).json() == []
        for headers in (mallory, mod):
            r = await client.get("/api/v1/channels/sunrise_bulletin", headers=headers)
            assert r.status_code == 200, r.text
        # The owner is told; the case names both channels and the signals.
        told = [n for n in await notices(client, mallory) if n["kind"] == "channel_held"]
        assert told and "awaits review" in told[0]["message"]
        case = await _case_about(client, mod, "channel", str(held["id"]))
        assert case["affected_user"] == "mallory"
        returning = case["content"]["returning"]
        assert returning["channel"]["handle"] == "sunrise_bulletin"
        assert returning["owner"]["account_age_days"] == 0
        hold = returning["holds"][0]
        assert hold["resembles"]["handle"] == "dawn_front_media"
        assert hold["resembles"]["channel_id"] == banned["id"]
        signals = {s["signal"]: s for s in hold["signals"]}
        assert {"title", "description", "avatar"} <= set(signals)
        assert "handle" not in signals and signals["avatar"]["distance"] <= 31
        assert hold["score"] >= 50
        page = await _console_case(client, "mod_anna", case["id"])
        assert "Resembles a banned channel" in page and "Banned @dawn_front_media" in page
        assert "PDQ distance" in page and "sunrise_bulletin" in page
        # Ban as ban evasion: a statement of reasons names the banned channel.
        r = await client.post(f"/api/v1/mod/cases/{case['id']}/decision", headers=mod,
                              json={"action": "ban_channel", "policy": "ban_evasion"})
        assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/channels/sunrise_bulletin")).status_code == 410
        returning_svc = kernel_of(client).returning
        kept = {f.handle: f.label for f in await returning_svc.fingerprints()}
        assert kept == {"dawn_front_media": "category:terrorist_content",
                        "sunrise_bulletin": "policy:ban_evasion"}  # order, then moderator
        statement = next(n for n in await notices(client, mallory)
                         if n["kind"] == "statement_of_reasons"
                         and n["decision"] == "ban_channel")["statement"]
        assert "ban evasion" in statement["text"].lower()
        assert "@dawn_front_media" in statement["text"]
        # A third try, from the banned look-alike's own fingerprint as well: held again.
        eve = await member(client, "eve")
        again = await _create(client, eve, "morning_digest", "Dawn Front Media: reserve",
                              edited)
        assert again["state"] == "held"
        case = await _case_about(client, mod, "channel", str(again["id"]))
        r = await client.post(f"/api/v1/mod/cases/{case['id']}/decision", headers=mod,
                              json={"action": "no_violation", "policy": "other"})
        assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/channels/morning_digest")).status_code == 200
        # released: its own posts are not held again for the details a person cleared
        r = await client.post("/api/v1/channels/morning_digest/posts", headers=eve,
                              json={"text": "good morning, here is the digest"})
        assert r.status_code == 201 and r.json()["state"] == "visible", r.text
        # The transparency report counts returning channels held and banned.
        r = await client.get("/api/v1/transparency/report", headers=admin,
                             params={"from": "2026-01-01", "to": "2026-01-10"})
        assert r.status_code == 200, r.text
        figures = r.json()
        assert figures["returning_channels_held"] == 2
        assert figures["returning_channels_banned"] == 1
        assert sum(figures["terror_channel_bans_by_day"].values()) == 2  # order + return
        page = await client.get("/api/v1/transparency/report", headers=admin, params={
            "from": "2026-01-01", "to": "2026-01-10", "format": "html"})
        assert re.search(r"Returning banned channels held for review</th><td>2<", page.text)
        daily = (await client.get("/transparency/terrorist-channel-bans.json",
                                  params={"from": "2026-01-01", "to": "2026-01-10"})).json()
        assert daily["total"] == 2


async def test_innocent_channels_and_an_advertising_post(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        banned, _, _ = await _banned_by_order(client)
        bob, carol = await member(client, "bob"), await member(client, "carol")
        mod = await staff(client, "mod_anna", "moderator")
        for handle, title, description in (
                ("boto3", "Boto3", "The AWS SDK for Python (Boto3)"),
                ("dawn_yoga", "Dawn Yoga Studio", "Morning classes at dawn, every day."),
                ("front_page_media", "Front Page Media", "Media news from the front page.")):
            made = await _create(client, bob, handle, title, description)
            assert made["state"] == "visible", handle
        # A post advertising the banned channel, in another (established) channel: its
        # handle, a look-alike (digits, confusable letters), a t.me-style link, the public
        # URL and the invite link, each goes to review naming the banned channel.
        await channel(client, carol, "carols_corner")
        clock.advance(30 * DAY)
        token = banned["invite_token"]
        for text in ("they are back: @dawn_front_media", "new home /c/dawnfront_media2",
                     "follow @d\u0430wn_fr\u03bfnt_media", "@d4wn_front_media is back",
                     "https://t.me/dawn_front_media", "t.me/dawnfrontmedia",
                     "https://tidings.example/c/dawn_front_media",
                     f"https://tidings.example/c/sunrise?invite={token}",
                     f"join us: https://example.org/join/{token}"):
            r = await client.post("/api/v1/channels/carols_corner/posts", headers=carol,
                                  json={"text": text})
            assert r.status_code == 201 and r.json()["state"] == "held", (text, r.text)
            pid = await internal_id(client, mod, "carols_corner", r.json()["number"])
            case = await _case_about(client, mod, "post", str(pid))
            named = [m for m in case["matches"] if "resembles" in m]
            assert named[0]["resembles"]["handle"] == "dawn_front_media", text
            assert named[0]["resembles"]["signals"][0]["signal"] == "link", text
        # The established channel itself is not held for its posts.
        assert (await client.get("/api/v1/channels/carols_corner")).json()["state"] == \
            "visible"
        r = await client.post("/api/v1/channels/carols_corner/posts", headers=carol,
                              json={"text": "dawn front media was banned, good riddance"})
        assert r.json()["state"] == "visible"
        # A cropped copy of the avatar still matches: the fingerprint keeps crop PDQs.
        photo = Image.open(io.BytesIO(real_photo()))
        w, h = photo.size
        cropped = io.BytesIO()
        photo.crop((w // 25, h // 25, w - w // 25, h - h // 25)).save(cropped, "JPEG")
        avatar = (await upload(client, bob, cropped.getvalue()))["sha256"]
        made = await _create(client, bob, "quiet_garden", "Quiet Garden", DESCRIPTION, avatar)
        case = await _case_about(client, mod, "channel", str(made["id"]))
        signals = case["content"]["returning"]["holds"][0]["signals"]
        assert made["state"] == "held"
        assert {s["signal"] for s in signals} == {"description", "avatar"}


async def test_an_established_channel_edited_to_look_banned_holds_the_edit_only(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        await _banned_by_order(client)
        dave = await member(client, "dave")
        mod = await staff(client, "mod_anna", "moderator")
        await _create(client, dave, "garden_notes", "Garden Notes", "Seeds and soil, weekly.")
        clock.advance(30 * DAY)
        r = await client.patch("/api/v1/channels/garden_notes", headers=dave, json={
            "title": "Dawn Front Media (backup)", "description": DESCRIPTION})
        assert r.status_code == 200, r.text
        # The channel stays as it was, visible to all; the edit waits for a person.
        public = (await client.get("/api/v1/channels/garden_notes")).json()
        assert public["state"] == "visible" and public["title"] == "Garden Notes"
        told = [n for n in await notices(client, dave) if n["kind"] == "channel_held"]
        assert told[0]["held_edit"] == ["description", "title", "title_key"]
        case = await _case_about(client, mod, "channel", str(public["id"]))
        hold = case["content"]["returning"]["holds"][0]
        assert hold["held_edit"]["title"] == "Dawn Front Media (backup)"
        assert {s["signal"] for s in hold["signals"]} == {"title", "description"}
        r = await client.post(f"/api/v1/mod/cases/{case['id']}/decision", headers=mod,
                              json={"action": "no_violation", "policy": "other"})
        assert r.status_code == 200, r.text
        public = (await client.get("/api/v1/channels/garden_notes")).json()
        assert public["state"] == "visible" and public["title"] == "Dawn Front Media (backup)"


async def test_every_channel_hold_opens_a_case(api: AppFactory) -> None:
    """A hold for another reason (here: an owner whose channel was banned before) also
    opens a case and tells the owner, so a held channel is never left unseen."""
    async with api(clock=ManualClock()) as client:
        _, _, alice = await _banned_by_order(client)
        mod = await staff(client, "mod_anna", "moderator")
        # alice (the banned channel's owner) makes an unrelated channel: held, with a case
        made = await _create(client, alice, "cooking_club", "Cooking Club",
                             "Recipes for the weekend.")
        assert made["state"] == "held"
        case = await _case_about(client, mod, "channel", str(made["id"]))
        assert "returning" not in case["content"]
        assert case["matches"][0]["rules"] == ["banned-owner-new-channel-hold"]
        assert [n["kind"] for n in await notices(client, alice)
                if n["kind"] == "channel_held"] == ["channel_held"]



async def test_a_strike_threshold_ban_is_fingerprinted_too(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        admin, owner = await member(client, "boss", "admin"), await member(client, "owner")
        texts = ("oak river lantern meadow", "copper falcon winter gate",
                 "violet engine harbor stone")
        assert (await client.post("/api/v1/banks", headers=admin,
                                  json={"name": "TERROR_TEXT"})).status_code == 201
        for text in texts:
            r = await client.post("/api/v1/banks/TERROR_TEXT/entries", headers=admin,
                                  json={"text": text, "labels": ["category:terrorist_content"]})
            assert r.status_code == 201, r.text
        await _create(client, owner, "harbor_voice", "Harbor Voice", DESCRIPTION)
        for text in texts:  # the third strike bans the channel (default thresholds)
            r = await client.post("/api/v1/channels/harbor_voice/posts", headers=owner,
                                  json={"text": text})
            assert r.status_code == 422, r.text
        assert (await client.get("/api/v1/channels/harbor_voice")).status_code == 410
        again = await _create(client, await member(client, "newcomer"), "maple_gazette",
                              "Harbor Voice (backup)", DESCRIPTION)
        assert again["state"] == "held"


async def test_a_domain_only_the_banned_channel_used_identifies_it(api: AppFactory) -> None:
    """Its own domain (in no other channel's posts, not a common one) is in the
    fingerprint; a new channel carrying it in its description or first post is held. A
    domain other channels also linked to, or a common news site, is no signal."""
    clock = ManualClock()
    async with api(clock=clock) as client:
        bob = await member(client, "bob")
        await channel(client, bob, "city_desk")
        await post(client, bob, "city_desk", "council vote: https://citynews.example/vote")
        await _banned_by_order(
            client, "all statements: https://dawnfront-media.example/statements",
            "as reported by https://citynews.example/attack and https://www.reuters.com/x")
        returning_svc = kernel_of(client).returning
        [kept] = await returning_svc.fingerprints()
        assert kept.domains == ("dawnfront-media.example",)
        clock.advance(DAY)
        mallory, mod = await member(client, "mallory"), await staff(client, "mod", "moderator")
        held = await _create(client, mallory, "quiet_lake", "Quiet Lake",
                             "Mirror: https://www.dawnfront-media.example/join")
        assert held["state"] == "held"
        case = await _case_about(client, mod, "channel", str(held["id"]))
        [signal] = case["content"]["returning"]["holds"][0]["signals"]
        assert signal == {"signal": "link", "weight": 50,
                          "detail": "domain dawnfront-media.example"}
        for handle, text in (("river_notes", "https://citynews.example/weather"),
                             ("lake_notes", "https://reuters.com/world")):
            made = await _create(client, mallory, handle, handle.replace("_", " "), text)
            assert made["state"] == "visible", handle
        # The first post of a new channel (visible so far) carrying it: the channel is held.
        fresh = await _create(client, mallory, "pine_notes", "Pine Notes", "Pine trees.")
        assert fresh["state"] == "visible"
        r = await client.post("/api/v1/channels/pine_notes/posts", headers=mallory,
                              json={"text": "read https://dawnfront-media.example/s/1"})
        assert r.status_code == 201 and r.json()["state"] == "held", r.text
        assert (await client.get("/api/v1/channels/pine_notes")).status_code == 404
        r = await client.post("/api/v1/channels/lake_notes/posts", headers=mallory,
                              json={"text": "https://citynews.example/more"})
        assert r.json()["state"] == "visible"


async def test_a_young_channels_first_post_holds_the_channel(api: AppFactory) -> None:
    """The re-encoded avatar alone (40) stays under the threshold; the first post with
    the banned channel's picture (40 more) pushes the channel over it: the channel is
    held, not only the post, and the case names the post. After the first days a post
    is held alone."""
    clock = ManualClock()
    async with api(clock=clock) as client:
        await _banned_by_order(client)
        mallory, mod = await member(client, "mallory"), await staff(client, "mod", "moderator")
        bob = await member(client, "bob")
        avatar = (await upload(client, mallory, real_photo(quality=60, scale=0.9)))["sha256"]
        made = await _create(client, mallory, "sunrise_notes", "Sunrise Notes",
                             "Notes at sunrise.", avatar)
        assert made["state"] == "visible"
        picture = (await upload(client, mallory, real_photo(quality=70)))["sha256"]
        clock.advance(2 * DAY)
        r = await client.post("/api/v1/channels/sunrise_notes/posts", headers=mallory,
                              json={"text": "our first statement", "media": [picture]})
        assert r.status_code == 201 and r.json()["state"] == "held", r.text
        for headers in ({}, bob):
            r = await client.get("/api/v1/channels/sunrise_notes", headers=headers)
            assert r.status_code == 404
        assert (await client.get("/api/v1/channels/sunrise_notes", headers=mallory)
                ).json()["state"] == "held"
        assert (await client.get("/c/sunrise_notes")).status_code == 404
        assert (await client.get("/api/v1/search/channels",
                                 params={"q": "sunrise notes"})).json() == []
        case = await _case_about(client, mod, "channel", str(made["id"]))
        hold = case["content"]["returning"]["holds"][0]
        assert {s["signal"] for s in hold["signals"]} == {"avatar", "media"}
        assert hold["post_id"] is not None and hold["score"] >= 50
        told = [n for n in await notices(client, mallory) if n["kind"] == "channel_held"]
        assert told and told[0]["message"].startswith("Your channel @sunrise_notes")
        # Released by a person; past its first days a post is held alone.
        r = await client.post(f"/api/v1/mod/cases/{case['id']}/decision", headers=mod,
                              json={"action": "no_violation", "policy": "other"})
        assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/channels/sunrise_notes")).status_code == 200
        clock.advance(10 * DAY)
        r = await client.post("/api/v1/channels/sunrise_notes/posts", headers=mallory,
                              json={"text": "back: t.me/dawn_front_media"})
        assert r.status_code == 201 and r.json()["state"] == "held", r.text
        assert (await client.get("/api/v1/channels/sunrise_notes")).status_code == 200


async def test_an_avatar_in_a_trusted_terrorist_bank_is_rejected(api: AppFactory) -> None:
    """A returning channel whose avatar matches a trusted bank's terrorist-content
    entry is rejected (422, a statement of reasons), not merely held."""
    async with api(clock=ManualClock()) as client:
        _, admin, _ = await _banned_by_order(client)
        mallory = await member(client, "mallory")
        # Uploaded before the picture was banked, used as an avatar after.
        avatar = (await upload(client, mallory, real_photo(quality=55, scale=0.8)))["sha256"]
        r = await client.post("/api/v1/banks", headers=admin,
                              json={"name": "TCO_VERIFIED", "partner": True})
        assert r.status_code == 201, r.text
        r = await client.patch("/api/v1/banks/TCO_VERIFIED", headers=admin,
                               json={"trusted": True})
        assert r.status_code == 200 and r.json()["trust"] == "trusted", r.text
        r = await client.post("/api/v1/banks/TCO_VERIFIED/entries",
                              params={"label": "category:terrorist_content"},
                              content=real_photo(), headers=admin)
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/channels", headers=mallory, json={
            "handle": "sunrise_bulletin", "title": "Dawn Front Media (backup)",
            "description": DESCRIPTION, "avatar": avatar})
        assert r.status_code == 422, r.text
        assert (await client.get("/api/v1/channels/sunrise_bulletin",
                                 headers=mallory)).status_code == 404
        statements = [n for n in await notices(client, mallory)
                      if n["kind"] == "statement_of_reasons"]
        rejected = statements[0]["statement"]["text"]  # the newest first
        assert rejected.startswith("Your content was removed (or not published)")
        assert "terrorist content" in rejected and "TCO_VERIFIED" in rejected
        # The handle's hold statement of the same attempt names the ground rightly.
        assert any("resembles a banned channel" in n["statement"]["text"]
                   for n in statements[1:])
        returning_svc = kernel_of(client).returning
        assert await returning_svc.holds_between(0, 2**62) == []
