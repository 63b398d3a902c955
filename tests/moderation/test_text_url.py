"""Text and URL normalisation, near-duplicate recall and false matches."""

import random

import pytest

from tidings.moderation import Matcher, Signal, TextContent, UrlContent, signals_for
from tidings.moderation.normalize import normalize_text, normalize_url
from tidings.moderation.text_signals import bank_text_signals

BASE = [
    "Brothers, the hour has come: join the caravan at the northern gate before dawn and bring "
    f"nothing but your resolve. Message {i} of the series, share it before it is deleted."
    for i in range(20)
]


def edits(text: str, rng: random.Random) -> dict[str, str]:
    words = text.split()
    swapped = words.copy()
    i = rng.randrange(len(words))
    swapped[i] = "REDACTED"
    return {
        "upper": text.upper(),
        "zero_width": "\u200b".join(text[:40]) + text[40:],
        "diacritics": text.replace("e", "é").replace("a", "à"),
        "one_word": " ".join(swapped),
        "drop_sentence_end": text.rsplit(".", 2)[0] + ".",
        "extra_spaces": text.replace(" ", "   "),
    }


def test_normalisation_rules() -> None:
    assert normalize_text("Ｈｅｌｌｏ\u200d  Wörld\u2066") == "hello world"
    assert normalize_text("أإآٱ ى ة ؤ ئ كـــتب مُحَمَّد") == "اااا ي ه و ي كتب محمد"
    assert normalize_url("HTTP://User@Пример.РФ:80/a/?utm_source=x&b=2&a=1#f") == (
        "https://xn--e1afmkfd.xn--p1ai/a?a=1&b=2"
    )
    assert normalize_url("example.com:443/x/") == "https://example.com/x"
    assert normalize_url("https://example.com:8443") == "https://example.com:8443"


def test_text_recall_and_false_matches() -> None:
    rng = random.Random(7)
    matcher = Matcher()
    for i, text in enumerate(BASE):
        for j, (signal_type, value) in enumerate(bank_text_signals(text)):
            matcher.add(i * 10 + j, signal_type, value, "TERROR_TEXT")
    caught: dict[str, int] = {}
    for i, text in enumerate(BASE):
        for name, variant in edits(text, rng).items():
            hits = matcher.query(signals_for(TextContent(variant)))
            caught[name] = caught.get(name, 0) + any(h.entry_id // 10 == i for h in hits)
    innocent = [
        f"The bakery at the northern gate opens before dawn; bring a basket, message {i}."
        f" Everyone in the series of {i} towns loves the bread and shares it widely."
        for i in range(200)
    ]
    false = sum(bool(matcher.query(signals_for(TextContent(t)))) for t in innocent)
    print(
        "\ntext recall:",
        {k: f"{v / len(BASE):.0%}" for k, v in caught.items()},
        f"false matches {false}/{len(innocent)}",
    )
    assert all(v == len(BASE) for v in caught.values()), caught
    assert false == 0


def test_arabic_variants_match_exactly() -> None:
    banked = "انضموا الى القافلة عند البوابة الشمالية قبل الفجر يا اخوة"
    variant = "اِنضمُّوا إلى القافلـــة عند البوّابة الشّمالية قبل الفجر يا أخوة"
    a = {s.value for s in signals_for(TextContent(banked)) if s.signal_type == "text_exact"}
    b = {s.value for s in signals_for(TextContent(variant)) if s.signal_type == "text_exact"}
    assert a == b


def test_url_variants_and_domains() -> None:
    matcher = Matcher()
    matcher.add(1, "url", "https://example.com/video/123", "TERROR_URLS")
    matcher.add(2, "url", "domain:bad.example", "TERROR_URLS")
    for variant in [
        "HTTPS://EXAMPLE.COM/video/123/",
        "http://example.com:80/video/123?utm_source=tw&utm_medium=x#t=3",
        "example.com/video/123",
    ]:
        assert [m.entry_id for m in matcher.query(signals_for(UrlContent(variant)))] == [1]
    text = "watch www.cdn.bad.example/x and https://bad.example. also https://notbad.example"
    assert {m.entry_id for m in matcher.query(signals_for(TextContent(text)))} == {2}
    assert matcher.query([Signal("url", normalize_url("https://example.com/video/124"))]) == []


def test_short_text_gets_no_near_signal() -> None:
    assert [s.signal_type for s in signals_for(TextContent("hi"))] == ["text_exact"]


@pytest.mark.parametrize("bad", ["ftp://x.org/a", "https://", "https://exa mple.com"])
def test_invalid_url_content(bad: str) -> None:
    from tidings.moderation.errors import InvalidSignalError

    with pytest.raises(InvalidSignalError):
        signals_for(UrlContent(bad))
