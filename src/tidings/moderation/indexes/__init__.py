"""Match indexes: one per signal type, entry ids in, (entry id, distance) out."""

from tidings.moderation.indexes.base import IndexHit, MatchIndex
from tidings.moderation.indexes.exact import ExactIndex, UrlIndex
from tidings.moderation.indexes.minhash_lsh import MinHashLshIndex
from tidings.moderation.indexes.pdq_faiss import PdqFaissIndex
from tidings.moderation.indexes.pdq_mih import PdqMihIndex

__all__ = [
    "ExactIndex",
    "IndexHit",
    "MatchIndex",
    "MinHashLshIndex",
    "PdqFaissIndex",
    "PdqMihIndex",
    "UrlIndex",
]
