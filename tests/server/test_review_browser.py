"""The review console in headless Chromium: blurred media, a verified private report,
a removal, the statement of reasons, an appeal and its reversal by a second moderator."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from tests.apps import attach
from tests.conftest import LiveServer
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.report_util import (
    franked,
    franked_file,
    keyring,
    notices,
    report,
    report_body,
    staff,
)
from tidings.protocol.keys import b64encode

CHROMIUM = "/usr/bin/chromium"
Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


async def _login(page: Any, url: str, name: str) -> None:
    await page.goto(f"{url}/console/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", "a long enough passphrase")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/console")


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
async def test_review_flow_in_headless_chromium(live_server: Live) -> None:
    from playwright.async_api import async_playwright

    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        attach(client, server.app)
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await user(client, "mallory")
        await staff(client, "mod_anna", "moderator")
        await staff(client, "mod_ben", "moderator")
        await channel(client, alice, "browser_news", "Browser News")
        image = await upload(client, alice, photo(320, 200, seed=6))
        p = await post(client, alice, "browser_news", "A photo post", [image["sha256"]])
        body = report_body("message", category="harassment")
        body["message"] = franked(keyring(client), "meet me, or else", "mallory", "bob", 7)
        private_case = (await report(client, bob, body))["case_id"]
        post_case = (await report(client, bob, report_body(
            "post", channel="browser_news", number=p["number"], category="violent_extremism"))
        )["case_id"]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            errors: list[str] = []
            anna = await browser.new_page()
            anna.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await _login(anna, server.url, "mod_anna")
            await anna.click("text=Review queue")
            assert await anna.locator("table.queue tbody tr").count() == 2
            # the verified private report: its messages, shown as verified
            await anna.click(f"text={private_case}")
            text = await anna.locator("table.messages").inner_text()
            assert "meet me, or else" in text and "verified" in text
            assert await anna.locator(".badge.verified").count() >= 1
            # a file the reporter disclosed (issue 21): blurred until clicked
            body = report_body("message", category="harassment")
            body["message"] = {**franked_file(keyring(client), b"a written threat",
                                              "note.txt", "text/plain", "mallory", "bob", 8),
                               "disclosed": b64encode(b"a written threat")}
            file_case = (await report(client, bob, body))["case_id"]
            await anna.goto(f"{server.url}/console/cases/{file_case}")
            shown = anna.locator(".media-guard.disclosed pre")
            assert await shown.inner_text() == "a written threat"
            assert "blur" in await shown.evaluate("e => getComputedStyle(e).filter")
            await anna.click(".media-guard.disclosed label >> nth=0")
            await anna.wait_for_function(
                "() => getComputedStyle(document.querySelector('.media-guard.disclosed pre'))"
                ".filter === 'none'", timeout=5000)
            # the post case: media blurred and greyscale until revealed by a click
            await anna.goto(f"{server.url}/console/cases/{post_case}")
            img = anna.locator(".media-guard img")
            await img.wait_for()
            assert await img.evaluate("i => i.complete ? i.naturalWidth : 0") > 0
            style = await img.evaluate("i => getComputedStyle(i).filter")
            assert "blur" in style and "grayscale" in style
            await anna.click(".media-guard label >> nth=0")
            assert await anna.locator(".media-guard input.reveal").is_checked()
            await anna.wait_for_function(  # after the .2s transition
                "() => getComputedStyle(document.querySelector('.media-guard img')).filter"
                " === 'none'", timeout=5000)
            # remove it
            await anna.select_option("select[name=action]", "remove")
            await anna.select_option("select[name=policy]", "violent_extremism")
            await anna.click("form.decision button")
            await anna.wait_for_load_state()
            assert await anna.locator(".case-state").inner_text() == "decided"
            assert await anna.locator(".post-state").inner_text() == "removed"
            public = await client.get(f"/api/v1/channels/browser_news/posts/{p['number']}")
            assert "text" not in public.json()  # a tombstone (docs/channels.md)
            # the user gets the statement of reasons and appeals
            [sor] = [n for n in await notices(client, alice)
                     if n["kind"] == "statement_of_reasons"]
            assert "Your content was removed" in sor["statement"]["text"]
            r = await client.post(f"/api/v1/cases/{post_case}/appeal", headers=alice,
                                  json={"text": "It is reporting on extremism."})
            assert r.status_code == 201
            # a second moderator reverses it from the appeals page
            ben = await (await browser.new_context()).new_page()
            await _login(ben, server.url, "mod_ben")
            await ben.click("text=Appeals")
            await ben.click(f"text={post_case}")
            assert "It is reporting on extremism." in await ben.locator(
                ".appeal-text").inner_text()
            await ben.select_option("select[name=decision]", "reverse")
            await ben.fill("textarea[name=answer]", "Restored: it is news.")
            await ben.click("form.appeal-decision button")
            await ben.wait_for_load_state()
            assert await ben.locator(".post-state").inner_text() == "visible"
            back = (await client.get(f"/api/v1/channels/browser_news/posts/{p['number']}")).json()
            assert back["text"] == "A photo post" and back["media"] == p["media"]
            await ben.goto(f"{server.url}/c/browser_news/{p['number']}")
            assert "A photo post" in await ben.locator("main").inner_text()
            answer = (await notices(client, alice))[0]
            assert answer["kind"] == "appeal_decision" and answer["decision"] == "reverse"
            assert not [e for e in errors if "Content Security Policy" in e], errors
            await browser.close()
