"""Returning-channel resemblance (moderation/resemblance.py): a look-alike of a banned
channel scores above the hold threshold, 1,500 real innocent names do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.moderation.videos import real_photo
from tidings.moderation import labels as L
from tidings.moderation.actions import Verdict
from tidings.moderation.resemblance import (
    DEFAULT_HOLD_SCORE,
    Fingerprint,
    Traits,
    candidate_domains,
    closest,
    compare,
    edit_similarity,
    names_channel,
    names_lookalike,
)
from tidings.moderation.rules import (
    Facts,
    RuleError,
    Subject,
    Surface,
    default_ruleset,
    evaluate,
    load_ruleset,
)
from tidings.moderation.signal_types import decode_image, pdq_of_image
from tidings.moderation.urls import registrable_domain

DATA = Path(__file__).parent / "data" / "innocent_channels.tsv"
DESCRIPTION = ("Official channel of the Dawn Front media office. Statements, releases and "
               "news from the fronts, every day. Share before they delete it.")


def _pdq(data: bytes) -> str:
    return pdq_of_image(decode_image(data))[0]


@pytest.fixture(scope="module")
def banned() -> list[Fingerprint]:
    """The banned channel, and two more so ``closest`` has to choose."""
    return [
        Fingerprint(1, "dawn_front_media", "Dawn Front Media", DESCRIPTION,
                    (_pdq(real_photo()),), (), ("Zq3-invite-token-abcdef",),
                    L.TERRORIST_CONTENT, ("dawnfront-media.example",)),
        Fingerprint(2, "lions_of_the_caliphate", "Lions of the Caliphate",
                    "Nasheeds and news for the brothers. Join and share.", (), (), (),
                    L.TERRORIST_CONTENT),
        Fingerprint(3, "spam_deals_daily", "Daily Deals", "Crypto deals, giveaways.", (), (),
                    (), L.SPAM),
    ]


def test_a_lookalike_with_a_new_handle_scores_above_the_hold_threshold(
        banned: list[Fingerprint]) -> None:
    returning = Traits("sunrise_bulletin", "Dawn Front Media (backup)",
                       DESCRIPTION.replace("every day", "every single day") + " ✓",
                       (_pdq(real_photo(quality=55, scale=0.8)),))
    found = closest(returning, banned)
    assert found is not None and found.channel_id == 1
    assert found.score >= DEFAULT_HOLD_SCORE
    signals = {s.signal: s for s in found.signals}
    assert set(signals) == {"title", "description", "avatar"}  # not the handle
    assert signals["avatar"].distance is not None and signals["avatar"].distance <= 31
    assert found.json()["handle"] == "dawn_front_media"


def test_each_signal_alone_stays_below_the_threshold_except_an_identifying_link(
        banned: list[Fingerprint]) -> None:
    fp = banned[0]
    alone = [Traits("dawnfront_media2"), Traits(title="Dawn Front Media ✓"),
             Traits(description=DESCRIPTION), Traits(avatar_pdq=fp.avatar_pdq),
             Traits(media_pdq=fp.avatar_pdq)]
    for traits in alone:
        found = compare(traits, fp)
        assert len(found.signals) == 1 and found.score < DEFAULT_HOLD_SCORE, traits
    link = compare(Traits(texts=("our new home: t.me/x and @dawn_front_media",)), fp)
    assert link.score >= DEFAULT_HOLD_SCORE
    assert compare(Traits("dawnfront_media2", "Dawn Front Media"), fp).score >= 50


def test_links_name_the_channel_not_its_words(banned: list[Fingerprint]) -> None:
    fp = banned[0]
    assert names_channel("follow /c/dawn_front_media now", fp) == "@dawn_front_media"
    assert names_channel("join via https://x/c/ch?invite=Zq3-invite-token-abcdef", fp)
    assert names_channel("dawn front media is banned, good", fp) is None
    assert names_channel("@dawn_front_media_fans is not it", fp) is None
    found = compare(Traits(texts=("backup: @dawnfront_media2",)), fp)
    assert [s.signal for s in found.signals] == ["link"]


def test_every_way_of_naming_the_channel(banned: list[Fingerprint]) -> None:
    fp = banned[0]
    for text in ("t.me/dawn_front_media", "https://t.me/s/dawn_front_media",
                 "https://tidings.example/c/dawn_front_media"):
        assert names_channel(text, fp) == "@dawn_front_media", text
    # Confusable letters (Cyrillic а, Greek ο) are read whole and fold to the skeleton.
    for text in ("@d\u0430wn_front_media", "t.me/dawn_fr\u03bfnt_media",
                 "@d4wn_front_media"):
        assert names_lookalike(text, fp) is not None, text
        assert [s.signal for s in compare(Traits(texts=(text,)), fp).signals] == ["link"]
    assert names_lookalike("@dawn_yoga and t.me/joinchat", fp) is None


def test_a_domain_only_the_banned_channel_used_identifies_it(
        banned: list[Fingerprint]) -> None:
    fp = banned[0]
    assert names_channel("mirror: https://news.dawnfront-media.example/s/12",
                         fp) == "domain dawnfront-media.example"
    assert names_channel("mirror: hxxps://dawnfront-media[.]example", fp)
    found = compare(Traits(description="Backup: https://dawnfront-media.example/join"), fp)
    assert found.score >= DEFAULT_HOLD_SCORE
    assert names_channel("https://other-media.example/dawnfront-media", fp) is None
    # Candidates: every linked domain but the bundled common ones (news, social, video).
    texts = ["see https://www.reuters.com/world/x and https://dawnfront-media.example/a",
             "t.me/dawn_front_media youtu.be/abc https://m.bbc.co.uk/news",
             "https://cdn.dawnfront-media.example/1.jpg http://127.0.0.1/x"]
    assert candidate_domains(texts) == ["dawnfront-media.example"]
    assert registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("a.b.example") == "b.example"
    assert registrable_domain("127.0.0.1") is None


def test_edit_similarity() -> None:
    assert edit_similarity("abc", "abc") == 1.0
    assert edit_similarity("", "abc") == 0.0
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)


def _innocent() -> list[Traits]:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        name, summary = line.split("\t", 1)
        handle = re.sub(r"[^a-z0-9_]", "_", name.lower())[:32]
        out.append(Traits(handle, name.replace("-", " ").title(), summary))
    return out


#: Channels that share words with the banned ones: they must not be held either.
SHARING_WORDS = [
    Traits("dawn_yoga", "Dawn Yoga Studio", "Morning classes at dawn, every day."),
    Traits("front_page_media", "Front Page Media", "Media news from the front page."),
    Traits("media_office_jobs", "Media Office Jobs",
           "Jobs in media offices: statements of work, releases, news."),
    Traits("dawn_chorus", "Dawn Chorus", "Birdwatching at dawn on the western front."),
    Traits("lions_rugby", "Lions Rugby Club", "News and fixtures of the Lions."),
    Traits("daily_deals_de", "Deals Daily", "Coupons and deals every day."),
    Traits("the_front_media", "The Front", "Independent media on the front of politics."),
    Traits("official_news", "Official News", "Official statements of the city council."),
]


def test_no_innocent_channel_is_held(banned: list[Fingerprint]) -> None:
    """0 holds over 1,500 real package names and summaries plus channels that share
    words with the banned ones (the figure in docs/rules.md)."""
    corpus = _innocent()
    assert len(corpus) >= 1_000
    held, touched = [], 0
    for traits in [*corpus, *SHARING_WORDS]:
        found = closest(traits, banned)
        touched += found is not None
        if found is not None and found.score >= DEFAULT_HOLD_SCORE:
            held.append((traits, found))
    assert held == []
    assert touched == 0  # not even one signal (docs/rules.md states it)


def test_the_rule_condition_fires_on_the_score_and_names_the_channel(
        banned: list[Fingerprint]) -> None:
    found = compare(Traits("sunrise_bulletin", "Dawn Front Media (backup)", DESCRIPTION),
                    banned[0])
    facts = Facts(Surface.CHANNEL_HANDLE, Subject("7"), "cause", resemblance=found)
    outcome = evaluate(default_ruleset(), facts)
    assert outcome.verdict is Verdict.HOLD and "returning-channel-hold" in outcome.fired
    weak = compare(Traits("sunrise_bulletin", "Dawn Front Media"), banned[0])
    assert evaluate(default_ruleset(), Facts(Surface.CHANNEL_HANDLE, Subject("7"), "c",
                                             resemblance=weak)).verdict is Verdict.ALLOW
    strict = load_ruleset('version = 1\n[[rule]]\nname = "r"\n'
                          'when.resembles_banned_channel.min_score = 30\n'
                          'when.resembles_banned_channel.labels = ["spam"]\nthen = ["hold"]\n')
    assert evaluate(strict, facts).verdict is Verdict.ALLOW  # the ground is not spam
    for bad, key in (('when.resembles_banned_channel = {min_score = 5, labels = ["x"]}',
                      "labels"),
                     ("when.resembles_banned_channel.min_score = 0", "min_score"),
                     ("when.resembles_banned_channel.max = 3", "max")):
        with pytest.raises(RuleError) as err:
            load_ruleset(f'version = 1\n[[rule]]\nname = "r"\n{bad}\nthen = ["hold"]\n')
        assert key in err.value.key


def test_short_names_count_only_when_equal() -> None:
    fp = Fingerprint(9, "chan_a", "Chan A")
    assert compare(Traits("chan_b", "Chan B"), fp).signals == ()
    assert {s.signal for s in compare(Traits("chan_a2", "Chan A"), fp).signals} == {
        "handle", "title"}
