"""Text and URL matching under evasion, on real text: recall per transformation and
false matches on an innocent corpus in English and Arabic (issue 18, items 4 and 5).

Real text, read at run time from what this machine already has (nothing is
downloaded, nothing is vendored):

* English prose: the Python reference documentation that ships with CPython
  (``pydoc_data.topics``, PSF licence), split into paragraphs;
* English and Arabic strings: every message of the Arabic translation catalogues
  installed by Debian packages (``/usr/share/locale/ar/LC_MESSAGES/*.mo``): the
  ``msgid`` is the English original, the ``msgstr`` its Arabic translation;
* URLs: every project URL in the metadata of the installed Python distributions.

The bank holds ``--bank`` long texts (half English paragraphs, half Arabic
strings of >= 80 characters), ``--slogans`` short strings banked as slogans, and
``--urls`` URLs. Each banked text is attacked with every transformation (random
parameters, seeded); every other corpus item, and posts made of 2-5 random
corpus items, are queried as innocent text. An item that really contains a
banked text is not innocent (the corpus repeats itself: a paragraph in two
documentation topics, a message in two catalogues, templated messages that
differ in a word): a match on an item that shares >= 50 % of the banked
text's compact form in common blocks of >= 12 characters (difflib) is counted
as a copy and reported apart, with the first few printed.

    PYTHONPATH=src python benchmarks/text_matching.py
    PYTHONPATH=src python benchmarks/text_matching.py --bank 400 --seed 2
"""

from __future__ import annotations

import argparse
import difflib
import gettext
import glob
import importlib.metadata
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command, result
from tidings.moderation import Matcher, TextContent, UrlContent, signals_for
from tidings.moderation.errors import ModerationError
from tidings.moderation.manifest import validate_value
from tidings.moderation.text_signals import bank_text_signals
from tidings.moderation.textforms import compact_form

ARABIC = re.compile(r"[\u0600-\u06ff]")
HOMOGLYPHS = {"a": "аɑα", "c": "сϲ", "e": "еҽ", "i": "іɩι", "o": "оοσ", "p": "рρ", "s": "ѕ",
              "x": "хχ", "y": "уγ", "j": "ј", "h": "һ", "d": "ԁ", "k": "κ", "n": "ո",
              "\u0643": "\u06a9", "\u064a": "\u06cc", "\u0647": "\u06c1"}
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7+", "b": "8", "g": "9"}
FILLERS = ["\u3164", "\u2800", "\u115f", "\uffa0", "\u200b", "\u2060", "\ufe0f", "\u00ad",
           "\u034f", "\u180e", "\U000e0020"]
EMOJI = ["🔥", "💣", "⚔️", "🏴", "🕌", "✊", "💥", "👇", "🙏", "❤️"]
HARAKAT = ["\u064e", "\u064f", "\u0650", "\u0651", "\u0652", "\u064b"]


# --- corpora --------------------------------------------------------------------


def english_paragraphs() -> list[str]:
    import pydoc_data.topics as topics

    seen: dict[str, None] = {}
    for text in topics.topics.values():
        for para in re.split(r"\n\s*\n", text):
            para = " ".join(para.split())
            if 80 <= len(para) <= 1500 and not para.startswith((">>>", "...")):
                seen.setdefault(para, None)
    return list(seen)


def catalogue_strings() -> tuple[list[str], list[str]]:
    english: dict[str, None] = {}
    arabic: dict[str, None] = {}
    for path in sorted(glob.glob("/usr/share/locale/ar/LC_MESSAGES/*.mo")):
        with open(path, "rb") as fh:
            try:
                catalogue = gettext.GNUTranslations(fh)
            except (OSError, UnicodeDecodeError):
                continue
        for key, value in catalogue._catalog.items():  # type: ignore[attr-defined]
            msgid = key[0] if isinstance(key, tuple) else key
            for text, bucket in ((msgid, english), (value, arabic)):
                text = " ".join(str(text).split())
                if len(text) >= 8 and (bucket is english or ARABIC.search(text)):
                    bucket.setdefault(text, None)
    return list(english), list(arabic)


def installed_urls() -> list[str]:
    urls: dict[str, None] = {}
    for dist in importlib.metadata.distributions():
        for field in ("Home-page", "Download-URL"):
            value = dist.metadata.get(field)
            if value and value.startswith("http"):
                urls.setdefault(value.strip(), None)
        for line in dist.metadata.get_all("Project-URL") or []:
            value = line.split(",", 1)[-1].strip()
            if value.startswith("http"):
                urls.setdefault(value, None)
    return list(urls)


