"""The pure cores of issue 18 items 4 and 5: compact text forms, quote and slogan
indexes, WHATWG-style URL normalisation and link extraction."""

from __future__ import annotations

import pytest

from tidings.moderation import Matcher, Signal
from tidings.moderation.errors import InvalidSignalError
from tidings.moderation.indexes.quote import QUERY_PREFIX, QuoteIndex
from tidings.moderation.indexes.slogan import SloganIndex
from tidings.moderation.manifest import validate_value
from tidings.moderation.text_signals import bank_text_signals, bankable, query_text_signals
from tidings.moderation.textforms import DEFAULT_IGNORABLE, compact_form, forms, leet_fold
from tidings.moderation.urls import extract_urls, normalize_domain_entry, normalize_url

PLAIN = "jointhecaravanatdawn"


@pytest.mark.parametrize("text", [
    "Join the caravan at dawn",
    "JOIN THE CARAVAN AT DAWN",
    "Јоіn thе саrаvаn аt dаwn",  # Cyrillic
    "Jοin the cαravαn αt dαwn",  # Greek
    "J o i n  t h e  c a r a v a n  a t  d a w n",
    "J.o.i.n t.h.e c.a.r.a.v.a.n a.t d.a.w.n",
    "Jointhecaravanatdawn",
    "Join\u3164the\u2800caravan\u115fat\uffa0dawn",
    "J\u20e3o\u20e3i\u20e3n the caravan at dawn",
    "Join 🔥 the 💣 caravan ⚔️ at dawn",
    "Jöin thé cáravan at dàwn",
    "Ｊｏｉｎ ｔｈｅ ｃａｒａｖａｎ ａｔ ｄａｗｎ",
    "Join\u200b the\u2060 caravan\ufe0f at\U000e0041 dawn\u00ad",
])
def test_evasions_fold_to_one_compact_form(text: str) -> None:
    assert forms(text)[0] == compact_form(PLAIN) == compact_form(text)


