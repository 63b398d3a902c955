"""Issue 18 items 4 and 5 through the HTTP API: every text and URL evasion of a banked
entry is refused (``content_rejected``), a banked slogan inside a longer post is held
for review, and innocent look-alike texts and links are published.

Entries are banked through the banks API as an admin would; posts go through the
channel API as a channel owner would. The bank carries no terrorist label so a
rejection gives no strike (three strikes would ban the test channel midway)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory, bearer, login
from tests.server.channel_util import channel, user

PASSWORD = "a long enough passphrase"
BANK = "EVASION_TEST"
LABELS = ["category:violent_extremism"]

BANKED = ("Brothers and sisters, the hour has come: leave your homes, join the caravan at "
          "the northern gate before dawn, bring nothing but your resolve, and strike the "
          "unbelievers wherever you find them. Share this message before it is deleted.")
SHORT = "strike the northern gate"  # under 40 characters: exact forms only
SLOGAN = "victory to the caravan of martyrs"
BANKED_URL = "https://bad-news.net/videos/123"
BANKED_DOMAIN = "domain:evil-archive.org"


def spaced(text: str, sep: str) -> str:
    return " ".join(sep.join(word) for word in text.split())


HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "ο", "p": "р", "c": "с", "i": "і"})
LEET = str.maketrans({"a": "4", "e": "3", "o": "0", "i": "1", "s": "5", "t": "7"})
WORDS = BANKED.split()

EVASIVE_TEXTS = {
    "homoglyphs": BANKED.translate(HOMOGLYPHS),
    "leetspeak": BANKED.translate(LEET),
    "spaces_between_letters": spaced(BANKED, " "),
    "dots_between_letters": spaced(BANKED, "."),
    "removed_spaces": BANKED.replace(" ", ""),
    "hangul_filler": BANKED.replace(" ", "\u3164"),
    "braille_blank": BANKED.replace(" ", " \u2800"),
    "hangul_choseong_filler": "\u115f".join(WORDS),
    "halfwidth_filler": BANKED.replace("e", "e\uffa0"),
    "enclosing_keycap": "".join(c + "\u20e3" if c.isalpha() else c for c in BANKED),
    "emoji_between_words": " 🔥 ".join(WORDS),
    "partial_quote_60": " ".join(WORDS[: round(len(WORDS) * 0.6)]),
    "quote_inside_commentary": "Read this, everyone: " + " ".join(WORDS[8:36])
    + " -- it is being shared everywhere tonight, pass it on.",
    "short_homoglyphs": SHORT.translate(HOMOGLYPHS),
    "short_spaced_leet": spaced(SHORT.translate(LEET), " "),
    "short_emoji": SHORT.replace(" ", " 💥 "),
}

EVASIVE_URLS = {
    "www": "see https://www.bad-news.net/videos/123",
    "mobile": "see https://m.bad-news.net/videos/123 now",
    "percent_encoded": "https://bad-news.net/%76ideos/%31%32%33",
    "double_slash": "https://bad-news.net//videos//123",
    "dot_segment": "https://bad-news.net/./videos/./123",
    "dot_dot_segment": "https://bad-news.net/x/../videos/123",
    "schemeless": "watch bad-news.net/videos/123 before it goes",
    "defanged": "hxxps://bad-news[.]net/videos/123",
    "fullwidth_host": "https://ｂａｄ-ｎｅｗｓ。net/videos/123",
    "uppercase": "HTTPS://BAD-NEWS.NET/videos/123",
    "domain_subdomain": "mirror at https://cdn.evil-archive.org/file/9",
    "domain_schemeless": "mirror: evil-archive.org",
}

INNOCENT = {
    "look_alike_text": "Brothers and sisters, the bakery at the northern gate opens before dawn: "
    "bring a basket and your appetite, and share the bread with whoever you find there.",
    "news_about_caravan": "The caravan of trucks reached the northern gate before dawn, "
    "officials said, and aid workers began unloading food.",
    "short_similar": "the northern gate is closed today",
    "leet_numbers": "Meet at gate 7 at 1488 metres, bring 3 litres of water each.",
    "file_names": "Edit setup.py and readme.md, then run make test.",
    "other_path": "https://bad-news.net/videos/124 is a different page",
    "look_alike_domain": "https://not-evil-archive.org/file/9 and https://bad-news.network/x",
    "same_words_other_site": "https://good-news.net/videos/123",
    "email": "write to press@evil-archive.org.example for comment",
}


async def _setup(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    accounts = kernel_of(client).accounts
    await accounts.create_user("boss", PASSWORD, "admin", check_reserved=False)
    admin = bearer(await login(client, "boss"))
    created = await client.post("/api/v1/banks", json={"name": BANK}, headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/v1/banks/{BANK}/entries"
    bodies: list[dict[str, Any]] = [
        {"text": BANKED}, {"text": SHORT}, {"text": SLOGAN, "slogan": True},
        {"url": BANKED_URL}, {"url": BANKED_DOMAIN},
    ]
    for body in bodies:
        added = await client.post(url, json={**body, "labels": LABELS}, headers=admin)
        assert added.status_code in (200, 201), added.text
        assert added.json()["added"] >= 1
    owner = await user(client, "alice")
    await channel(client, owner, "evasion_chan")
    return admin, owner


async def _post(client: httpx.AsyncClient, owner: dict[str, str], text: str) -> httpx.Response:
    return await client.post("/api/v1/channels/evasion_chan/posts", headers=owner,
                             json={"text": text})


async def test_evasive_texts_and_urls_are_rejected(api: AppFactory) -> None:
    async with api() as client:
        _, owner = await _setup(client)
        outcomes = {}
        for name, text in {**EVASIVE_TEXTS, **EVASIVE_URLS}.items():
            response = await _post(client, owner, text)
            code = response.json().get("error", {}).get("code") if response.is_error else None
            outcomes[name] = (response.status_code, code)
        missed = {k: v for k, v in outcomes.items() if v != (422, "content_rejected")}
        assert not missed, missed


async def test_slogan_inside_a_post_is_held_and_alone_is_rejected(api: AppFactory) -> None:
    async with api() as client:
        _, owner = await _setup(client)
        report = ("Police said the graffiti read 'Victory to the caravan of martyrs' and "
                  "condemned it; the wall was cleaned by the afternoon.")
        held = await _post(client, owner, report)
        assert held.status_code == 201 and held.json()["state"] == "held", held.text
        evasive = await _post(client, owner, "and then: v1ct0ry t0 th3 c4r4v4n 0f m4rtyr5 !!")
        assert evasive.status_code == 201 and evasive.json()["state"] == "held", evasive.text
        alone = await _post(client, owner, "VICTORY to the caravan of martyrs!")
        assert alone.status_code == 422, alone.text
        assert alone.json()["error"]["code"] == "content_rejected"


async def test_innocent_look_alikes_are_published(api: AppFactory) -> None:
    async with api() as client:
        _, owner = await _setup(client)
        for name, text in INNOCENT.items():
            response = await _post(client, owner, text)
            assert response.status_code == 201, (name, response.text)
            assert response.json()["state"] == "visible", (name, response.json())


async def test_bad_entries_are_clear_4xx(api: AppFactory) -> None:
    async with api() as client:
        admin, _ = await _setup(client)
        url = f"/api/v1/banks/{BANK}/entries"
        cases = [
            {"url": "domain:co.uk"},  # a public suffix would match every site
            {"url": "domain:evil.example/path"},
            {"url": "javascript:alert(1)"},
            {"text": "allahu akbar", "slogan": True},  # under the slogan minimum
            {"url": BANKED_URL, "slogan": True},
        ]
        for body in cases:
            response = await client.post(url, json={**body, "labels": LABELS}, headers=admin)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["error"]["message"], body
        listed = (await client.get(url, headers=admin)).json()
        assert len(listed["entries"]) == len({e["id"] for e in listed["entries"]})
