"""Usernames, channel handles and titles are checked for look-alikes against each other
and for official-looking decorations (issue 20 item 7, docs/decisions.md "Names and
titles"), through the API: real confusable pairs, refused with the kind of conflict
and without the other name."""

from __future__ import annotations

import httpx

from tests.conftest import AppFactory, bearer, register

PASSWORD = "a long enough passphrase"


async def _register(client: httpx.AsyncClient, name: str) -> httpx.Response:
    return await client.post("/api/v1/accounts/register", json={
        "username": name, "password": PASSWORD, "device_name": "phone"})


async def _channel(client: httpx.AsyncClient, who: dict[str, str], handle: str, title: str,
                   **extra: str) -> httpx.Response:
    return await client.post("/api/v1/channels", headers=who,
                             json={"handle": handle, "title": title, **extra})


def _refused(r: httpx.Response, status: int, code: str, *hidden: str) -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    for word in hidden:
        assert word not in error["message"], error
    return str(error["message"])


async def test_lookalike_usernames_are_refused(api: AppFactory) -> None:
    async with api() as client:
        await register(client, "alice")
        await register(client, "mallory")
        for name, other in (("a1ice", "alice"), ("al1ce", "alice"), ("rnallory", "mallory"),
                            ("ma11ory", "mallory"), ("mal_lory", "mallory")):
            message = _refused(await _register(client, name), 409, "username_confusable",
                               other)
            assert "account" in message
        assert (await _register(client, "alicia")).status_code == 201
        r = await _register(client, "alice")  # the exact name keeps its own answer
        _refused(r, 409, "username_taken")


async def test_usernames_and_channels_cannot_pose_as_each_other(api: AppFactory) -> None:
    async with api() as client:
        alice = bearer(await register(client, "alice"))
        bob = bearer(await register(client, "bob_builder"))
        await register(client, "newsroom")
        assert (await _channel(client, alice, "dailypost", "Daily Post")).status_code == 201
        # A username like a channel's handle or title.
        message = _refused(await _register(client, "dai1ypost"), 409, "username_confusable",
                           "dailypost")
        assert "channel" in message
        assert (await _channel(client, alice, "fresh_corner", "Morning Paper")
                ).status_code == 201
        _refused(await _register(client, "morning_paper"), 409, "username_confusable",
                 "fresh_corner")  # like a channel's title, whatever its handle
        # A channel handle like someone's username (Cyrillic о in a title, 0 in a handle).
        _refused(await _channel(client, bob, "newsr00m", "Fresh"), 409, "handle_confusable",
                 "newsroom")
        _refused(await _channel(client, bob, "fresh_news", "\u0410lice"), 409,
                 "title_confusable", "alice")  # Cyrillic А
        _refused(await _channel(client, bob, "fresh_news", "N\u0435wsroom"), 409,
                 "title_confusable", "newsroom")  # Cyrillic е
        # Her own name is hers to use.
        r = await _channel(client, alice, "alice_notes", "Alice")
        assert r.status_code == 201, r.text
        # An unlisted channel's handle is not told to whoever collides with it.
        r = await _channel(client, alice, "secret_club", "Secret Club", visibility="unlisted")
        assert r.status_code == 201
        _refused(await _channel(client, bob, "secret_c1ub", "Open"), 409, "handle_confusable",
                 "secret_club")
        _refused(await _channel(client, bob, "open_club", "Secret C1ub"), 409,
                 "title_confusable", "secret_club")
        message = _refused(await _channel(client, bob, "dai1y_post", "Other"), 409,
                           "handle_confusable")
        assert "@dailypost" in message  # a public channel may be named


async def test_official_looking_names_are_refused(api: AppFactory) -> None:
    async with api() as client:
        bob = bearer(await register(client, "bob_builder"))
        for title, code in (("Daily \u2713", "official_decoration"),
                            ("Crypto News \U0001f535", "official_decoration"),
                            ("Daily (Official)", "official_decoration"),
                            ("\u041efficial Daily", "official_decoration"),
                            ("Verified Deals", "official_decoration"),
                            ("Support Desk", "official_decoration"),
                            ("Daily\u202eNews", "invisible_character"),
                            ("Daily\u3164", "invisible_character"),
                            ("Daily\u200bNews", "invisible_character")):
            _refused(await _channel(client, bob, "some_channel", title), 400, code)
        for handle in ("daily_official", "support_desk", "verified_deals"):
            _refused(await _channel(client, bob, handle, "Deals"), 400, "official_decoration")
        for name in ("bob_support", "official_bob", "verifiedbob", "admin_bob"):
            r = await _register(client, name)
            assert r.status_code in (400, 409), r.text
            assert r.json()["error"]["code"] in ("official_decoration", "reserved_username")
        r = await client.put("/api/v1/accounts/profile", headers=bob,
                             json={"display_name": "Bob \u2714"})
        _refused(r, 400, "official_decoration")
        # Ordinary words stay allowed.
        for handle, title in (("daily_news", "Daily News"), ("badminton", "Badminton Club"),
                              ("family_chat", "\U0001f468\u200d\U0001f469\u200d\U0001f467 Family")):
            r = await _channel(client, bob, handle, title)
            assert r.status_code == 201, r.text
        # Editing a title meets the same checks.
        r = await client.patch("/api/v1/channels/daily_news", headers=bob,
                               json={"title": "Daily News \u2611"})
        _refused(r, 400, "official_decoration")
