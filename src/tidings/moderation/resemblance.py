"""How much a channel resembles a banned one: a score from the signals that matched.

Issue 24. The people behind a banned channel come back with a new account, a handle
variant, the same or a lightly edited title and description, the same avatar
re-encoded and the same "backup channel" links. No one of those is proof (titles
share words, avatars are logos, handles are short), so each signal that matches adds
its weight and the rules decide on the sum (``when.resembles_banned_channel``,
docs/rules.md). The weights are chosen so that **one** signal never reaches the
default hold threshold (50) except an identifying link, and any two do:

=============  ======  ===================================================================
signal         weight  matches when
=============  ======  ===================================================================
handle           25    the handles' lookalike cores (UTS #39 key without digits and
                       ``_``) are within 20 % edit distance (equal, under 6 characters)
title            30    the titles' keys are within 25 % edit distance (equal, under 6
                       characters), or one contains the other (at least 8 characters):
                       "… (backup)", "✓"
description      30    character 5-shingle Jaccard of the normalised texts >= 0.5
avatar           40    PDQ distance <= 31 between any of the avatars' hashes (the query
                       side's variants included, so a re-encode or small crop matches)
media            40    a first post's picture is within PDQ 31 of the banned channel's
                       removed or adjudicated media
link             50    the text names the banned channel (``@handle``, ``/c/handle``,
                       ``t.me/handle``, a look-alike of the handle), carries its invite
                       token, or links to a domain only the banned channel used: it
                       *identifies* that channel
=============  ======  ===================================================================

The innocent-name rate is measured over 1,500 real package names and summaries
(``tests/moderation/test_resemblance.py``; docs/rules.md has the figure). Pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Final

from tidings.moderation.limits import PDQ_DEFAULT_THRESHOLD
from tidings.moderation.minhash import shingles
from tidings.moderation.normalize import normalize_text
from tidings.moderation.urls import extract_urls, host_of, registrable_domain
from tidings.protocol.confusables import handle_key

HANDLE_WEIGHT: Final = 25
TITLE_WEIGHT: Final = 30
DESCRIPTION_WEIGHT: Final = 30
AVATAR_WEIGHT: Final = 40
MEDIA_WEIGHT: Final = 40
LINK_WEIGHT: Final = 50
#: Similarity (1 - edit distance / length) at or above which two handle cores match.
HANDLE_MIN_SIMILARITY: Final = 0.8
TITLE_MIN_SIMILARITY: Final = 0.75
#: Handle cores and title keys shorter than this are compared for equality only.
FUZZY_MIN_CHARS: Final = 6
#: A title key contained in the other counts only from this length ("news" does not).
TITLE_CONTAINED_MIN: Final = 8
DESCRIPTION_MIN_JACCARD: Final = 0.5
#: Descriptions shorter than this (normalised) are not compared: too little to say.
DESCRIPTION_MIN_CHARS: Final = 24
PDQ_MAX_DISTANCE: Final = PDQ_DEFAULT_THRESHOLD
#: A score at or above this holds by default (``data/default_rules.toml``).
DEFAULT_HOLD_SCORE: Final = 50
_NOISE = re.compile(r"[0-9_]+")
#: A channel mention: ``@x``, a channel path ``/c/x``, or a Telegram-style ``t.me/x``.
#: Letters of any script, so a confusable handle (Cyrillic ``а``) is still read whole.
_MENTION = re.compile(r"(?:@|/c/|\b(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?)(\w{3,64})")
#: Domains everyone links to (news, social networks, video, shorteners, file hosts):
#: never a banned channel's own, even when no other channel here happened to use them.
COMMON_DOMAINS_RESOURCE: Final = "data/common_domains.txt"
#: At most this many of a banned channel's own domains are kept, out of at most this
#: many candidates (each is looked up in the other channels' posts once, at the ban).
MAX_OWN_DOMAINS: Final = 20
MAX_CANDIDATE_DOMAINS: Final = 100


@dataclass(frozen=True, slots=True)
class Traits:
    """What a channel (or a post in its first days) shows: the comparable part."""

    handle: str = ""
    title: str = ""
    description: str = ""
    avatar_pdq: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    """Other text it carries (first posts): searched for identifying links."""
    media_pdq: tuple[str, ...] = ()
    """PDQ of pictures in its first posts."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A banned channel as it was, kept to recognise it when it comes back."""

    channel_id: int
    handle: str
    title: str
    description: str = ""
    avatar_pdq: tuple[str, ...] = ()
    media_pdq: tuple[str, ...] = ()
    invite_tokens: tuple[str, ...] = ()
    label: str = ""
    """The ground of the ban (``category:terrorist_content``)."""
    domains: tuple[str, ...] = ()
    """Registrable domains only this channel linked to (``own_domains``)."""


