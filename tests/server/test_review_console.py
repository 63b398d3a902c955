"""Console pages: queue, case view (blurred media), decisions with CSRF, appeals, auditors."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx

from tests.apps import attach
from tests.client.helpers import people
from tests.conftest import AppFactory, LiveServer
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.report_util import (
    franked,
    keyring,
    notices,
    report,
    report_body,
    staff,
)
from tidings.client import report_requests as rr
from tidings.client.attachments import disclosures, send_file


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _console_login(client: httpx.AsyncClient, name: str) -> str:
    page = await client.get("/console/login")
    r = await client.post("/console/login", data={
        "username": name, "password": "a long enough passphrase", "csrf": _csrf(page.text)})
    assert r.status_code == 303, r.text
    home = await client.get("/console")
    assert "Review queue" in home.text and "Appeals" in home.text
    return _csrf(home.text)


async def test_moderator_reviews_a_case_in_the_console(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await user(client, "mallory")
        await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        image = await upload(client, alice, photo())
        p = await post(client, alice, "news_desk", "a picture", [image["sha256"]])
        case_id = (await report(client, bob, report_body("post", channel="news_desk",
                                                         number=p["number"])))["case_id"]
        body = report_body("message", category="harassment")
        body["message"] = franked(keyring(client), "verified words", "mallory", "bob", 5)
        private_case = (await report(client, bob, body))["case_id"]
        csrf = await _console_login(client, "mod_anna")
        queue = await client.get("/console/queue")
        assert case_id in queue.text and private_case in queue.text
        filtered = await client.get("/console/queue?source=verified_private_report")
        assert private_case in filtered.text and case_id not in filtered.text
        page = await client.get(f"/console/cases/{case_id}")
        assert page.status_code == 200
        assert 'class="media-guard"' in page.text and "<img" in page.text
        assert "style=" not in page.text and "<script" not in page.text
        private = await client.get(f"/console/cases/{private_case}")
        assert "verified words" in private.text and "verified by franking" in private.text
        # the preference is stored server-side, per moderator
        r = await client.post("/console/preferences", data={
            "csrf": csrf, "reveal_media": "on", "back": f"/console/cases/{case_id}"})
        assert r.status_code == 303
        assert 'class="media-guard revealed"' in (await client.get(
            f"/console/cases/{case_id}")).text
        # claim and release the lease from the page
        r = await client.post(f"/console/cases/{case_id}/claim", data={"csrf": csrf})
        assert r.status_code == 303 and "error" not in r.headers["location"]
        page = await client.get(f"/console/cases/{case_id}")
        assert "You hold this case" in page.text and "claimed by mod_anna" in page.text
        await client.post(f"/console/cases/{case_id}/claim", data={"csrf": csrf, "release": "1"})
        assert "claimed by" not in (await client.get(f"/console/cases/{case_id}")).text
        # decisions need the CSRF token
        r = await client.post(f"/console/cases/{case_id}/decision", data={
            "csrf": "forged", "action": "remove", "policy": "spam"})
        assert r.status_code == 403
        r = await client.post(f"/console/cases/{case_id}/decision", data={
            "csrf": csrf, "action": "remove", "policy": "spam"})
        assert r.status_code == 303 and "error" not in r.headers["location"]
        page = await client.get(f"/console/cases/{case_id}")
        assert "decided" in page.text and "removed" in page.text


async def test_auditors_get_read_only_pages(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await staff(client, "audit_eve", "auditor")
        await channel(client, alice, "news_desk")
        case_id = (await report(client, alice, report_body("channel", channel="news_desk"))
                   )["case_id"]
        csrf = await _console_login(client, "audit_eve")
        page = await client.get(f"/console/cases/{case_id}")
        assert page.status_code == 200 and "Read-only" in page.text
        assert "/decision" not in page.text
        r = await client.post(f"/console/cases/{case_id}/decision", data={
            "csrf": csrf, "action": "no_violation", "policy": "other"})
        assert r.status_code == 403 and "auditors cannot decide" in r.text
        assert (await client.get("/console/appeals")).status_code == 200


async def test_console_pages_need_a_staff_session(api: AppFactory) -> None:
    async with api() as client:
        r = await client.get("/console/queue")
        assert r.status_code == 303 and r.headers["location"] == "/console/login"


async def test_an_unknown_case_is_a_clear_404(api: AppFactory) -> None:
    async with api() as client:
        await staff(client, "mod_anna", "moderator")
        await _console_login(client, "mod_anna")
        r = await client.get("/console/cases/c_nope")
        assert r.status_code == 404 and "no such case" in r.text


# -- one vocabulary (issue 21 item 6) ---------------------------------------------------


def _select(html: str, name: str) -> tuple[list[str], str]:
    """The options of the decide form's ``name`` select, and the selected one."""
    match = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    assert match, html
    options = re.findall(r'<option value="([^"]+)"( selected)?>', match.group(1))
    chosen = [value for value, selected in options if selected]
    assert len(chosen) == 1, options
    return [value for value, _ in options], chosen[0]


