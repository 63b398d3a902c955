"""vPDQ index: every banked frame in one faiss binary index.

pytx's vpdq index also keeps one flat index of all frames and counts, per
banked video, which query frames found one of its frames; we do the same
with int entry ids and no pickle. One range search per query frame (at the
frame threshold, 31) replaces a scan of every banked video, so the cost of a
query grows with the frames that come close, not with the bank.

The "distance" of an entry is the percentage of the query's usable frames
(quality >= 50, exact duplicates dropped) that found none of its frames,
rounded up: the threshold 20 is pytx's "query match >= 80 %". pytx's second
condition, the percentage of the banked video's frames that were found, is
checked too (its default, 0 %, accepts any).
"""

import typing as t

import faiss
import numpy as np
import numpy.typing as npt

from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.limits import (
    PDQ_BITS,
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_DEFAULT_THRESHOLD,
    VPDQ_DISTANCE_THRESHOLD,
)
from tidings.moderation.vpdq import from_signal_str, hex_to_codes, unmatched_percent, usable

_MAGIC = b"TVPQ"
Ids = npt.NDArray[np.int64]


class VpdqFaissIndex(MatchIndex):
    """Frames of every entry in one ``IndexBinaryFlat``; row ``i`` belongs to
    ``self._owner[i]``. Entries with no usable frame are counted but never match."""

    default_threshold = VPDQ_DEFAULT_THRESHOLD

    def __init__(self, index: t.Any = None, owners: Ids | None = None,
                 frames: dict[int, int] | None = None, disabled: t.Iterable[int] = ()) -> None:
        super().__init__()
        self._index: t.Any = index if index is not None else faiss.IndexBinaryFlat(PDQ_BITS)
        self._owners: list[Ids] = [owners] if owners is not None else []
        self._owner: Ids | None = owners
        self._frames: dict[int, int] = dict(frames or {})
        self._disabled: set[int] = set(disabled)

    def __len__(self) -> int:
        return len(self._frames)

    def _owner_array(self) -> Ids:
        if self._owner is None or len(self._owner) != self._index.ntotal:
            self._owner = (np.concatenate(self._owners) if self._owners
                           else np.zeros(0, dtype=np.int64))
            self._owners = [self._owner]
        return self._owner

    def add(self, signal_str: str, entry: int) -> None:
        hashes = usable(from_signal_str(signal_str))
        self._frames[entry] = len(hashes)
        if hashes:
            self._index.add(hex_to_codes(hashes))
            self._owners.append(np.full(len(hashes), entry, dtype=np.int64))
            self._owner = None

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        query = usable(from_signal_str(signal_str))
        if not query or self._index.ntotal == 0:
            return []
        lims, _dists, rows = self._index.range_search(hex_to_codes(query),
                                                      VPDQ_DISTANCE_THRESHOLD + 1)
        owner = self._owner_array()
        query_hits: dict[int, set[int]] = {}
        banked_hits: dict[int, set[int]] = {}
        for q in range(len(query)):
            for row in rows[int(lims[q]):int(lims[q + 1])]:
                entry = int(owner[row])
                query_hits.setdefault(entry, set()).add(q)
                banked_hits.setdefault(entry, set()).add(int(row))
        hits = []
        for entry, found in query_hits.items():
            if entry in self._disabled:
                continue
            distance = unmatched_percent(len(query), len(found))
            compared = 100 * len(banked_hits[entry]) / self._frames[entry]
            if distance <= threshold and compared >= VPDQ_COMPARED_MATCH_PERCENT:
                hits.append(IndexHit(entry, distance))
        hits.sort(key=lambda h: (h.distance, h.entry_id))
        return hits

    def to_bytes(self) -> bytes:
        blob = faiss.serialize_index_binary(self._index)
        owner = self._owner_array().astype("<i8").tobytes()
        frames = np.array(sorted(self._frames.items()), dtype="<i8").reshape(-1, 2).tobytes()
        disabled = np.array(sorted(self._disabled), dtype="<i8").tobytes()
        return pack(_MAGIC, INDEX_FORMAT_VERSION,
                    [np.asarray(blob).tobytes(), owner, frames, disabled])

    @classmethod
    def from_bytes(cls, data: bytes) -> "VpdqFaissIndex":
        blob, owner_b, frames_b, disabled_b = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 4)
        if len(owner_b) % 8 or len(frames_b) % 16 or len(disabled_b) % 8:
            raise CorruptIndexError("bad vpdq index section")
        try:
            index = faiss.deserialize_index_binary(np.frombuffer(blob, dtype=np.uint8))
        except RuntimeError as exc:
            raise CorruptIndexError("unreadable faiss index") from exc
        owner = np.frombuffer(owner_b, dtype="<i8").astype(np.int64)
        if index.d != PDQ_BITS or len(owner) != index.ntotal:
            raise CorruptIndexError("vpdq index does not match its frame owners")
        pairs = np.frombuffer(frames_b, dtype="<i8").reshape(-1, 2)
        frames = {int(e): int(n) for e, n in pairs}
        if set(np.unique(owner).tolist()) - set(frames):
            raise CorruptIndexError("vpdq frame owned by an unknown entry")
        disabled = (int(i) for i in np.frombuffer(disabled_b, dtype="<i8"))
        return cls(index, owner, frames, disabled)
