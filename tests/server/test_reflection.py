"""No reflected text (issue 20 item 7): a script payload put in the query, the path or a
form field of a console or public web route never comes back raw in the response.

Before the fix, ``/console/cases/ID?error=...`` printed the parameter on the moderator's
screen as a server message; HTML templates escape, so the check here is the raw payload
(and no page shows the attacker's words as its own message at all).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from tests.conftest import AppFactory
from tests.server.channel_util import channel, post, user
from tests.server.report_util import report, report_body, staff

PHRASE = "Your session expired: log in again at evil.example"
"""Plain words, no markup: escaping does not help, so no console page may show text
from its URL at all (the old ``?error=`` did, as the server's own message)."""
PAYLOADS = ('<script>alert("tdgxss")</script>', '"><img src=x onerror=alert(7)>',
            "javascript:alert(1)//</title><svg/onload=alert(2)>")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _clean(r: httpx.Response, payload: str) -> None:
    assert payload not in r.text, (r.request.method, str(r.request.url), r.status_code)
    if r.headers.get("content-type", "").startswith("text/html"):
        assert "tdgxss" not in r.text or "&lt;script&gt;" in r.text
    assert r.headers.get("x-content-type-options") == "nosniff"


async def test_no_route_reflects_a_payload(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        await post(client, alice, "news_desk", "hello")
        case_id = (await report(client, alice, report_body("channel", channel="news_desk"))
                   )["case_id"]
        anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://test")
        page = await client.get("/console/login")
        login_csrf = _csrf(page.text)
        for p in PAYLOADS:
            q = quote(p, safe="")
            for path in (f"/console/login?error={q}&username={q}", f"/c/{q}", f"/c/{q}/1",
                         f"/c/news_desk?invite={q}", f"/c/news_desk?before={q}",
                         f"/c/news_desk/{q}", f"/c/news_desk/1?invite={q}",
                         f"/{q}", f"/console/{q}", f"/transparency?period={q}",
                         f"/api/v1/channels/{q}", f"/api/v1/{q}"):
                _clean(await anonymous.get(path), p)
            r = await client.post("/console/login", data={
                "username": p, "password": p, "csrf": login_csrf})
            assert r.status_code == 401
            _clean(r, p)
            _clean(await client.post("/console/login", data={
                "username": "mod_anna", "password": "x", "csrf": p}), p)
        r = await client.post("/console/login", data={
            "username": "mod_anna", "password": "a long enough passphrase",
            "csrf": login_csrf})
        assert r.status_code == 303
        csrf = _csrf((await client.get("/console")).text)
        for p in PAYLOADS:
            q = quote(p, safe="")
            for path in (f"/console/queue?kind={q}&source={q}", f"/console/cases/{q}",
                         f"/console/cases/{case_id}?error={q}", f"/console/orders/{q}",
                         f"/console/orders/{q}?error={q}", f"/console?error={q}",
                         f"/console/exchanges?error={q}", f"/console/appeals?x={q}"):
                r = await client.get(path)
                assert r.status_code in (200, 404), (path, r.status_code)
                _clean(r, p)
        for path in (f"/console/cases/{case_id}", "/console/queue", "/console"):
            r = await client.get(path, params={"error": PHRASE, "message": PHRASE})
            assert r.status_code == 200 and "evil.example" not in r.text, path
            for path, form in (
                    (f"/console/cases/{case_id}/decision",
                     {"action": p[:32], "policy": p[:64], "facts": p}),
                    (f"/console/cases/{case_id}/appeal-decision",
                     {"decision": p[:16], "answer": p}),
                    (f"/console/cases/{q}/claim", {}),
                    (f"/console/orders/{q}/cannot-comply", {"reason": p[:32], "details": p}),
                    ("/console/preferences", {"back": p})):
                r = await client.post(path, data={"csrf": csrf, **form})
                assert r.status_code < 500, (path, r.text)
                _clean(r, p)
                if r.status_code == 303:
                    assert p not in r.headers["location"]
                    assert q not in r.headers["location"]
        await anonymous.aclose()
