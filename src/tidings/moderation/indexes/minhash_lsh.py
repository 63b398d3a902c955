"""Near-duplicate text index: MinHash signatures bucketed by LSH bands.

With 16 bands of 4 rows, a pair with Jaccard J becomes a candidate with
probability 1-(1-J^4)^16: 0.99 at J=0.7, 0.96 at J=0.625 (the default threshold), 0.64 at
J=0.5, 0.01 at J=0.2. Candidates are then verified by exact slot distance,
so the bands decide speed, never correctness of a reported match.
"""

import numpy as np

from tidings.moderation import minhash
from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.limits import (
    TEXT_NEAR_BANDS,
    TEXT_NEAR_DEFAULT_THRESHOLD,
    TEXT_NEAR_MAX_CANDIDATES,
    TEXT_NEAR_PERMUTATIONS,
    TEXT_NEAR_ROWS,
)

_MAGIC = b"TMHL"
assert TEXT_NEAR_BANDS * TEXT_NEAR_ROWS == TEXT_NEAR_PERMUTATIONS


def _bands(sig: minhash.Signature) -> list[tuple[int, bytes]]:
    return [
        (b, sig[b * TEXT_NEAR_ROWS : (b + 1) * TEXT_NEAR_ROWS].tobytes())
        for b in range(TEXT_NEAR_BANDS)
    ]


class MinHashLshIndex(MatchIndex):
    """Signatures by entry id, plus band buckets for candidate lookup."""

    default_threshold = TEXT_NEAR_DEFAULT_THRESHOLD

    def __init__(self) -> None:
        super().__init__()
        self._sigs: dict[int, minhash.Signature] = {}
        self._buckets: dict[tuple[int, bytes], list[int]] = {}
        self._disabled: set[int] = set()

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, signal_str: str, entry: int) -> None:
        sig = minhash.from_hex(signal_str)
        self._sigs[entry] = sig
        for key in _bands(sig):
            self._buckets.setdefault(key, []).append(entry)

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        query = minhash.from_hex(signal_str)
        candidates: set[int] = set()
        for key in _bands(query):
            candidates.update(self._buckets.get(key, ()))
            if len(candidates) >= TEXT_NEAR_MAX_CANDIDATES:
                break
        hits = []
        for entry in candidates - self._disabled:
            d = minhash.distance(query, self._sigs[entry])
            if d <= threshold:
                hits.append(IndexHit(entry, d))
        hits.sort(key=lambda h: (h.distance, h.entry_id))
        return hits

    def to_bytes(self) -> bytes:
        ids = np.array(list(self._sigs), dtype="<i8")
        sigs = (
            np.stack(list(self._sigs.values())).astype("<u4")
            if self._sigs
            else np.zeros((0, TEXT_NEAR_PERMUTATIONS), dtype="<u4")
        )
        disabled = np.array(sorted(self._disabled), dtype="<i8")
        return pack(
            _MAGIC, INDEX_FORMAT_VERSION, [ids.tobytes(), sigs.tobytes(), disabled.tobytes()]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "MinHashLshIndex":
        ids_b, sigs_b, disabled_b = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 3)
        row = TEXT_NEAR_PERMUTATIONS * 4
        if len(ids_b) % 8 or len(disabled_b) % 8 or len(sigs_b) != (len(ids_b) // 8) * row:
            raise CorruptIndexError("inconsistent MinHash index sections")
        ids = np.frombuffer(ids_b, dtype="<i8")
        sigs = np.frombuffer(sigs_b, dtype="<u4").reshape(len(ids), TEXT_NEAR_PERMUTATIONS)
        index = cls()
        for entry, sig in zip(ids, sigs, strict=True):
            index.add(minhash.to_hex(sig.astype(np.uint32)), int(entry))
        index._disabled = {int(i) for i in np.frombuffer(disabled_b, dtype="<i8")}
        return index
