"""Issue 20, finding 4: blocks and message requests, enforced by the server.

A stranger's first message is a request; nothing goes back (receipts, typing, replies)
until the recipient accepts; a blocked sender's messages, typing and invitations never
arrive, and every answer the blocked sender gets is the same as for anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.helpers import close_all, people
from tests.conftest import LiveServer
from tidings.client.privacy import Privacy
from tidings.client.receipts import Signals
from tidings.protocol.errors import Forbidden, NotFound

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_first_contact_is_a_request_until_accepted(live_server: Live,
                                                         tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["rita", "stan"], per_person=1)
        rita, stan = group["rita"][0], group["stan"][0]
        try:
            await stan.send_text("rita", "hi, we have not met https://example.com")
            await Signals(stan).typing("rita")
            inbox = await rita.receive()
            (msg,) = inbox.messages
            assert msg.request and msg.summary()["request"] is True
            assert Signals(rita).visible_typing(inbox.signals) == []  # not shown
            assert await Privacy(rita).requests() == [{
                "user": "stan", "since": pytest.approx(msg.ts, abs=5000),
                "messages": [{"id": msg.id, "ts": msg.ts, "text": msg.text}]}]
            # nothing flows back before accepting: no receipts, no typing, no rekey
            assert await Signals(rita).receipts(inbox.messages) == 0
            with pytest.raises(Forbidden) as err:
                await Signals(rita).typing("stan")
            assert err.value.code == "message_request"
            assert (await stan.receive()).items == []
            # the sender's view is the same either way: it never learns the state
            assert await Privacy(stan).requests() == []
            # writing back is accepting (the SDK accepts, then sends)
            await rita.send_text("stan", "hello")
            assert await Privacy(rita).requests() == []
            (reply,) = (await stan.receive()).messages
            assert reply.text == "hello" and not reply.request
            await stan.send_text("rita", "second")
            (second,) = (await rita.receive()).messages
            assert not second.request
            assert await Signals(rita).receipts([second]) == 1
        finally:
            await close_all(group)


async def test_delete_and_report_and_block(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["tess", "umar", "vera"], per_person=1)
        tess, umar, vera = group["tess"][0], group["umar"][0], group["vera"][0]
        try:
            await umar.send_text("tess", "buy stuff")
            await vera.send_text("tess", "spam spam")
            await tess.receive()
            privacy = Privacy(tess)
            assert [r["user"] for r in await privacy.requests()] == ["umar", "vera"]
            assert await privacy.delete("umar") == 1
            assert all(m["from"] != "umar" for m in tess.crypto.inbox)
            with pytest.raises(NotFound):
                await privacy.delete("umar")
            await umar.send_text("tess", "again")  # a deleted request can come back
            (again,) = (await tess.receive()).messages
            assert again.request
            reports = await privacy.report_and_block("vera")
            assert len(reports) == 1 and reports[0]["verified"] is True
            assert [b["user"] for b in await privacy.blocked()] == ["vera"]
            assert [r["user"] for r in await privacy.requests()] == ["umar"]
            with pytest.raises(Forbidden) as err:
                await tess.send_text("vera", "you are blocked")
            assert err.value.code == "blocked"
        finally:
            await close_all(group)


async def _raw_send(http: httpx.AsyncClient, token: str, body: dict[str, Any]
                    ) -> tuple[int, dict[str, Any]]:
    r = await http.post("/api/v1/messages", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json()


async def test_blocked_sender_learns_nothing_and_nothing_arrives(live_server: Live,
                                                                 tmp_path: Path) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        group = await people(server.url, tmp_path, ["wade", "xena", "yuri"])
        wade, xena = group["wade"], group["xena"]
        try:
            await Privacy(wade[0]).block("xena")
            for who in (wade[0], wade[1]):
                await who.receive()
            # the blocked sender and a stranger who is not blocked get the same answers
            answers = {}
            for sender in ("xena", "yuri"):
                m = group[sender][0]
                sent = await m.send_text("wade", f"hello from {sender}")
                assert set(sent) == {"id", "ts"}
                # an envelope set that misses wade's devices: same 409 for both
                targets = await m.query(["wade", sender])
                others = [d for d in targets[sender] if d != m.crypto.device_id]
                token = m.client.transport.token
                assert token is not None
                status, body = await _raw_send(http, token, {
                    "client_id": f"bad-{sender}", "to": "wade", "commitment": "A" * 43 + "=",
                    "envelopes": [{"device_id": d, "ciphertext": {"type": 0, "body": "AAAA"}}
                                  for d in others]})
                body["error"]["details"].pop("extra", None)
                answers[sender] = (status, body["error"]["code"],
                                   len(body["error"]["details"]["missing"]))
                # keys of wade are served to both alike
                claimed = await m.claim({"wade": []})
                assert len(claimed) == 2
                await Signals(m).typing("wade")
            assert answers["xena"] == answers["yuri"] == (409, "mismatched_devices", 2)
            # wade's devices hear only yuri (as a request); xena's own other device
            # still gets its copy, so nothing looks different on xena's side either
            for dev in wade:
                inbox = await dev.receive()
                assert [(r.sender, r.text) for r in inbox.messages] == [
                    ("yuri", "hello from yuri")]
                assert {s.sender for s in inbox.signals} == {"yuri"}
            copies = (await xena[1].receive()).messages
            assert [r.text for r in copies] == ["hello from xena"]
            # unblocking: the next message is a request again, and arrives
            await Privacy(wade[0]).unblock("xena")
            assert await Privacy(wade[0]).blocked() == []
            await xena[0].send_text("wade", "after unblock")
            (after,) = (await wade[0].receive()).messages
            assert after.text == "after unblock" and after.request
        finally:
            await close_all(group)


async def test_a_block_stops_a_conversation_under_way_at_once(live_server: Live,
                                                               tmp_path: Path) -> None:
    """Two people who accepted each other: the server keeps that decision between
    sends (services/contacts.py), and a block drops it before the block is answered."""
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["zoe", "abe"], per_person=1)
        zoe, abe = group["zoe"][0], group["abe"][0]
        try:
            await abe.send_text("zoe", "hi")
            await zoe.receive()
            await zoe.send_text("abe", "hello")  # writing back: accepted both ways
            await abe.receive()
            async with abe.client.transport.connect(0):
                for n in range(3):  # over the socket too, as the TUI sends
                    await abe.send_text("zoe", f"kept {n}")
                assert [m.text for m in (await zoe.receive()).messages] == [
                    "kept 0", "kept 1", "kept 2"]
                await Privacy(zoe).block("abe")
                sent = await abe.send_text("zoe", "after the block")
                assert set(sent) == {"id", "ts"}  # the blocked sender cannot tell
            assert (await zoe.receive()).messages == []
            await Privacy(zoe).unblock("abe")
            await abe.send_text("zoe", "after unblock")
            (after,) = (await zoe.receive()).messages
            assert after.text == "after unblock" and after.request
        finally:
            await close_all(group)


async def test_block_api_input_and_privacy(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        group = await people(server.url, tmp_path, ["zoe", "abe"], per_person=1)
        zoe = group["zoe"][0]
        h = {"Authorization": f"Bearer {zoe.client.transport.token}"}
        try:
            for body, code in (({"user": "nobody_here"}, 404), ({"user": "zoe"}, 400),
                               ({"user": ""}, 422), ({}, 422), ({"user": "x" * 500}, 422)):
                r = await http.post("/api/v1/blocks", json=body, headers=h)
                assert r.status_code == code, (body, r.text)
                assert "error" in r.json()
            assert (await http.post("/api/v1/blocks", json={"user": "ABE"}, headers=h)
                    ).status_code == 204
            # idempotent, and only the owner sees the list
            assert (await http.post("/api/v1/blocks", json={"user": "abe"}, headers=h)
                    ).status_code == 204
            assert [b["user"] for b in (await http.get("/api/v1/blocks", headers=h)
                                        ).json()["blocked"]] == ["abe"]
            abe_h = {"Authorization": f"Bearer {group['abe'][0].client.transport.token}"}
            assert (await http.get("/api/v1/blocks", headers=abe_h)).json() == {"blocked": []}
            assert (await http.get("/api/v1/blocks")).status_code == 401
            assert (await http.post("/api/v1/requests/abe/accept", headers=h)
                    ).status_code == 409  # blocked: unblock first
        finally:
            await close_all(group)
