"""PDQ index on a faiss binary index: 32 bytes per hash plus one int64 id.

Why flat (exhaustive) rather than faiss's multi-hash or IVF: it is exact at
any threshold a bank chooses (multi-hash is exact only below its pigeonhole
bound, IVF is approximate), it adds and serialises in memory-bandwidth time,
and it is 40 bytes an entry where ``IndexBinaryMultiHash`` adds a hash-map
node per sub-hash per entry. Measured trade-off: benchmarks/pdq_index.py and
docs/matching.md ("Benchmarks").
"""

import typing as t

import faiss
import numpy as np
import numpy.typing as npt

from tidings.moderation.errors import CorruptIndexError, InvalidSignalError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.limits import PDQ_BITS, PDQ_BYTES, PDQ_DEFAULT_THRESHOLD

_MAGIC = b"TPDQ"
Codes = npt.NDArray[np.uint8]
Ids = npt.NDArray[np.int64]


def pdq_hex_to_codes(values: t.Sequence[str]) -> Codes:
    """Hex PDQ strings -> (n, 32) uint8 array, validating each."""
    try:
        raw = b"".join(bytes.fromhex(v) for v in values)
    except ValueError as exc:
        raise InvalidSignalError("PDQ hash is not hex") from exc
    if len(raw) != PDQ_BYTES * len(values) or any(len(v) != 2 * PDQ_BYTES for v in values):
        raise InvalidSignalError("PDQ hash must be 64 hex characters")
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), PDQ_BYTES)


class PdqFaissIndex(MatchIndex):
    """Exact range search by Hamming distance; disable by id without rebuild."""

    default_threshold = PDQ_DEFAULT_THRESHOLD

    def __init__(self, index: t.Any = None, disabled: t.Iterable[int] = ()) -> None:
        super().__init__()
        self._index: t.Any = (
            index if index is not None else faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(PDQ_BITS))
        )
        self._disabled: set[int] = set(disabled)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, signal_str: str, entry: int) -> None:
        self.add_codes(pdq_hex_to_codes([signal_str]), np.array([entry], dtype=np.int64))

    def add_all(self, entries: t.Iterable[tuple[str, int]]) -> None:
        pairs = list(entries)
        if pairs:
            self.add_codes(
                pdq_hex_to_codes([p[0] for p in pairs]),
                np.array([p[1] for p in pairs], dtype=np.int64),
            )

    def add_codes(self, codes: Codes, ids: Ids) -> None:
        """Bulk add of packed hashes: the fast path for loading a bank."""
        self._index.add_with_ids(np.ascontiguousarray(codes, dtype=np.uint8), ids)

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        return self.search_codes(pdq_hex_to_codes([signal_str]), threshold)[0]

    def search_codes(self, queries: Codes, threshold: int) -> list[list[IndexHit]]:
        """Batch search; faiss's radius is exclusive, hence ``threshold + 1``."""
        if len(self) == 0:
            return [[] for _ in range(len(queries))]
        lims, dists, ids = self._index.range_search(
            np.ascontiguousarray(queries, dtype=np.uint8), threshold + 1
        )
        out: list[list[IndexHit]] = []
        for q in range(len(queries)):
            lo, hi = int(lims[q]), int(lims[q + 1])
            hits = [
                IndexHit(int(i), int(d))
                for i, d in zip(ids[lo:hi], dists[lo:hi], strict=True)
                if int(i) not in self._disabled
            ]
            hits.sort(key=lambda h: (h.distance, h.entry_id))
            out.append(hits)
        return out

    def to_bytes(self) -> bytes:
        blob = faiss.serialize_index_binary(self._index)
        disabled = np.array(sorted(self._disabled), dtype="<i8").tobytes()
        return pack(_MAGIC, INDEX_FORMAT_VERSION, [np.asarray(blob).tobytes(), disabled])

    @classmethod
    def from_bytes(cls, data: bytes) -> "PdqFaissIndex":
        blob, disabled = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 2)
        if len(disabled) % 8:
            raise CorruptIndexError("bad disabled-id section")
        try:
            index = faiss.deserialize_index_binary(np.frombuffer(blob, dtype=np.uint8))
        except RuntimeError as exc:
            raise CorruptIndexError("unreadable faiss index") from exc
        if index.d != PDQ_BITS:
            raise CorruptIndexError("faiss index is not 256-bit")
        ids = np.frombuffer(disabled, dtype="<i8")
        return cls(index, (int(i) for i in ids))
