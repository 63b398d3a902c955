"""Channels through the API: names, lookalikes, admins, visibility, subscriptions."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.server.channel_util import channel, post, user


async def test_create_get_edit_delete(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        created = await channel(client, alice, "Daily_News", "Daily News",
                                description="What happened today")
        assert created["handle"] == "daily_news"
        assert created["role"] == "owner" and created["invite_token"]
        got = (await client.get("/api/v1/channels/daily_news")).json()  # no login needed
        assert got["title"] == "Daily News" and "invite_token" not in got
        edited = await client.patch("/api/v1/channels/daily_news", headers=alice,
                                    json={"description": "News, daily"})
        assert edited.json()["description"] == "News, daily"
        bob = await user(client, "bob")
        assert (await client.patch("/api/v1/channels/daily_news", headers=bob,
                                   json={"title": "Mine"})).status_code == 403
        assert (await client.delete("/api/v1/channels/daily_news",
                                    headers=bob)).status_code == 403
        assert (await client.delete("/api/v1/channels/daily_news",
                                    headers=alice)).status_code == 204
        assert (await client.get("/api/v1/channels/daily_news")).status_code == 404


async def test_handle_rules_reserved_taken_and_lookalikes(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "paypal_news", "Payments Weekly")
        cases = [("ab", 400, "invalid_handle"), ("1abcde", 400, "invalid_handle"),
                 ("x" * 33, 400, "invalid_handle"), ("admin", 409, "reserved_handle"),
                 ("tidings_team", 409, "reserved_handle"),
                 ("PAYPAL_NEWS", 409, "handle_taken"),
                 ("paypa1_news", 409, "handle_confusable"),
                 ("paypai_news", 409, "handle_confusable")]
        for handle, status, code in cases:
            response = await client.post("/api/v1/channels", headers=alice,
                                         json={"handle": handle, "title": "Something"})
            assert response.status_code == status, (handle, response.text)
            assert response.json()["error"]["code"] == code, handle
        # A title that poses as another channel (its handle or its title) is refused.
        for title in ("PayPal News", "Paypa1_News", "Payments  Weekly"):
            response = await client.post("/api/v1/channels", headers=alice,
                                         json={"handle": "other_one", "title": title})
            assert response.status_code == 409, title
            assert response.json()["error"]["code"] == "title_confusable"
        assert (await client.post("/api/v1/channels", headers=alice, json={
            "handle": "other_one", "title": "Tidings Official"})).status_code == 409


async def test_admin_permissions(api: AppFactory) -> None:
    async with api() as client:
        owner, bob, carol = [await user(client, n) for n in ("owner", "bob", "carol")]
        await channel(client, owner, "team_chan")
        assert (await client.post("/api/v1/channels/team_chan/posts", headers=bob,
                                  json={"text": "hi"})).status_code == 403
        assert (await client.put("/api/v1/channels/team_chan/admins/bob", headers=owner,
                                 json={"can_post": True})).status_code == 204
        mine = await post(client, bob, "team_chan", "bob's post")
        owners = await post(client, owner, "team_chan", "owner's post")
        # bob may edit his own post but not the owner's, nor manage admins.
        assert (await client.patch(f"/api/v1/channels/team_chan/posts/{mine['number']}",
                                   headers=bob, json={"text": "edited"})).status_code == 200
        assert (await client.patch(f"/api/v1/channels/team_chan/posts/{owners['number']}",
                                   headers=bob, json={"text": "x"})).status_code == 403
        assert (await client.put("/api/v1/channels/team_chan/admins/carol", headers=bob,
                                 json={})).status_code == 403
        assert (await client.put("/api/v1/channels/team_chan/pin", headers=bob,
                                 json={"number": owners["number"]})).status_code == 403
        await client.put("/api/v1/channels/team_chan/admins/bob", headers=owner,
                         json={"can_post": True, "can_edit_others": True,
                               "can_manage_admins": True})
        assert (await client.patch(f"/api/v1/channels/team_chan/posts/{owners['number']}",
                                   headers=bob, json={"text": "fixed typo"})).status_code == 200
        assert (await client.put("/api/v1/channels/team_chan/admins/carol", headers=bob,
                                 json={})).status_code == 204
        admins = (await client.get("/api/v1/channels/team_chan/admins", headers=bob)).json()
        assert [a["username"] for a in admins] == ["owner", "bob", "carol"]
        assert (await client.delete("/api/v1/channels/team_chan/admins/carol",
                                    headers=carol)).status_code == 204  # stepping down
        assert (await client.delete("/api/v1/channels/team_chan",
                                    headers=bob)).status_code == 403  # owner only


async def test_unlisted_needs_the_invite_link(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        created = await channel(client, alice, "secret_club", visibility="unlisted")
        token = created["invite_token"]
        await post(client, alice, "secret_club", "members only")
        assert (await client.get("/api/v1/channels/secret_club")).status_code == 404
        assert (await client.get("/api/v1/channels/secret_club/posts")).status_code == 404
        assert (await client.get("/api/v1/channels/secret_club?invite=wrong")).status_code == 404
        assert (await client.get(f"/api/v1/channels/secret_club?invite={token}")
                ).status_code == 200
        assert (await client.post("/api/v1/channels/secret_club/subscription", headers=bob,
                                  json={})).status_code == 404
        assert (await client.post("/api/v1/channels/secret_club/subscription", headers=bob,
                                  json={"invite": token})).status_code == 200
        page = await client.get("/api/v1/channels/secret_club/posts", headers=bob)
        assert [p["text"] for p in page.json()["posts"]] == ["members only"]
        assert (await client.get("/api/v1/search/channels?q=secret")).json() == []
        rotated = (await client.post("/api/v1/channels/secret_club/invite",
                                     headers=alice)).json()["invite_token"]
        assert rotated != token
        assert (await client.get(f"/api/v1/channels/secret_club?invite={token}")
                ).status_code == 404


async def test_subscribe_count_and_list(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "first_chan")
        await channel(client, alice, "second_chan")
        readers = [await user(client, f"reader{i}") for i in range(3)]
        for r in readers:
            response = await client.post("/api/v1/channels/first_chan/subscription", headers=r)
            assert response.status_code == 200 and response.json()["subscribed"]
        again = await client.post("/api/v1/channels/first_chan/subscription", headers=readers[0])
        assert again.json()["subscriber_count"] == 3  # idempotent
        await client.post("/api/v1/channels/second_chan/subscription", headers=readers[0])
        subs = (await client.get("/api/v1/subscriptions", headers=readers[0])).json()
        assert [s["handle"] for s in subs] == ["first_chan", "second_chan"]
        assert (await client.delete("/api/v1/channels/first_chan/subscription",
                                    headers=readers[1])).status_code == 204
        got = (await client.get("/api/v1/channels/first_chan", headers=readers[1])).json()
        assert got["subscriber_count"] == 2 and got["subscribed"] is False


async def test_generic_titles_allowed_platform_impersonation_refused(api: AppFactory) -> None:
    """Issue 21: "News" is an ordinary word for a title; posing as the platform is not,
    however it is spelled (Cyrillic Т and О, digit 0)."""
    async with api() as client:
        alice = await user(client, "alice")
        for i, title in enumerate(("News", "Daily News", "World News", "Info", "Status")):
            r = await client.post("/api/v1/channels", headers=alice,
                                  json={"handle": f"generic_{i}", "title": title})
            assert r.status_code == 201, (title, r.text)
        for title in ("Tidings Support", "Tidings Official", "\u0422idings \u041efficial",
                      "T1dings Supp0rt", "Support", "Moderator", "Tidings"):
            r = await client.post("/api/v1/channels", headers=alice,
                                  json={"handle": "poser_one", "title": title})
            assert r.status_code == 409, (title, r.text)
            assert r.json()["error"]["code"] == "reserved_title", title
        # the handle "news" stays reserved: it is a link and a mention, not a title
        r = await client.post("/api/v1/channels", headers=alice,
                              json={"handle": "n_e_w_s", "title": "Anything"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "reserved_handle"