@dataclass(frozen=True, slots=True)
class SignalMatch:
    signal: str
    weight: int
    similarity: float | None = None
    distance: int | None = None
    detail: str = ""

    def json(self) -> dict[str, object]:
        out: dict[str, object] = {"signal": self.signal, "weight": self.weight}
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 3)
        if self.distance is not None:
            out["distance"] = self.distance
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class Resemblance:
    """The banned channel a channel resembles most, and why."""

    channel_id: int
    handle: str
    label: str
    signals: tuple[SignalMatch, ...] = field(default=())

    @property
    def score(self) -> int:
        return sum(s.weight for s in self.signals)

    def json(self) -> dict[str, object]:
        return {"channel_id": self.channel_id, "handle": self.handle, "label": self.label,
                "score": self.score, "signals": [s.json() for s in self.signals]}


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0: equal)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def _bounded(a: str, b: str, floor: float) -> float:
    """``edit_similarity``, skipped (0.0) when the lengths alone keep it under ``floor``
    (the distance is at least the difference of the lengths). Keys shorter than
    ``FUZZY_MIN_CHARS`` count only when equal: one letter of five is no resemblance
    ("chan_a" and "chan_b")."""
    if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < floor:
        return 0.0
    if min(len(a), len(b)) < FUZZY_MIN_CHARS:
        return 1.0 if a == b else 0.0
    return edit_similarity(a, b)


@lru_cache(maxsize=8192)
def handle_core(handle: str) -> str:
    """A handle's lookalike core: the UTS #39 key without digits and ``_``."""
    return _NOISE.sub("", handle_key(handle))


@lru_cache(maxsize=8192)
def _title_key(title: str) -> str:
    return handle_key(title)


@lru_cache(maxsize=4096)
def _shingles(text: str) -> frozenset[str]:
    normalized = normalize_text(text)
    if len(normalized) < DESCRIPTION_MIN_CHARS:
        return frozenset()
    return frozenset(shingles(normalized))


def handle_similarity(a: str, b: str) -> float:
    return _bounded(handle_core(a), handle_core(b), HANDLE_MIN_SIMILARITY)


def title_similarity(a: str, b: str) -> float:
    ka, kb = _title_key(a), _title_key(b)
    short, long = sorted((ka, kb), key=len)
    if len(short) >= TITLE_CONTAINED_MIN and short in long:
        return max(0.9, _bounded(ka, kb, 0.9))
    return _bounded(ka, kb, TITLE_MIN_SIMILARITY)


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character 5-shingles of the normalised texts (0.0 for
    texts too short to compare)."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def pdq_distance(a: Iterable[str], b: Iterable[str]) -> int | None:
    """The smallest Hamming distance between any two of the PDQ hashes (hex)."""
    ints_b = [int(h, 16) for h in b]
    best: int | None = None
    for h in a:
        x = int(h, 16)
        for y in ints_b:
            d = (x ^ y).bit_count()
            if best is None or d < best:
                best = d
    return best


@lru_cache(maxsize=1024)
def _mentions(text: str) -> tuple[tuple[str, str], ...]:
    """The channel mentions in a text (``@x``, ``/c/x``): (handle, look-alike core)."""
    found = dict.fromkeys(m.lower() for m in _MENTION.findall(text) if m.strip("_"))
    return tuple((m, handle_core(m)) for m in found)


@cache
def common_domains() -> frozenset[str]:
    """The bundled list of common domains (one a line, ``#`` comments)."""
    text = resources.files("tidings.moderation").joinpath(COMMON_DOMAINS_RESOURCE
                                                          ).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1024)
def link_domains(text: str) -> frozenset[str]:
    """The registrable domains of the links in a text (``news.example.org/x`` ->
    ``example.org``), as the URL bank normalises them."""
    found = (registrable_domain(host_of(url)) for url in extract_urls(text))
    return frozenset(d for d in found if d)