async def _decide_with_defaults(client: httpx.AsyncClient, case_id: str, csrf: str
                                ) -> tuple[str, str]:
    """Submit the decide form as offered: the selected action and policy."""
    page = (await client.get(f"/console/cases/{case_id}")).text
    (_, action), (_, policy) = _select(page, "action"), _select(page, "policy")
    r = await client.post(f"/console/cases/{case_id}/decision", data={
        "csrf": csrf, "action": action, "policy": policy})
    assert r.status_code == 303 and "error" not in r.headers["location"], r.text
    return action, policy


async def test_decide_form_offers_what_applies_and_the_server_refuses_the_rest(
        api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await user(client, "mallory")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "buy cheap pills")
        post_case = (await report(client, bob, report_body(
            "post", category="spam", channel="news_desk", number=p["number"])))["case_id"]
        body = report_body("message", category="harassment")
        body["message"] = franked(keyring(client), "you will regret this", "mallory", "bob", 5)
        message_case = (await report(client, bob, body))["case_id"]
        csrf = await _console_login(client, "mod_anna")

        page = (await client.get(f"/console/cases/{message_case}")).text
        actions, default = _select(page, "action")
        assert actions == ["suspend_account", "no_violation", "escalate"]
        assert default == "suspend_account"
        policies, policy = _select(page, "policy")
        assert policy == "harassment" and {"harassment", "other_illegal"} <= set(policies)
        page = (await client.get(f"/console/cases/{post_case}")).text
        assert _select(page, "action") == (
            ["remove", "ban_channel", "suspend_account", "no_violation", "escalate"], "remove")
        assert _select(page, "policy")[1] == "spam"

        # whatever a form or a script sends, remove does not apply to a private message
        r = await client.post(f"/console/cases/{message_case}/decision", data={
            "csrf": csrf, "action": "remove", "policy": "harassment"})
        assert r.status_code in (303, 400)  # 400 once refused forms render the page
        r = await client.post(f"/api/v1/mod/cases/{message_case}/decision", headers=mod,
                              json={"action": "ban_channel", "policy": "harassment"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "not_applicable"
        assert "suspend_account, no_violation, escalate" in r.json()["error"]["message"]
        r = await client.get(f"/api/v1/mod/cases/{message_case}", headers=mod)
        assert r.json()["decision"] is None and r.json()["default_policy"] == "harassment"
        # a report category is accepted as the policy it maps onto
        r = await client.post(f"/api/v1/mod/cases/{message_case}/decision", headers=mod,
                              json={"action": "suspend_account", "policy": "harassment"})
        assert r.status_code == 200, r.text
        assert r.json()["policy"] == "policy:harassment"


async def test_case_page_shows_strikes_bans_and_earlier_cases(api: AppFactory) -> None:
    from tests.server.test_actions_api import bank_text

    async with api() as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "mod_anna", "moderator")
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "alice_old")
        await channel(client, alice, "alice_new")
        await bank_text(client, admin, "TERROR_TEXT", "join the armed struggle now")
        r = await client.post("/api/v1/channels/alice_new/posts", headers=alice,
                              json={"text": "join the armed struggle now", "media": []})
        assert r.status_code == 422, r.text  # refused, and a strike
        old = await post(client, alice, "alice_old", "an old post")
        earlier = (await report(client, bob, report_body(
            "post", channel="alice_old", number=old["number"])))["case_id"]
        r = await client.post(f"/api/v1/mod/cases/{earlier}/decision", headers=mod,
                              json={"action": "ban_channel", "policy": "terrorist_content"})
        assert r.status_code == 200, r.text
        new = await post(client, alice, "alice_new", "a new post")
        case_id = (await report(client, bob, report_body(
            "post", category="other", channel="alice_new", number=new["number"])))["case_id"]
        await _console_login(client, "mod_anna")
        page = (await client.get(f"/console/cases/{case_id}")).text
        history = page[page.index("History of this account"):]
        assert "No strikes" not in history and "terror" in history  # the rule's name
        assert "@alice_old" in history and "No channels taken down" not in history
        assert earlier in history and "ban_channel" in history
        assert "No earlier cases" not in history


