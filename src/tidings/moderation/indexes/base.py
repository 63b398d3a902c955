"""The index interface, a pytx ``SignalTypeIndex`` whose metadata is an entry id.

pytx lets an index carry any metadata and pickles it; we carry only int64
entry ids (the bank entry lives in the service's store), so that an index is
a few bytes per hash and serialises without pickle. Disabling is an index
operation because takedown of a wrongly banked hash must not wait for a
rebuild.
"""

import abc
import typing as t
from dataclasses import dataclass

from threatexchange.signal_type.index import (
    IndexMatch,
    SignalSimilarityInfoWithIntDistance,
    SignalTypeIndex,
)

Self = t.TypeVar("Self", bound="MatchIndex")

#: Magic prefix of every serialised index, then a one-byte format version.
INDEX_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class IndexHit:
    """One entry within the asked distance of a query."""

    entry_id: int
    distance: int


class MatchIndex(SignalTypeIndex[int], abc.ABC):
    """Index of one signal type; ``entry`` is always an int64 entry id.

    ``add`` takes an already-validated signal string (the matcher runs the
    signal type's ``validate_signal_str`` first).
    """

    #: Distance used by the pytx-compatible ``query(str)`` entry point.
    default_threshold: t.ClassVar[int] = 0

    @abc.abstractmethod
    def add(self, signal_str: str, entry: int) -> None:
        """Index one value under one entry id (an id appears once)."""

    @abc.abstractmethod
    def disable(self, entry: int) -> None:
        """Stop returning ``entry`` without rebuilding (idempotent)."""

    @abc.abstractmethod
    def enable(self, entry: int) -> None:
        """Undo ``disable`` (idempotent)."""

    @abc.abstractmethod
    def search(self, signal_str: str, threshold: int) -> list[IndexHit]:
        """Enabled entries within ``threshold`` of ``signal_str``, nearest first."""

    def search_many(self, signal_strs: t.Sequence[str], threshold: int) -> list[list[IndexHit]]:
        """``search`` of each value, one list per value; indexes that can batch
        (PDQ: one upload yields ~17 hashes) override this."""
        return [self.search(s, threshold) for s in signal_strs]

    @abc.abstractmethod
    def to_bytes(self) -> bytes:
        """Serialise everything, including the disabled set."""

    @classmethod
    @abc.abstractmethod
    def from_bytes(cls: type[Self], data: bytes) -> Self:
        """Inverse of ``to_bytes``; raises ``CorruptIndexError``."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of indexed (entry, value) pairs, disabled included."""

    def query(self, query: str) -> t.Sequence[IndexMatch[int]]:
        """pytx entry point: search at the type's default threshold."""
        return [
            IndexMatch[int](SignalSimilarityInfoWithIntDistance(hit.distance), hit.entry_id)
            for hit in self.search(query, self.default_threshold)
        ]

    def serialize(self, fout: t.BinaryIO) -> None:
        fout.write(self.to_bytes())

    @classmethod
    def deserialize(cls: type[Self], fin: t.BinaryIO) -> Self:
        return cls.from_bytes(fin.read())
