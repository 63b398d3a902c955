"""Partial-quote index: how much of a banked text a post contains.

Jaccard (``text_near``) compares a post with a banked text as wholes, so a
post that quotes 60 % of a manifesto, or wraps all of it in commentary, falls
below any safe Jaccard threshold. Containment asks the other question: what
fraction of the banked text's shingles occur in the post?

A banked entry's value is a MinHash signature of its shingles. Each of its 64
minima is the shingle of the banked text that one permutation ranks first, a
uniform sample of the banked text's shingles (Broder 1997). The post, which
the matcher has in full, contributes every shingle's value under every
permutation; a banked slot is a hit when its minimum occurs in the post's
row for that slot. Hits / 64 estimates containment with standard deviation
sqrt(c(1-c)/64) (0.06 at c = 0.6). Distance is ``64 - hits``.

Lookup: every (slot, minimum) pair of every entry is one uint64 key in one
sorted array; a query looks up its 64 x n keys with ``searchsorted``, so the
cost grows with the post's length and log(bank size), never with a scan.
"""

import json
import re
from collections import Counter

import numpy as np
import numpy.typing as npt

from tidings.moderation import minhash
from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes.base import INDEX_FORMAT_VERSION, IndexHit, MatchIndex
from tidings.moderation.indexes.codec import pack, unpack
from tidings.moderation.limits import (
    TEXT_NEAR_PERMUTATIONS,
    TEXT_QUOTE_DEFAULT_THRESHOLD,
    TEXT_QUOTE_SHINGLE,
)

_MAGIC = b"TQTE"
#: A query value is this prefix plus a compact text form (``textforms``);
#: a value without it is a banked signature (compared slot by slot).
QUERY_PREFIX = "q:"
_SIG = re.compile(rf"[0-9a-f]{{{minhash.SIGNATURE_HEX_CHARS}}}")
def quote_signature(compact: str) -> str:
    """Banked value of a compact form: per slot, the minimum over its shingles."""
    return minhash.to_hex(
        minhash.rolling_slot_values(compact, TEXT_QUOTE_SHINGLE).min(axis=1).astype(np.uint32)
    )


_SLOTS = np.arange(TEXT_NEAR_PERMUTATIONS, dtype=np.uint64)[:, None] << np.uint64(32)


def query_keys(compact: str) -> npt.NDArray[np.uint64]:
    """Sorted distinct (slot << 32 | value) keys of every shingle of a text."""
    if len(compact) < TEXT_QUOTE_SHINGLE:
        return np.empty(0, dtype=np.uint64)
    values = minhash.rolling_slot_values(compact, TEXT_QUOTE_SHINGLE).astype(np.uint64)
    return minhash.sorted_distinct((_SLOTS | values).ravel())


def signature_keys(sig_hex: str) -> npt.NDArray[np.uint64]:
    values = minhash.from_hex(sig_hex).astype(np.uint64)
    return (_SLOTS[:, 0] | values).astype(np.uint64)


class QuoteIndex(MatchIndex):
    """Containment of banked texts in a query text; see the module docstring."""

    default_threshold = TEXT_QUOTE_DEFAULT_THRESHOLD

    def __init__(self) -> None:
        super().__init__()
        self._sigs: dict[int, str] = {}
        self._disabled: set[int] = set()
        self._keys: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._ids: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._dirty = False

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, signal_str: str, entry: int) -> None:
        self._sigs[entry] = signal_str
        self._dirty = True

    def disable(self, entry: int) -> None:
        self._disabled.add(entry)

    def enable(self, entry: int) -> None:
        self._disabled.discard(entry)

    def _build(self) -> None:
        if not self._dirty:
            return
        ids = np.fromiter(self._sigs, dtype=np.int64, count=len(self._sigs))
        keys = np.concatenate(
            [signature_keys(s) for s in self._sigs.values()] or [np.empty(0, dtype=np.uint64)]
        )
        all_ids = np.repeat(ids, TEXT_NEAR_PERMUTATIONS)
        order = np.argsort(keys, kind="stable")
        self._keys, self._ids = keys[order], all_ids[order]
        self._dirty = False

    def _hits(self, keys: npt.NDArray[np.uint64]) -> dict[int, int]:
        self._build()
        if not len(keys) or not len(self._keys):
            return {}
        left = np.searchsorted(self._keys, keys, side="left")
        right = np.searchsorted(self._keys, keys, side="right")
        found = right > left
        if not found.any():
            return {}
        left, right = left[found], right[found]
        counts = right - left
        # Expand [left, right) ranges into positions without a Python loop.
        starts = np.repeat(left - np.cumsum(counts) + counts, counts)
        positions = starts + np.arange(int(counts.sum()))
        # Positions are distinct (entry, slot) pairs of the bank, so counting them
        # per entry counts each banked slot once even if a query key repeats.
        return dict(Counter(self._ids[np.unique(positions)].tolist()))

    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        if signal_str.startswith(QUERY_PREFIX):
            keys = query_keys(signal_str[len(QUERY_PREFIX) :])
        elif _SIG.fullmatch(signal_str):
            keys = signature_keys(signal_str)
        else:
            return []
        out = [
            IndexHit(entry, TEXT_NEAR_PERMUTATIONS - hits)
            for entry, hits in self._hits(keys).items()
            if entry not in self._disabled and TEXT_NEAR_PERMUTATIONS - hits <= threshold
        ]
        out.sort(key=lambda h: (h.distance, h.entry_id))
        return out

    def to_bytes(self) -> bytes:
        body = json.dumps(
            {"sigs": {str(k): v for k, v in self._sigs.items()},
             "disabled": sorted(self._disabled)},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return pack(_MAGIC, INDEX_FORMAT_VERSION, [body])

    @classmethod
    def from_bytes(cls, data: bytes) -> "QuoteIndex":
        (body,) = unpack(data, _MAGIC, INDEX_FORMAT_VERSION, 1)
        try:
            parsed = json.loads(body)
            sigs = {int(k): str(v) for k, v in parsed["sigs"].items()}
            disabled = {int(i) for i in parsed["disabled"]}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptIndexError("unreadable quote index") from exc
        if not all(_SIG.fullmatch(s) for s in sigs.values()):
            raise CorruptIndexError("quote index holds a malformed signature")
        index = cls()
        index._sigs, index._disabled, index._dirty = sigs, disabled, True
        return index