def test_every_default_ignorable_is_dropped() -> None:
    for lo, hi in DEFAULT_IGNORABLE:
        for cp in {lo, hi, (lo + hi) // 2}:
            assert compact_form(f"ab{chr(cp)}cd") == compact_form("abcd"), hex(cp)


def test_leetspeak_is_a_second_form_and_numbers_stay_numbers() -> None:
    assert forms("j01n th3 c4r4v4n @t d4wn!")[-1] == compact_form(PLAIN)
    assert forms("$h00t th3m 4ll")[-1] == compact_form("shoot them all")
    assert forms("k 1 l l  them")[-1] == compact_form("kill them")
    assert leet_fold("meet at 1488 or 2024, room 7") == "meet at 1488 or 2024, room 7"
    assert len(forms("Join the caravan at dawn")) == 1  # no leet, one form


def _quote_index(text: str) -> QuoteIndex:
    index = QuoteIndex()
    for i, (signal_type, value) in enumerate(bank_text_signals(text)):
        if signal_type == "text_quote":
            index.add(value, i)
    return index


BANKED = ("Brothers and sisters, the hour has come: leave your homes, join the caravan at "
          "the northern gate before dawn, bring nothing but your resolve, and strike the "
          "unbelievers wherever you find them. Share this message before it is deleted.")


def test_quote_index_measures_containment_and_survives_bytes() -> None:
    index = _quote_index(BANKED)
    words = BANKED.split()

    def distance(text: str, idx: QuoteIndex = index) -> int:
        hits = [h.distance for f in forms(text) for h in idx.search(QUERY_PREFIX + f, 64)]
        return min(hits, default=64)

    assert distance(BANKED) == 0
    assert distance("Look: " + BANKED + " Terrible, isn't it? Report it.") == 0
    assert distance(" ".join(words[:30])) <= 40  # ~75 % quote
    assert distance("The bakery at the northern gate opens before dawn.") > 40  # shares 2 of 64
    clone = QuoteIndex.from_bytes(index.to_bytes())
    assert distance(BANKED, clone) == 0
    entry = next(iter(clone._sigs))
    clone.disable(entry)
    assert distance(BANKED, clone) == 64
    clone.enable(entry)
    assert distance(BANKED, clone) == 0


def test_slogans_are_substrings_of_compact_forms_with_a_minimum() -> None:
    index = SloganIndex.build([("victory to the caravan", 1)])
    assert index.search(QUERY_PREFIX + compact_form("yes: V1CT0RY to the carav@n!"), 0) == []
    leet = forms("yes: V1CT0RY to the carav@n!")[-1]
    assert [h.entry_id for h in index.search(QUERY_PREFIX + leet, 0)] == [1]
    assert index.search(QUERY_PREFIX + compact_form("victory to the caravel"), 0) == []
    with pytest.raises(InvalidSignalError):
        validate_value("text_slogan", "allahu akbar")  # 11 letters: never a slogan
    with pytest.raises(InvalidSignalError):
        validate_value("text_slogan", QUERY_PREFIX + "aposttext")


def test_auto_banking_converts_query_signals() -> None:
    pairs = bankable(query_text_signals(BANKED))
    kinds = {t for t, _ in pairs}
    assert "text_slogan" not in kinds and {"text_exact", "text_quote"} <= kinds
    matcher = Matcher()
    for i, (signal_type, value) in enumerate(pairs):
        matcher.add(i, signal_type, value, "B")
    assert matcher.query(query_text_signals(BANKED.replace(" ", "  🔥 ")))


@pytest.mark.parametrize(("url", "want"), [
    ("HTTP://User@Пример.РФ:80/a/?utm_source=x&b=2&a=1#f", "https://xn--e1afmkfd.xn--p1ai/a?a=1&b=2"),
    ("https://www.bad.example/v/1", "https://bad.example/v/1"),
    ("https://m.bad.example/v/1", "https://bad.example/v/1"),
    ("https://www.m.bad.example/v/1", "https://bad.example/v/1"),
    ("https://bad.example/%76/%31", "https://bad.example/v/1"),
    ("https://bad.example//v//./1/", "https://bad.example/v/1"),
    ("https://bad.example/x/../v/%2e%2e/v/1", "https://bad.example/v/1"),
    ("hxxps://bad[.]example/v/1", "https://bad.example/v/1"),
    ("https://ｂａｄ。example/v/1", "https://bad.example/v/1"),
    ("https:\\\\bad.example\\v\\1", "https://bad.example/v/1"),
    ("  https://bad.exa\tmple/v/\n1 ", "https://bad.example/v/1"),
    ("//bad.example/v/1", "https://bad.example/v/1"),
    ("bad.example/v/1", "https://bad.example/v/1"),
    ("http://0x7f.1/x", "https://127.0.0.1/x"),
    ("http://2130706433", "https://127.0.0.1"),
    ("https://[0:0::1]:8080/x", "https://[::1]:8080/x"),
    ("https://straße.de/café", "https://xn--strae-oqa.de/caf%C3%A9"),
    ("https://bad.example/a%2fb", "https://bad.example/a%2Fb"),
    ("https://www.co.uk/x", "https://www.co.uk/x"),  # www. of a public suffix stays
])
def test_url_normalisation(url: str, want: str) -> None:
    assert normalize_url(url) == want


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.example/", "https://",
                                 "https://a..b/", "https://x.example:99999/"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidSignalError):
        normalize_url(url)


def test_domain_entries() -> None:
    assert normalize_domain_entry("domain:WWW.Evil-Archive.org.") == "domain:evil-archive.org"
    for bad in ("domain:co.uk", "domain:com", "domain:x.org/path", "domain:", "domain:a b"):
        with pytest.raises(InvalidSignalError):
            normalize_domain_entry(bad)
    matcher = Matcher()
    matcher.add(1, "url", "domain:evil-archive.org", "B")
    for text in ("https://cdn.evil-archive.org/x", "evil-archive.org", "m.evil-archive.org/a"):
        assert matcher.query([Signal("url", u) for u in extract_urls(text)]), text


def test_link_extraction() -> None:
    text = ("see bad-news.net/videos/123, setup.py and readme.md, evil.sh/x, www.site.py, "
            "e.g. i.e. 3.14 v1.2 press@mail.example.com hxxps://x[.]example[.]org/a "
            "host.example.co.uk. пример.рф/путь and https://bad-news.net/x/..")
    assert extract_urls(text) == [
        "https://bad-news.net/videos/123", "https://evil.sh/x", "https://site.py",
        "https://x.example.org/a", "https://host.example.co.uk",
        "https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C", "https://bad-news.net",
    ]
