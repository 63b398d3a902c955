"""The matcher: one index per signal type, thresholds per entry and bank.

Indexes know only entry ids and distances; the matcher remembers each
entry's bank, type, value and own threshold, asks each index once at the
loosest threshold any bank could want, and then applies the precise one:
entry threshold, else the bank's, else the type's default, never above the
type's maximum.
"""

import json
import typing as t
from dataclasses import dataclass

from threatexchange.signal_type.signal_base import SignalType

from tidings.moderation.content import Signal
from tidings.moderation.errors import (
    CorruptIndexError,
    DuplicateEntryError,
    InvalidBankError,
    UnknownEntryError,
)
from tidings.moderation.indexes.base import IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.manifest import SIGNAL_TYPES, validate_value
from tidings.moderation.signal_types import HasThreshold

_MAGIC = b"TMAT"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    bank: str
    signal_type: str
    value: str
    distance: int


@dataclass(frozen=True, slots=True)
class _Entry:
    bank: str
    signal_type: str
    value: str
    threshold: int | None


class _PytxIndexAdapter(MatchIndex):
    """Lets a third-party type whose index is a plain pytx SignalTypeIndex
    plug in: entry ids become its metadata, disabling is filtered here.
    Not serialisable (pytx would pickle); the matcher rebuilds it instead."""

    def __init__(self, signal_type: type[SignalType]) -> None:
        super().__init__()
        self._inner = signal_type.get_index_cls()()
        self._disabled: set[int] = set()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, signal_str: str, entry: int) -> None:
        self._inner.add(signal_str, entry)
        self._count += 1

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        hits = []
        for m in self._inner.query(signal_str):
            dist = int(getattr(m.similarity_info, "distance", 0))
            if m.metadata not in self._disabled and dist <= threshold:
                hits.append(IndexHit(int(m.metadata), dist))
        return hits

    def to_bytes(self) -> bytes:
        raise NotImplementedError("third-party indexes are rebuilt, not serialised")

    @classmethod
    def from_bytes(cls, data: bytes) -> "_PytxIndexAdapter":
        raise NotImplementedError("third-party indexes are rebuilt, not serialised")


def _bounds(signal_type: type[SignalType]) -> tuple[int, int]:
    if issubclass(signal_type, HasThreshold):
        return signal_type.default_threshold(), signal_type.max_threshold()
    return 0, 0


