"""Slogan index: short banked texts found *inside* longer posts.

A slogan is too short for shingle statistics (a 20-character phrase has a
handful of 12-character shingles), so it is matched as a substring of the
post's compact form (letters and digits only, confusables and leetspeak
folded; ``textforms``). Entries store the slogan's normalised text, readable
by moderators; the index keeps its compact forms, keyed by their first
``ANCHOR`` characters, so a query costs one dict lookup per position of the
post, whatever the bank's size.

Only entries that opt in are slogans (``bank add --text ... --slogan``): news
reports and condemnations quote slogans, so the default rules hold these
matches for review instead of rejecting (docs/moderation.md).
"""

import json

from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.indexes.quote import QUERY_PREFIX
from tidings.moderation.limits import TEXT_SLOGAN_MIN_CHARS
from tidings.moderation.textforms import forms

_MAGIC = b"TSLO"
#: Characters of a compact slogan used as its lookup key (< the minimum length).
ANCHOR = 8
assert ANCHOR <= TEXT_SLOGAN_MIN_CHARS


class SloganIndex(MatchIndex):
    """Compact slogan forms by anchor; distance is always 0 (a substring)."""

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[int, str] = {}
        self._anchors: dict[str, list[tuple[str, int]]] = {}
        self._disabled: set[int] = set()

    def __len__(self) -> int:
        return len(self._values)

    def add(self, signal_str: str, entry: int) -> None:
        self._values[entry] = signal_str
        for form in forms(signal_str):
            if len(form) >= TEXT_SLOGAN_MIN_CHARS:
                self._anchors.setdefault(form[:ANCHOR], []).append((form, entry))

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        if signal_str.startswith(QUERY_PREFIX):
            haystacks: tuple[str, ...] = (signal_str[len(QUERY_PREFIX) :],)
        else:
            haystacks = forms(signal_str)
        found: set[int] = set()
        for hay in haystacks:
            for i in range(len(hay) - ANCHOR + 1):
                for form, entry in self._anchors.get(hay[i : i + ANCHOR], ()):
                    if entry not in self._disabled and hay.startswith(form, i):
                        found.add(entry)
        return [IndexHit(e, 0) for e in sorted(found)]

    def to_bytes(self) -> bytes:
        body = json.dumps(
            {"values": {str(k): v for k, v in self._values.items()},
             "disabled": sorted(self._disabled)},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return pack(_MAGIC, INDEX_FORMAT_VERSION, [body])

    @classmethod
    def from_bytes(cls, data: bytes) -> "SloganIndex":
        (body,) = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 1)
        try:
            parsed = json.loads(body)
            values = {int(k): str(v) for k, v in parsed["values"].items()}
            disabled = {int(i) for i in parsed["disabled"]}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptIndexError("unreadable slogan index") from exc
        index = cls()
        for entry, value in values.items():
            index.add(value, entry)
        index._disabled = disabled
        return index