async def test_a_private_and_a_public_report_decided_with_the_defaults_offered(
        live_server: Callable[..., AbstractAsyncContextManager[LiveServer]],
        tmp_path: Path) -> None:
    """Issue 21's done-when: a franking-verified private-message report made through the
    SDK (with the attachment the reporter chose to disclose) and a post report, each
    decided from the console as its form stands; both succeed and both authors get a
    statement of reasons. The case page shows the disclosed file, blurred, and never
    the attachment's key or nonce."""
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        attach(client, server.app)
        everyone = await people(server.url, tmp_path, ["ann", "ben"], per_person=1)
        (ann,), (ben,) = everyone["ann"], everyone["ben"]
        try:
            threat = tmp_path / "threat.txt"
            threat.write_text("I know where you live.")
            await send_file(ann, "ben", threat)
            (received,) = [x for x in (await ben.receive()).messages
                           if x.content.kind == "file"]
            inbox = ben.crypto.reportable()
            shown = await disclosures(ben, [i for i in inbox if i["id"] == received.id])
            assert shown == {received.id: b"I know where you live."}
            filed = await ben.client.call(rr.message_report(
                inbox, received.id, "harassment", "a threat, as a file", disclose=shown))
            assert filed["verified"] is True and filed["disclosed"] == 1
            carl = await user(client, "carl")
            await channel(client, carl, "carl_daily", "Daily News")
            p = await post(client, carl, "carl_daily", "miracle pills, cheap")
            spam = await ben.client.call(rr.post_report("carl_daily", p["number"], "spam",
                                                        "advertising"))
            await staff(client, "mod_anna", "moderator")
            csrf = await _console_login(client, "mod_anna")

            page = (await client.get(f"/console/cases/{filed['case_id']}")).text
            assert "threat.txt" in page and "I know where you live." in page
            assert 'class="media-guard disclosed' in page  # blurred until revealed
            key = received.content.body["attachment"]
            assert key["key"] not in page and key["nonce"] not in page
            assert "sha256_ciphertext" not in page and '"attachment"' not in page
            case = (await client.get(f"/api/v1/mod/cases/{filed['case_id']}",
                                     headers=await _bearer(client, "mod_anna"))).text
            assert key["key"] not in case and key["nonce"] not in case

            assert await _decide_with_defaults(client, spam["case_id"], csrf) == (
                "remove", "spam")
            assert await _decide_with_defaults(client, filed["case_id"], csrf) == (
                "suspend_account", "harassment")
            for case_id in (spam["case_id"], filed["case_id"]):
                page = (await client.get(f"/console/cases/{case_id}")).text
                assert "state <strong class=\"case-state\">decided</strong>" in page
            statements = [n for n in await notices(client, carl)
                          if n["kind"] == "statement_of_reasons"]
            assert [n["case_id"] for n in statements] == [spam["case_id"]]
            assert "spam" in statements[0]["statement"]["text"]
            sent = await ann.client.call(rr.notices())  # a suspended account reads these
            (statement,) = [n for n in sent if n["kind"] == "statement_of_reasons"]
            assert statement["case_id"] == filed["case_id"]
            assert statement["policy"] == "policy:harassment"
            assert "harass" in statement["statement"]["text"]
        finally:
            await ann.client.close()
            await ben.client.close()


async def _bearer(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    from tests.conftest import bearer, login

    return bearer(await login(client, name))
