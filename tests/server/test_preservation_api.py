"""TCO Art. 6: removed content is preserved six months, readable only by admins and the
ordering authority, extendable, purged by a durable job (blob copies too), and restored
when an appeal reverses the removal."""

from __future__ import annotations

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.server.channel_util import channel, internal_id, photo, post, upload
from tests.server.order_util import DAY, authority, eventually, member, order_body, submit
from tests.server.report_util import notices
from tidings.services.clock import ManualClock


async def _preserved(client: httpx.AsyncClient, headers: dict[str, str], item: str
                     ) -> httpx.Response:
    return await client.get(f"/api/v1/preservation/{item}", headers=headers)


async def test_preserved_copy_is_private_extendable_and_purged_with_the_clock(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod_anna", "moderator")
        bka = await authority(client, admin, "bka")
        other = await authority(client, admin, "ocrc", "OCLCTIC", "FR")
        await channel(client, alice, "news_desk")
        image = photo(seed=5)
        media = await upload(client, alice, image)
        p1 = await post(client, alice, "news_desk", "the manifesto, part one", [media["sha256"]])
        p2 = await post(client, alice, "news_desk", "the manifesto, part two")
        order = await submit(client, bka, order_body(f"/c/news_desk/{p1['number']}", "A-1"))
        [item] = order["preservation"]
        assert item["order_id"] == order["id"] and item["cause"] == "removal_order"
        # readable by the ordering authority and admins, with the media bytes
        for reader in (bka, admin):
            got = (await _preserved(client, reader, item["id"])).json()
            assert got["record"]["post"]["text"] == "the manifesto, part one"
            assert got["record"]["channel"]["handle"] == "news_desk"
            assert got["record"]["account"]["username"] == "alice"
            assert got["record"]["decision"]["reference"] == "A-1"
            kept = {b["sha256"] for b in got["blobs"]}
            assert media["sha256"] in kept and len(kept) == 2  # the photo and its thumbnail
            r = await client.get(f"/api/v1/preservation/{item['id']}/blobs/{media['sha256']}",
                                 headers=reader)
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        # nobody else: another authority, a moderator, the author, the public
        assert (await _preserved(client, other, item["id"])).status_code == 404
        assert (await client.get(f"/api/v1/preservation/{item['id']}/blobs/{media['sha256']}",
                                 headers=other)).status_code == 404
        for who in (mod, alice):
            assert (await _preserved(client, who, item["id"])).status_code == 403
        assert (await client.get(f"/api/v1/preservation/{item['id']}")).status_code == 401
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 410
        assert [i["id"] for i in (await client.get("/api/v1/preservation",
                                                   headers=bka)).json()] == [item["id"]]
        assert (await client.get("/api/v1/preservation", headers=other)).json() == []
        # a second item, extended by a month at the authority's request
        second = (await submit(client, bka, order_body(f"/c/news_desk/{p2['number']}", "A-2"))
                  )["preservation"][0]
        r = await client.post(f"/api/v1/preservation/{second['id']}/extend", headers=other,
                              json={"months": 1})
        assert r.status_code == 404
        r = await client.post(f"/api/v1/preservation/{second['id']}/extend", headers=bka,
                              json={"months": 1})
        assert r.status_code == 200 and r.json()["extensions"] == 1
        assert r.json()["expires_ms"] > second["expires_ms"] + 27 * DAY
        store = kernel_of(client).preservation.blobs
        assert store.exists(media["sha256"])
        clock.advance(185 * DAY)  # six months and a few days
        gone = await eventually(lambda: _preserved(client, admin, item["id"]),
                                lambda r: r.status_code == 404)
        assert gone.status_code == 404
        assert not store.exists(media["sha256"])
        assert (await _preserved(client, admin, second["id"])).status_code == 200
        clock.advance(31 * DAY)
        gone = await eventually(lambda: _preserved(client, admin, second["id"]),
                                lambda r: r.status_code == 404)
        assert gone.status_code == 404


async def test_reversed_appeal_restores_the_post_and_its_media_from_preservation(
        api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod_anna", "moderator")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        image = photo(seed=7)
        media = await upload(client, alice, image)
        p = await post(client, alice, "news_desk", "a satire, misread", [media["sha256"]])
        order = await submit(client, bka, order_body(f"/c/news_desk/{p['number']}"))
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 410
        [notice] = [n for n in await notices(client, alice) if n["kind"] == "removal_order"]
        r = await client.post(f"/api/v1/cases/{notice['case_id']}/appeal", headers=alice,
                              json={"text": "This is satire; please look again."})
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/mod/cases/{order['case_id']}/appeal-decision",
                              headers=mod, json={"decision": "reverse"})
        assert r.status_code == 200, r.text
        got = (await client.get(f"/api/v1/channels/news_desk/posts/{p['number']}")).json()
        assert got["state"] == "visible" and got["text"] == "a satire, misread"
        restored = await client.get(f"/media/{media['sha256']}")
        assert restored.status_code == 200 and len(restored.content) == media["size"]
        item = (await _preserved(client, admin, order["preservation"][0]["id"])).json()
        assert item["restored_ms"] is not None


async def test_a_moderators_takedown_is_preserved_too(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "instructions for an attack")
        pid = await internal_id(client, mod, "news_desk", p["number"])
        r = await client.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod, json={})
        assert r.status_code == 200, r.text
        pid = r.json()["preservation_id"]
        got = (await _preserved(client, admin, pid)).json()
        assert got["cause"] == "takedown" and got["order_id"] is None
        assert got["record"]["post"]["text"] == "instructions for an attack"
        assert got["record"]["decision"]["actor"] == "moderator:mod_anna"
        assert (await _preserved(client, mod, pid)).status_code == 403
