"""Exact-match indexes on dicts: md5, sha256, text_exact, url (+ domains).

A dict of value -> ids is O(1) per query and needs no native code; the
values are already normalised by their signal type, so equality is the
whole match.
"""

import json
import typing as t

from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.normalize import DOMAIN_PREFIX, host_of, parent_domains

_MAGIC = b"TEXA"


class ExactIndex(MatchIndex):
    """value -> entry ids; distance is always 0."""

    def __init__(self) -> None:
        super().__init__()
        self._by_value: dict[str, list[int]] = {}
        self._disabled: set[int] = set()

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._by_value.values())

    def add(self, signal_str: str, entry: int) -> None:
        self._by_value.setdefault(signal_str, []).append(entry)

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def _lookup(self, key: str) -> list[IndexHit]:
        return [IndexHit(i, 0) for i in self._by_value.get(key, ()) if i not in self._disabled]

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        return self._lookup(signal_str)

    def to_bytes(self) -> bytes:
        body = json.dumps(
            {"values": self._by_value, "disabled": sorted(self._disabled)},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return pack(_MAGIC, INDEX_FORMAT_VERSION, [type(self).__name__.encode(), body])

    @classmethod
    def from_bytes(cls, data: bytes) -> t.Self:
        kind, body = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 2)
        if kind != cls.__name__.encode():
            raise CorruptIndexError(f"index is a {kind!r}, not {cls.__name__}")
        try:
            parsed = json.loads(body)
            values = {str(k): [int(i) for i in v] for k, v in parsed["values"].items()}
            disabled = {int(i) for i in parsed["disabled"]}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptIndexError("unreadable exact index") from exc
        index = cls()
        index._by_value = values
        index._disabled = disabled
        return index


class UrlIndex(ExactIndex):
    """Normalised URLs plus ``domain:<host>`` entries matching subdomains.

    A query URL is looked up as itself, then as ``domain:`` of its host and of
    every parent domain, so ``domain:example.com`` catches
    ``https://a.b.example.com/x``. Cost: one dict lookup per host label.
    """

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        if signal_str.startswith(DOMAIN_PREFIX):
            return self._lookup(signal_str)
        hits = self._lookup(signal_str)
        for domain in parent_domains(host_of(signal_str)):
            hits.extend(self._lookup(DOMAIN_PREFIX + domain))
        return hits