class Matcher:
    """Facade over one ``MatchIndex`` per registered signal type."""

    def __init__(self, signal_types: t.Mapping[str, type[SignalType]] = SIGNAL_TYPES) -> None:
        self._types = dict(signal_types)
        self._indexes: dict[str, MatchIndex] = {}
        self._entries: dict[int, _Entry] = {}
        self._max_entry_threshold: dict[str, int] = {}
        self.quarantined: set[int] = set()
        """Entry ids the query skips: an overlay on the live indexes, so a quarantine
        takes effect at once without a rebuild (not serialised: the bank store holds
        it and the bank sync re-applies it)."""

    def __len__(self) -> int:
        return len(self._entries)

    def sizes(self) -> dict[str, int]:
        """Entries indexed per signal type (disabled ones included)."""
        return {name: len(index) for name, index in self._indexes.items()}

    def _index(self, signal_type: str) -> MatchIndex:
        index = self._indexes.get(signal_type)
        if index is None:
            cls = self._types[signal_type]
            index_cls = cls.get_index_cls()
            index = (
                index_cls()
                if isinstance(index_cls, type) and issubclass(index_cls, MatchIndex)
                else _PytxIndexAdapter(cls)
            )
            self._indexes[signal_type] = index
        return index

    def add(
        self,
        entry_id: int,
        signal_type: str,
        value: str,
        bank: str,
        threshold: int | None = None,
    ) -> None:
        """Index one entry; the value is validated and normalised by its type."""
        if entry_id in self._entries:
            raise DuplicateEntryError(f"entry {entry_id} already indexed")
        if signal_type not in self._types:
            validate_value(signal_type, value)  # raises UnknownSignalTypeError
        normalized = str(self._types[signal_type].validate_signal_str(value))
        if threshold is not None:
            _, maximum = _bounds(self._types[signal_type])
            if not 0 <= threshold <= maximum:
                raise InvalidBankError(f"threshold for {signal_type} must be 0..{maximum}")
            self._max_entry_threshold[signal_type] = max(
                threshold, self._max_entry_threshold.get(signal_type, 0)
            )
        self._index(signal_type).add(normalized, entry_id)
        self._entries[entry_id] = _Entry(bank, signal_type, normalized, threshold)

    def _entry(self, entry_id: int) -> _Entry:
        try:
            return self._entries[entry_id]
        except KeyError:
            raise UnknownEntryError(entry_id) from None

    def disable(self, entry_id: int) -> None:
        self._index(self._entry(entry_id).signal_type).disable(entry_id)

    def enable(self, entry_id: int) -> None:
        self._index(self._entry(entry_id).signal_type).enable(entry_id)

    def query(
        self, signals: t.Iterable[Signal], bank_thresholds: t.Mapping[str, int] | None = None
    ) -> list[Match]:
        """Matches of the signals, nearest first, one per entry; unknown types
        are skipped (a client may send a signal type this server does not bank)."""
        bank_thresholds = bank_thresholds or {}
        matches: list[Match] = []
        by_type: dict[str, list[str]] = {}
        for signal in signals:
            if signal.signal_type in self._indexes:
                by_type.setdefault(signal.signal_type, []).append(signal.value)
        for signal_type, values in by_type.items():
            index = self._indexes[signal_type]
            default, maximum = _bounds(self._types[signal_type])
            widest = min(
                maximum,
                max(
                    default,
                    self._max_entry_threshold.get(signal_type, 0),
                    *bank_thresholds.values(),
                ),
            )
            # One call per type: an upload's PDQ variants are searched as a batch.
            for hit in (h for hits in index.search_many(values, widest) for h in hits):
                if hit.entry_id in self.quarantined:
                    continue
                entry = self._entries[hit.entry_id]
                limit = entry.threshold
                if limit is None:
                    limit = min(maximum, bank_thresholds.get(entry.bank, default))
                if hit.distance <= limit:
                    matches.append(
                        Match(
                            hit.entry_id, entry.bank, entry.signal_type, entry.value, hit.distance
                        )
                    )
        # One post yields several signals of one type (text forms, frames): an
        # entry is reported once, at its nearest.
        nearest: dict[int, Match] = {}
        for m in matches:
            if m.entry_id not in nearest or m.distance < nearest[m.entry_id].distance:
                nearest[m.entry_id] = m
        return sorted(nearest.values(), key=lambda m: (m.distance, m.entry_id))

    def to_bytes(self) -> bytes:
        """Entries as JSON plus each index's own bytes (no pickle)."""
        meta = json.dumps(
            [[i, e.bank, e.signal_type, e.value, e.threshold] for i, e in self._entries.items()],
            separators=(",", ":"),
        ).encode()
        names = sorted(self._indexes)
        sections = [meta, json.dumps(names).encode()]
        sections.extend(self._indexes[n].to_bytes() for n in names)
        return pack(_MAGIC, _VERSION, [pack(_MAGIC, _VERSION, sections[:2]), *sections[2:]])

    @classmethod
    def from_bytes(
        cls, data: bytes, signal_types: t.Mapping[str, type[SignalType]] = SIGNAL_TYPES
    ) -> "Matcher":
        try:
            head_count = 1 + len(json.loads(unpack(_head(data), _MAGIC, _VERSION, 2)[1]))
            sections = unpack(data, _MAGIC, _VERSION, head_count)
            meta, names_b = unpack(sections[0], _MAGIC, _VERSION, 2)
            names = [str(n) for n in json.loads(names_b)]
            rows = json.loads(meta)
        except (ValueError, TypeError) as exc:
            raise CorruptIndexError("unreadable matcher") from exc
        matcher = cls(signal_types)
        for name, blob in zip(names, sections[1:], strict=True):
            index_cls = signal_types[name].get_index_cls()
            if not (isinstance(index_cls, type) and issubclass(index_cls, MatchIndex)):
                raise CorruptIndexError(f"index of {name} is not serialisable")
            matcher._indexes[name] = index_cls.from_bytes(blob)
        for entry_id, bank, signal_type, value, threshold in rows:
            matcher._entries[int(entry_id)] = _Entry(bank, signal_type, value, threshold)
            if threshold is not None:
                matcher._max_entry_threshold[signal_type] = max(
                    threshold, matcher._max_entry_threshold.get(signal_type, 0)
                )
        return matcher


def _head(data: bytes) -> bytes:
    """First section of a matcher blob (the nested meta frame)."""
    sections = unpack(data[: 5 + 8 + _section_len(data)], _MAGIC, _VERSION, 1)
    return sections[0]


def _section_len(data: bytes) -> int:
    if len(data) < 13:
        raise CorruptIndexError("truncated matcher")
    return int.from_bytes(data[5:13], "big")