def candidate_domains(texts: Iterable[str]) -> list[str]:
    """The domains a channel linked to that could be its own: every registrable domain
    in its texts except the common ones, the most linked first (at most
    ``MAX_CANDIDATE_DOMAINS``). Whether another channel used them too is the caller's
    question (``services/returning.py``)."""
    common = common_domains()
    counts = Counter(d for text in texts for d in link_domains(text) if d not in common)
    ranked = sorted(counts, key=lambda d: (-counts[d], d))
    return ranked[:MAX_CANDIDATE_DOMAINS]


def names_channel(text: str, fingerprint: Fingerprint) -> str | None:
    """Does the text identify the banned channel: its handle as a mention or channel
    path, its invite token, or a link to a domain only it used? Returns what was found.
    Plain words do not count."""
    handle = fingerprint.handle.lower()
    if any(m == handle for m, _ in _mentions(text)):
        return f"@{fingerprint.handle}"
    for token in fingerprint.invite_tokens:
        if token and token in text:
            return "invite link"
    if fingerprint.domains:
        shared = link_domains(text) & set(fingerprint.domains)
        if shared:
            return f"domain {min(shared)}"
    return None


def names_lookalike(text: str, fingerprint: Fingerprint) -> str | None:
    """A mention (``@x``, ``/c/x``) whose handle is a look-alike of the banned one."""
    core = handle_core(fingerprint.handle)
    for mention, mention_core in _mentions(text):
        if mention != fingerprint.handle.lower() and core and (
                _bounded(mention_core, core, HANDLE_MIN_SIMILARITY) >= HANDLE_MIN_SIMILARITY):
            return f"@{mention}"
    return None


def compare(traits: Traits, fingerprint: Fingerprint) -> Resemblance:
    """Every signal of ``traits`` that matches ``fingerprint``, with its weight."""
    found: list[SignalMatch] = []
    if traits.handle:
        s = handle_similarity(traits.handle, fingerprint.handle)
        if s >= HANDLE_MIN_SIMILARITY:
            found.append(SignalMatch("handle", HANDLE_WEIGHT, similarity=s))
    if traits.title:
        s = title_similarity(traits.title, fingerprint.title)
        if s >= TITLE_MIN_SIMILARITY:
            found.append(SignalMatch("title", TITLE_WEIGHT, similarity=s))
    if traits.description and fingerprint.description:
        s = text_similarity(traits.description, fingerprint.description)
        if s >= DESCRIPTION_MIN_JACCARD:
            found.append(SignalMatch("description", DESCRIPTION_WEIGHT, similarity=s))
    if traits.avatar_pdq and fingerprint.avatar_pdq:
        d = pdq_distance(traits.avatar_pdq, fingerprint.avatar_pdq)
        if d is not None and d <= PDQ_MAX_DISTANCE:
            found.append(SignalMatch("avatar", AVATAR_WEIGHT, distance=d))
    if traits.media_pdq and (fingerprint.media_pdq or fingerprint.avatar_pdq):
        d = pdq_distance(traits.media_pdq, (*fingerprint.media_pdq, *fingerprint.avatar_pdq))
        if d is not None and d <= PDQ_MAX_DISTANCE:
            found.append(SignalMatch("media", MEDIA_WEIGHT, distance=d))
    for text in (traits.description, *traits.texts):
        named = names_channel(text, fingerprint) or names_lookalike(text, fingerprint)
        if named:
            found.append(SignalMatch("link", LINK_WEIGHT, detail=named))
            break
    return Resemblance(fingerprint.channel_id, fingerprint.handle, fingerprint.label,
                       tuple(found))


def closest(traits: Traits, fingerprints: Sequence[Fingerprint],
            exclude: int | None = None) -> Resemblance | None:
    """The banned channel ``traits`` resembles most (highest score), or None when no
    signal matches any. ``exclude``: the channel itself (an edit of a banned one)."""
    best: Resemblance | None = None
    for fingerprint in fingerprints:
        if fingerprint.channel_id == exclude:
            continue
        found = compare(traits, fingerprint)
        if found.signals and (best is None or found.score > best.score):
            best = found
    return best