# --- transformations ------------------------------------------------------------


def homoglyphs(t: str, r: random.Random) -> str:
    return "".join(r.choice(HOMOGLYPHS[c]) if c in HOMOGLYPHS and r.random() < 0.6 else c
                   for c in t)


def leet(t: str, r: random.Random) -> str:
    return "".join(r.choice(LEET[c]) if c in LEET and r.random() < 0.7 else c for c in t)


def spaced(t: str, sep: str) -> str:
    return "  ".join(sep.join(w) for w in t.split())


def fillers(t: str, r: random.Random) -> str:
    words = t.split()
    return "".join(w + (r.choice(FILLERS) if r.random() < 0.5 else " ") for w in words)


def keycaps(t: str, r: random.Random) -> str:
    return "".join(c + "\u20e3" if c.isalpha() and r.random() < 0.5 else c for c in t)


def emoji(t: str, r: random.Random) -> str:
    return " ".join(w + (f" {r.choice(EMOJI)}" if r.random() < 0.4 else "") for w in t.split())


def harakat(t: str, r: random.Random) -> str:
    return "".join(c + r.choice(HARAKAT) if ARABIC.match(c) and r.random() < 0.4 else c
                   for c in t)


def quote(t: str, r: random.Random, fraction: float) -> str:
    words = t.split()
    n = max(1, round(len(words) * fraction))
    start = r.randrange(0, len(words) - n + 1)
    return " ".join(words[start:start + n])


def combined(t: str, r: random.Random) -> str:
    return emoji(fillers(homoglyphs(t, r), r), r)


TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "identical": lambda t, r: t,
    "homoglyphs (60 % of letters)": homoglyphs,
    "leetspeak (70 % of letters)": leet,
    "spaces between letters": lambda t, r: spaced(t, " "),
    "dots between letters": lambda t, r: spaced(t, "."),
    "spaces removed": lambda t, r: t.replace(" ", ""),
    "invisible fillers (U+3164, U+2800, ...)": fillers,
    "enclosing keycaps U+20E3": keycaps,
    "emoji between words": emoji,
    "diacritics / harakat": harakat,
    "homoglyphs + fillers + emoji": combined,
    "partial quote 60 %": lambda t, r: quote(t, r, 0.6),
    "partial quote 70 %": lambda t, r: quote(t, r, 0.7),
    "60 % quote inside commentary": lambda t, r: quote(t, r, 0.6),  # wrapped below
}


# --- measurement ------------------------------------------------------------------


def quoted_share(post: str, banked_compact: str) -> float:
    """Share of a banked text's compact form found in the post in common blocks of
    >= 12 characters (difflib): the ground truth the quote matcher estimates."""
    if not banked_compact:
        return 0.0
    m = difflib.SequenceMatcher(None, compact_form(post), banked_compact, autojunk=False)
    common = sum(b.size for b in m.get_matching_blocks() if b.size >= 12)
    return common / len(banked_compact)


