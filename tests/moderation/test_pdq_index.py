"""The PDQ multi-index-hashing index answers exactly what a brute-force scan does."""

from pathlib import Path

import numpy as np
import pytest
from images import generate, variants

from tidings.moderation import Matcher, MediaContent, signals_for
from tidings.moderation.errors import CorruptIndexError
from tidings.moderation.indexes import PdqFaissIndex, PdqMihIndex
from tidings.moderation.indexes.pdq_mih import FLAT_ROWS, TAIL_ROWS
from tidings.moderation.signal_types import decode_image, pdq_augmented

PHOTOS = Path(__file__).parents[1] / "server" / "data" / "photos"
#: Random background rows: enough that the sub-tables, not the flat scan, answer.
BACKGROUND = FLAT_ROWS + 5_000


def brute(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, threshold: int) -> set[int]:
    dist = np.unpackbits(codes ^ query[None, :], axis=1).sum(axis=1)
    return {int(i) for i in ids[dist <= threshold]}


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def planted() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background rows plus, for each query, neighbours at every distance 0-40
    (bits spread at random, and bits packed into as few substrings as possible)."""
    rng = np.random.default_rng(7)
    rows = [rng.integers(0, 256, size=(BACKGROUND, 32), dtype=np.uint8)]
    queries = rng.integers(0, 256, size=(8, 32), dtype=np.uint8)
    for q in queries:
        rows.append(np.stack([flip(q, d, rng) for d in range(41)]))
        # Worst case for the pigeonhole bound: 31 bits as 15 substrings x 2 bits + 1.
        packed = np.unpackbits(q)
        for s in range(15):
            packed[s * 16 : s * 16 + 2] ^= 1
        packed[15 * 16] ^= 1
        rows.append(np.packbits(packed)[None, :])
    codes = np.concatenate(rows)
    ids = rng.permutation(len(codes)).astype(np.int64) + 1_000
    return codes, ids, queries


@pytest.mark.parametrize("threshold", [0, 15, 16, 31, 32, 40])
def test_planted_neighbours_equal_brute_force(threshold: int) -> None:
    codes, ids, queries = planted()
    index = PdqMihIndex()
    index.add_codes(codes, ids)
    got = index.search_codes(queries, threshold)
    for q, hits in zip(queries, got, strict=True):
        assert {h.entry_id for h in hits} == brute(codes, ids, q, threshold)
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    if threshold == 31:  # every planted distance 0..31 is found, 32..40 is not
        found = {h.distance for h in got[0]}
        assert set(range(32)) <= found
        assert not found & set(range(32, 41))


def test_single_adds_tail_disable_and_round_trip() -> None:
    codes, ids, queries = planted()
    index = PdqMihIndex(codes[:-100], ids[:-100])
    assert index.search_codes(queries[:1], 31)  # builds the sub-tables
    # Rows added one by one after the build are found (flat tail), also past
    # the point where the next search rebuilds the tables.
    rng = np.random.default_rng(3)
    extra = [flip(queries[0], int(d), rng) for d in rng.integers(0, 32, size=TAIL_ROWS + 10)]
    for i, code in enumerate([*codes[-100:], *extra]):
        index.add(code.tobytes().hex(), 10_000_000 + i)
    all_codes = np.concatenate([codes, np.stack(extra)])
    all_ids = np.concatenate([ids[:-100], np.arange(len(extra) + 100) + 10_000_000])
    expect = brute(all_codes, all_ids, queries[0], 31)
    first = {h.entry_id for h in index.search(queries[0].tobytes().hex(), 31)}
    assert first == expect
    assert len(index) == len(all_ids)
    # Disable takes effect at once and survives serialisation; enable undoes it.
    gone = sorted(expect)[:5]
    for entry in gone:
        index.disable(entry)
    restored = PdqMihIndex.from_bytes(index.to_bytes())
    for ix in (index, restored):
        hits = {h.entry_id for h in ix.search_many([queries[0].tobytes().hex()], 31)[0]}
        assert hits == expect - set(gone)
    restored.enable(gone[0])
    assert gone[0] in {h.entry_id for h in restored.search(queries[0].tobytes().hex(), 31)}
    with pytest.raises(CorruptIndexError):
        PdqMihIndex.from_bytes(index.to_bytes()[:-3])


def test_reads_the_faiss_index_format() -> None:
    """Matchers serialised before this index (PdqFaissIndex bytes) still load."""
    codes, ids, queries = planted()
    old = PdqFaissIndex()
    old.add_codes(codes, ids)
    old.disable(int(ids[-1]))
    new = PdqMihIndex.from_bytes(old.to_bytes())
    assert len(new) == len(old)
    for q in queries:
        hexq = q.tobytes().hex()
        assert new.search(hexq, 31) == old.search(hexq, 31)


def test_real_photo_hashes_equal_brute_force() -> None:
    """Banked: bank-side hashes of the repo's photos and of synthetic pictures'
    variants among random rows; queried: every PDQ an upload of them yields."""
    images = [decode_image(p.read_bytes()) for p in sorted(PHOTOS.glob("*.jpg"))]
    images += [generate(seed) for seed in range(4)]
    banked = [h for img in images for h, _ in pdq_augmented(img)]
    uploads = [p.read_bytes() for p in sorted(PHOTOS.glob("*.jpg"))]
    uploads += [v for seed in range(4) for v in variants(generate(seed)).values()]
    rng = np.random.default_rng(11)
    background = rng.integers(0, 256, size=(BACKGROUND, 32), dtype=np.uint8)
    real = np.stack([np.frombuffer(bytes.fromhex(h), np.uint8) for h in banked])
    codes = np.concatenate([background, real])
    ids = np.arange(len(codes), dtype=np.int64)
    matcher = Matcher()
    index = PdqMihIndex()
    index.add_codes(codes, ids)
    for i, h in enumerate(banked):
        matcher.add(BACKGROUND + i, "pdq", h, "BANK")
    hits_total = 0
    for data in uploads:
        values = [s.value for s in signals_for(MediaContent(data, "image/png"))
                  if s.signal_type == "pdq"]
        for value, hits in zip(values, index.search_many(values, 31), strict=True):
            q = np.frombuffer(bytes.fromhex(value), np.uint8)
            assert {h.entry_id for h in hits} == brute(codes, ids, q, 31)
            hits_total += len(hits)
        # The matcher's batched query reports each banked entry once, nearest.
        expect: dict[int, int] = {}
        for value in values:
            q = np.frombuffer(bytes.fromhex(value), np.uint8)
            dist = np.unpackbits(real ^ q[None, :], axis=1).sum(axis=1)
            for i in np.flatnonzero(dist <= 31).tolist():
                expect[BACKGROUND + i] = min(int(dist[i]), expect.get(BACKGROUND + i, 256))
        got = matcher.query(signals_for(MediaContent(data, "image/png")))
        assert {m.entry_id: m.distance for m in got} == expect
    assert hits_total > len(uploads)  # the copies were found, not vacuously equal
