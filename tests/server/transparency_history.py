"""A seeded moderation history for transparency tests, and a ledger of what it did.

The history is made through the public API (banks, posts, reports, decisions,
appeals) on a ``ManualClock`` spread over five days. As it goes, the seeder writes
down in ``Ledger`` each measure the platform should have taken, from what the
default rules say (docs/rules.md) — not from what the server stored — so tests can
compute the expected figures independently of the code under test.

One removal order goes through the orders API (completed at once); a late one and
a cannot-comply one, which the API cannot produce on demand, are inserted into
``removal_orders`` directly. Accounts are made without passwords (``member``): no
argon2 hashing, which is most of the cost of a seed on a shared machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tests.apps import kernel_of
from tests.server.channel_util import channel, internal_id, post
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import franked, keyring, notices, report, report_body
from tidings.services.clock import ManualClock
from tidings.storage.accounts import AccountStore
from tidings.storage.order_schema import removal_orders

DAY: Final = 86_400_000
HOUR: Final = 3_600_000
MINUTE: Final = 60_000
START: Final = 1_767_225_600_000  # 2026-01-01T00:00Z, ManualClock's default
TERROR: Final = "category:terrorist_content"
SPAM: Final = "category:spam"
OTHER_ILLEGAL: Final = "category:other_illegal"
BANK_A: Final = "GIFCT_TEST"
BANK_B: Final = "OPERATOR_LIST"
TAKEDOWN: Final = "LOCAL_TAKEDOWN"
#: Sentences with no words in common, so no near-text match crosses between them.
A_TEXTS: Final = ("alpha wolves gather beneath northern quarry tonight",
                  "crimson lanterns signal marching orders eastward",
                  "seventeen barrels hidden under orchard chapel",
                  "volunteers needed urgently brigade kitchen ovens")
B_TERROR: Final = ("glory martyrs bridge collapse celebration video",
                   "recruiters meet harbour warehouse friday dawn")
B_SPAM: Final = "cheap watches discount casino bonus click"
REPORTED: Final = "eyewitness footage showing explosives assembly workshop guide"
HARMLESS: Final = "lovely sunset photographs from yesterday's hiking trip"
STAFF_REMOVED: Final = "militia uniforms parade honouring fallen commander"
EXTREMISM: Final = "category:violent_extremism"


@dataclass(frozen=True)
class Measure:
    action: str
    label: str
    source: str
    """``hash_match:BANK`` for hash matches, else the detection channel."""
    detected_ms: int
    actioned_ms: int
    automated: bool
    repost: bool = False


@dataclass
class Ledger:
    measures: list[Measure] = field(default_factory=list)
    notices: list[tuple[str, bool]] = field(default_factory=list)
    """(source, actioned) per report."""
    appeals: list[bool] = field(default_factory=list)
    """Reversed? per decided appeal."""
    orders: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    """(received, completed, cannot-comply reason)."""
    statements: list[dict[str, Any]] = field(default_factory=list)
    """What each statement of reasons should say: source_type, automated, provision."""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def rule_rejection(self, now: int, label: str, bank: str, strike: bool,
                       ban: bool = False, repost: bool = False) -> None:
        """What the default rules do with a bank match: reject (+ strike and auto-bank
        for terrorist content; the third active strike bans the channel)."""
        source = f"hash_match:{bank}"
        self.measures.append(Measure("reject", label, source, now, now, True, repost))
        if strike:
            self.measures.append(Measure("strike", label, source, now, now, True))
        if ban:
            self.measures.append(Measure("ban_channel", label, source, now, now, True))
        self.statements.append({"source_type": "SOURCE_VOLUNTARY", "automated": True,
                                "provision": ban, "label": label})


async def _rejected(client: httpx.AsyncClient, who: dict[str, str], handle: str,
                    text: str) -> None:
    r = await client.post(f"/api/v1/channels/{handle}/posts", headers=who,
                          json={"text": text})
    assert r.status_code == 422, r.text


async def _bank(client: httpx.AsyncClient, admin: dict[str, str], bank: str, text: str,
                label: str) -> None:
    r = await client.post("/api/v1/banks", json={"name": bank}, headers=admin)
    assert r.status_code in (201, 409), r.text
    r = await client.post(f"/api/v1/banks/{bank}/entries", headers=admin,
                          json={"text": text, "labels": [label]})
    assert r.status_code == 201, r.text


async def _decide(client: httpx.AsyncClient, mod: dict[str, str], case_id: str, action: str,
                  policy: str) -> None:
    r = await client.post(f"/api/v1/mod/cases/{case_id}/decision", headers=mod,
                          json={"action": action, "policy": policy})
    assert r.status_code == 200, r.text


async def _user_id(client: httpx.AsyncClient, name: str) -> int:
    db = kernel_of(client).db
    async with db.read() as conn:
        found = await AccountStore().user_by_name(conn, name)
    assert found is not None
    return found.id


async def seed(client: httpx.AsyncClient, clock: ManualClock) -> Ledger:
    led = Ledger()
    admin = await member(client, "boss", "admin")
    anna = await member(client, "mod_anna", "moderator")
    ben = await member(client, "mod_ben", "moderator")
    led.headers.update(admin=admin, moderator=anna,
                       auditor=await member(client, "audrey", "auditor"))
    for text in A_TEXTS:
        await _bank(client, admin, BANK_A, text, TERROR)
    for text in B_TERROR:
        await _bank(client, admin, BANK_B, text, TERROR)
    await _bank(client, admin, BANK_B, B_SPAM, SPAM)

    # Day 1: three terrorist posts; the third strike bans the channel.
    clock.now = START + 9 * HOUR
    u1 = await member(client, "owner_one")
    await channel(client, u1, "first_front")
    for i, text in enumerate(A_TEXTS[:3]):
        clock.advance(MINUTE)
        await _rejected(client, u1, "first_front", text)
        led.rule_rejection(clock(), TERROR, BANK_A, strike=True, ban=i == 2)

    # Day 2: the same across two banks, and spam (rejected, no strike).
    clock.now = START + DAY + 10 * HOUR
    u2 = await member(client, "owner_two")
    await channel(client, u2, "second_front")
    for i, (text, bank) in enumerate([(A_TEXTS[3], BANK_A), (B_TERROR[0], BANK_B),
                                      (B_TERROR[1], BANK_B)]):
        clock.advance(MINUTE)
        await _rejected(client, u2, "second_front", text)
        led.rule_rejection(clock(), TERROR, bank, strike=True, ban=i == 2)
    u3 = await member(client, "spammer")
    await channel(client, u3, "deals_daily")
    clock.advance(MINUTE)
    await _rejected(client, u3, "deals_daily", B_SPAM)
    led.rule_rejection(clock(), SPAM, BANK_B, strike=False)

    # Day 3: notices and moderators' decisions.
    clock.now = START + 2 * DAY + 8 * HOUR
    u4 = await member(client, "reporter_owner")
    await channel(client, u4, "city_news")
    reported = await post(client, u4, "city_news", REPORTED)
    harmless = await post(client, u4, "city_news", HARMLESS)
    rita = await member(client, "rita")
    t = clock()
    case_p1 = (await report(client, rita, report_body(
        "post", channel="city_news", number=reported["number"])))["case_id"]
    clock.advance(30 * MINUTE)
    await _decide(client, anna, case_p1, "remove", "terrorist_content")
    led.measures.append(Measure("remove", TERROR, "user_report", t, clock(), False))
    led.notices.append(("user_report", True))
    led.statements.append({"source_type": "SOURCE_ARTICLE_16", "automated": False,
                           "provision": False, "label": TERROR})
    case_p2 = (await report(client, rita, report_body(
        "post", channel="city_news", number=harmless["number"])))["case_id"]
    clock.advance(10 * MINUTE)
    await _decide(client, anna, case_p2, "no_violation", "other")
    led.notices.append(("user_report", False))

    bob = await member(client, "bob")
    await member(client, "mallory")
    t = clock()
    msg = franked(keyring(client), "you will regret this", "mallory", "bob", t - MINUTE)
    body = report_body("message", category="harassment")
    body["message"], body["context"] = msg, []
    case_msg = (await report(client, bob, body))["case_id"]
    clock.advance(45 * MINUTE)
    await _decide(client, anna, case_msg, "suspend_account", "other_illegal")
    led.measures.append(Measure("suspend_account", OTHER_ILLEGAL, "verified_private_report",
                                t, clock(), False))
    led.notices.append(("verified_private_report", True))
    led.statements.append({"source_type": "SOURCE_ARTICLE_16", "automated": False,
                           "provision": False, "label": OTHER_ILLEGAL})

    ngo = await member(client, "watchdog_ngo")
    r = await client.put("/api/v1/admin/users/watchdog_ngo/trusted-flagger", headers=admin,
                         json={"trusted": True})
    assert r.status_code == 200, r.text
    u6 = await member(client, "propagandist")
    await channel(client, u6, "dark_channel")
    t = clock()
    case_ch = (await report(client, ngo, report_body("channel", channel="dark_channel"))
               )["case_id"]
    clock.advance(20 * MINUTE)
    await _decide(client, anna, case_ch, "ban_channel", "terrorist_content")
    led.measures.append(Measure("ban_channel", TERROR, "trusted_flagger", t, clock(), False))
    led.notices.append(("trusted_flagger", True))
    led.statements.append({"source_type": "SOURCE_TRUSTED_FLAGGER", "automated": False,
                           "provision": True, "label": TERROR})

    # The removed post was banked on removal: a copy elsewhere is refused.
    u5 = await member(client, "copycat")
    await channel(client, u5, "mirror_feed")
    clock.advance(HOUR)
    await _rejected(client, u5, "mirror_feed", REPORTED)
    led.rule_rejection(clock(), TERROR, TAKEDOWN, strike=True, repost=True)

    # A moderator removes a post through the staff API (no case): a measure of their
    # own initiative, with its own statement of reasons.
    clock.advance(HOUR)
    staff_removed = await post(client, u4, "city_news", STAFF_REMOVED)
    staff_removed_id = await internal_id(client, anna, "city_news", staff_removed["number"])
    r = await client.post(f"/api/v1/admin/posts/{staff_removed_id}/remove", headers=anna,
                          json={"labels": ["violent_extremism"]})
    assert r.status_code == 200 and r.json()["removed"], r.text
    inbox = await notices(client, u4)
    [told] = [n for n in inbox if n["kind"] == "statement_of_reasons"
              and n["statement"].get("statement_id") == f"sor-rm-{staff_removed_id}"]
    assert "removed" in told["statement"]["text"] and "record" not in told["statement"]
    led.measures.append(Measure("remove", EXTREMISM, "moderator", clock(), clock(), False))
    led.statements.append({"source_type": "SOURCE_VOLUNTARY", "automated": False,
                           "provision": False, "label": EXTREMISM})

    # Day 4: appeals, one reversed, one upheld (by a second moderator).
    clock.now = START + 3 * DAY + 9 * HOUR
    for case_id, who, decision in ((case_p1, u4, "reverse"), (case_ch, u6, "uphold")):
        r = await client.post(f"/api/v1/cases/{case_id}/appeal", headers=who,
                              json={"text": "Please look again."})
        assert r.status_code == 201, r.text
        clock.advance(2 * HOUR)
        r = await client.post(f"/api/v1/mod/cases/{case_id}/appeal-decision", headers=ben,
                              json={"decision": decision})
        assert r.status_code == 200, r.text
        led.appeals.append(decision == "reverse")

    # Day 5: removal orders (TCO Art. 3): within the hour, late, and cannot comply.
    day5 = START + 4 * DAY
    boss_id = await _user_id(client, "boss")
    harmless_id = await internal_id(client, admin, "city_news", harmless["number"])
    orders = [("post", str(harmless_id), 10 * HOUR, 20 * MINUTE, None),
              ("channel", "deals_daily", 12 * HOUR, 2 * HOUR, None),
              ("post", "999999", 15 * HOUR, None, "manifest_error")]
    db = kernel_of(client).db
    async with db.write() as conn:
        for i, (kind, ref, at, took, reason) in enumerate(orders):
            received = day5 + at
            completed = None if took is None else received + took
            await conn.execute(removal_orders.insert().values(
                id=f"ro_test{i}", authority_user_id=boss_id, authority_name="Test Police",
                member_state="DE", reference=f"REF-{i}", target_kind=kind, target_ref=ref,
                legal_basis="Art. 3 TCO", reasons="terrorist content", label=TERROR,
                status="cannot_comply" if reason else "completed", received_ms=received,
                completed_ms=completed, cannot_comply_reason=reason))
            led.orders.append((received, completed, reason))
            if completed is not None:
                action = "remove" if kind == "post" else "ban_channel"
                led.measures.append(Measure(action, TERROR, "removal_order", received,
                                            completed, False))
    clock.now = day5 + 16 * HOUR
    bka = await authority(client, admin, "bka_test")
    u7 = await member(client, "ordered_owner")
    await channel(client, u7, "ordered_news")
    target = await post(client, u7, "ordered_news", "statement praising the attack")
    order = await submit(client, bka, order_body(f"/c/ordered_news/{target['number']}", "REAL-1"))
    assert order["status"] == "completed"
    led.orders.append((order["received_ms"], order["completed_ms"], None))
    led.measures.append(Measure("remove", TERROR, "removal_order", order["received_ms"],
                                order["completed_ms"], False))
    led.statements.append({"source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
                           "automated": False, "provision": False, "label": TERROR})
    clock.now = day5 + 20 * HOUR
    return led