#: A post that shares at least this much of a banked text is a (partial) copy of it,
#: not an innocent text, whatever else it says.
COPY_SHARE = 0.5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bank", type=int, default=200, help="long texts banked")
    ap.add_argument("--slogans", type=int, default=100, help="short texts banked as slogans")
    ap.add_argument("--urls", type=int, default=100, help="URLs banked")
    ap.add_argument("--posts", type=int, default=5000, help="innocent multi-item posts")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    command()
    rng = random.Random(args.seed)

    paragraphs = english_paragraphs()
    en_strings, ar_strings = catalogue_strings()
    urls = installed_urls()
    print(f"corpus: {len(paragraphs)} English paragraphs (pydoc_data), "
          f"{len(en_strings)} English and {len(ar_strings)} Arabic catalogue strings "
          f"(/usr/share/locale/ar), {len(urls)} URLs (installed distributions)")

    long_en = [p for p in paragraphs if len(p) >= 150]
    long_ar = [s for s in ar_strings if len(s) >= 80]
    banked = rng.sample(long_en, args.bank // 2) + rng.sample(long_ar, min(len(long_ar),
                                                                            args.bank // 2))
    slogan_pool = [s for s in en_strings + ar_strings
                   if 12 <= len(compact_form(s)) <= 40 and len(s.split()) >= 3]
    slogans = rng.sample(slogan_pool, args.slogans)
    banked_urls = rng.sample(urls, min(args.urls, len(urls)))

    matcher = Matcher()
    entry_text: dict[int, int] = {}
    next_id = 0
    for i, text in enumerate(banked):
        for signal_type, value in bank_text_signals(text):
            matcher.add(next_id, signal_type, value, "BENCH")
            entry_text[next_id] = i
            next_id += 1
    slogan_of: dict[int, int] = {}
    for i, text in enumerate(slogans):
        for signal_type, value in bank_text_signals(text, slogan=True):
            matcher.add(next_id, signal_type, value, "SLOGANS")
            slogan_of[next_id] = i
            next_id += 1
    url_of: dict[int, int] = {}
    for i, url in enumerate(banked_urls):
        matcher.add(next_id, "url", validate_value("url", url), "URLS")
        url_of[next_id] = i
        next_id += 1
    print(f"bank: {len(banked)} texts, {len(slogans)} slogans, {len(banked_urls)} URLs "
          f"= {len(matcher)} entries")

    def hits(text: str) -> list[int]:
        return [m.entry_id for m in matcher.query(signals_for(TextContent(text)))]

    # Recall per transformation ---------------------------------------------------
    print("\nrecall (a banked text, transformed, posted alone):")
    filler_pool = [p for p in paragraphs if p not in set(banked)]
    for name, fn in TRANSFORMS.items():
        caught = 0
        for i, text in enumerate(banked):
            variant = fn(text, rng)
            if name.endswith("inside commentary"):
                variant = f"{rng.choice(filler_pool)} \"{variant}\" {rng.choice(filler_pool)}"
            caught += any(entry_text.get(e) == i for e in hits(variant))
        rate = 100 * caught / len(banked)
        print(f"  {name:42s} {rate:6.1f} %  ({caught}/{len(banked)})")
        result(f"text recall: {name}", round(rate, 1), "%", ">= 99 %" if "quote" not in name
               else ">= 90 %")

    print("\nshort texts (< 40 characters, banked without --slogan), evaded, posted alone:")
    shorts = rng.sample([s for s in en_strings if 12 <= len(s) < 40], 100)
    short_matcher = Matcher()
    for i, s in enumerate(shorts):
        for j, (signal_type, value) in enumerate(bank_text_signals(s)):
            short_matcher.add(i * 10 + j, signal_type, value, "SHORT")
    for name in ("homoglyphs (60 % of letters)", "leetspeak (70 % of letters)",
                 "spaces between letters", "invisible fillers (U+3164, U+2800, ...)",
                 "emoji between words"):
        caught = sum(any(m.entry_id // 10 == i for m in short_matcher.query(
            signals_for(TextContent(TRANSFORMS[name](s, rng))))) for i, s in enumerate(shorts))
        print(f"  {name:42s} {caught:6d} %")
        result(f"short text recall: {name}", caught, "%", ">= 99 %")

    print("\nslogans inside longer posts (held for review by the default rules):")
    for name in ("identical", "homoglyphs (60 % of letters)", "leetspeak (70 % of letters)",
                 "spaces between letters", "emoji between words"):
        caught = 0
        for i, s in enumerate(slogans):
            post = f"{rng.choice(filler_pool)} {TRANSFORMS[name](s, rng)} {rng.choice(en_strings)}"
            caught += any(slogan_of.get(e) == i for e in hits(post))
        rate = 100 * caught / len(slogans)
        print(f"  {name:42s} {rate:6.1f} %")
        result(f"slogan-in-post recall: {name}", round(rate, 1), "%", ">= 99 %")

    # False matches ----------------------------------------------------------------
    banked_set = set(banked) | set(slogans)
    text_of: dict[int, str] = {e: banked[i] for e, i in entry_text.items()}
    text_of.update({e: slogans[i] for e, i in slogan_of.items()})
    innocent: list[tuple[str, str]] = [("English paragraph", p) for p in paragraphs
                                       if p not in banked_set]
    innocent += [("English string", s) for s in en_strings if s not in banked_set]
    innocent += [("Arabic string", s) for s in ar_strings if s not in banked_set]
    pool = paragraphs + en_strings + ar_strings
    for _ in range(args.posts):
        parts = [rng.choice(pool) for _ in range(rng.randint(2, 5))]
        text = " ".join(parts)[:4096]
        if not banked_set & set(parts):
            innocent.append(("post of 2-5 items", text))
    by_kind: dict[str, list[int]] = {}
    copies = false = 0
    false_by_type: dict[str, int] = {}
    times: list[float] = []
    for kind, text in innocent:
        start = time.perf_counter()
        matches = matcher.query(signals_for(TextContent(text)))
        times.append(time.perf_counter() - start)
        counts = by_kind.setdefault(kind, [0, 0, 0])
        counts[0] += 1
        text_matches = [m for m in matches if m.signal_type != "url"]
        if not text_matches:
            continue
        shares = [quoted_share(text, compact_form(text_of[m.entry_id])) for m in text_matches]
        if max(shares) >= COPY_SHARE:
            copies += 1
            counts[1] += 1
            if copies <= 5:
                m = text_matches[shares.index(max(shares))]
                print(f"  copy in the corpus ({max(shares):.0%} of a banked text, "
                      f"{m.signal_type} d={m.distance}): {text[:70]!r} ~ "
                      f"{text_of[m.entry_id][:70]!r}")
            continue
        false += 1
        counts[2] += 1
        for m in text_matches:
            false_by_type[m.signal_type] = false_by_type.get(m.signal_type, 0) + 1
        m = text_matches[0]
        print(f"  FALSE MATCH {kind} ({max(shares):.0%} shared, {m.signal_type} "
              f"d={m.distance}): {text[:80]!r} ~ {text_of[m.entry_id][:80]!r}")
    print(f"\nfalse matches on innocent text (a match on a text sharing >= "
          f"{COPY_SHARE:.0%} of the banked text is a copy, not false):")
    for kind, (n, c, f) in by_kind.items():
        print(f"  {kind:22s} {n:7d} queried, {c:4d} copies in the corpus, {f} false")
    print(f"  total {len(innocent)} queried, {copies} copies, {false} false "
          f"{false_by_type or ''}")
    result("text false matches", false, "count", "0")
    result("innocent texts queried", len(innocent), "count", "")
    times.sort()
    p50 = statistics.median(times) * 1e3
    p99 = times[int(len(times) * 0.99)] * 1e3
    print(f"  query time (signals + match) p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    result("text query p50", round(p50, 2), "ms", "")
    result("text query p99", round(p99, 2), "ms", "")

    # URLs ---------------------------------------------------------------------------
    def url_variants(u: str) -> dict[str, str]:
        scheme, _, rest = u.partition("://")
        host, slash, path = rest.partition("/")
        path = slash + path
        esc = "".join(f"%{ord(c):02x}" if c.isalnum() and rng.random() < 0.3 else c
                      for c in path)
        return {
            "identical": u,
            "www.": f"{scheme}://www.{host}{path}",
            "m.": f"{scheme}://m.{host}{path}",
            "upper-case host, http": f"http://{host.upper()}{path}",
            "percent-encoded path": f"{scheme}://{host}{esc}",
            "duplicate slashes": f"{scheme}://{host}/{path.replace('/', '//')}",
            "dot segments": f"{scheme}://{host}/./x/..{path}",
            "scheme-less in text": f"look at {host}{path} today",
            "defanged": f"hxxps://{host.replace('.', '[.]')}{path}",
            "tracking parameters": f"{u}{'&' if '?' in u else '?'}utm_source=x&fbclid=1",
        }

    print("\nURL recall (a banked URL, rewritten, posted in a text):")
    url_rates: dict[str, list[int]] = {}
    for i, u in enumerate(banked_urls):
        for name, variant in url_variants(u).items():
            got = [m.entry_id for m in matcher.query(signals_for(TextContent(variant)))]
            url_rates.setdefault(name, []).append(any(url_of.get(e) == i for e in got))
    for name, oks in url_rates.items():
        rate = 100 * sum(oks) / len(oks)
        print(f"  {name:42s} {rate:6.1f} %")
        result(f"url recall: {name}", round(rate, 1), "%", ">= 99 %")
    banked_norm = {validate_value("url", u) for u in banked_urls}
    url_false = 0
    for u in urls:
        try:
            norm = validate_value("url", u)
        except ModerationError:
            continue
        if norm in banked_norm:
            continue
        if any(m.signal_type == "url" for m in matcher.query(signals_for(UrlContent(u)))):
            url_false += 1
            print(f"  URL FALSE MATCH {u}")
    print(f"URL false matches: {url_false} of {len(urls) - len(banked_urls)} unbanked URLs")
    result("url false matches", url_false, "count", "0")
    schemeless = sum(len([s for s in signals_for(TextContent(p)) if s.signal_type == "url"])
                     for p in paragraphs if "://" not in p and "www." not in p)
    print(f"links extracted from {len(paragraphs)} documentation paragraphs without a "
          f"scheme or www.: {schemeless} (e.g. 'setup.py' is not one)")
    result("scheme-less links found in prose without links", schemeless, "count", "")


if __name__ == "__main__":
    main()
