"""MinHash signatures over character shingles, for near-duplicate text.

Why MinHash and not SimHash or TLSH: MinHash estimates Jaccard similarity of
shingle sets with a known error (1/sqrt(k)), has a textbook LSH index (bands)
that keeps queries sub-linear, and works on short posts; TLSH needs at least
50 bytes with enough variety and has no sub-linear index; 64-bit SimHash is
compact but its bit distance is noisy on short texts. Character 5-shingles
(not words) survive scripts without spaces and in-word edits.
Implemented with numpy so that no extra dependency is needed.
"""

import hashlib

import numpy as np
import numpy.typing as npt

from tidings.moderation.limits import TEXT_NEAR_PERMUTATIONS, TEXT_NEAR_SHINGLE

#: Fixed seed: signatures must be identical across processes and releases,
#: otherwise banked signatures stop matching. Changing it is a format change.
MINHASH_SEED = 0x7D1D_1265
_MERSENNE_61 = np.uint64((1 << 61) - 1)
_MASK_32 = np.uint64(0xFFFF_FFFF)
_rng = np.random.default_rng(MINHASH_SEED)
_A = _rng.integers(1, 1 << 31, size=TEXT_NEAR_PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, size=TEXT_NEAR_PERMUTATIONS, dtype=np.uint64)
SIGNATURE_HEX_CHARS = TEXT_NEAR_PERMUTATIONS * 8

Signature = npt.NDArray[np.uint32]


def shingles(normalized: str, k: int = TEXT_NEAR_SHINGLE) -> set[str]:
    """Distinct character shingles; a text shorter than one shingle is one."""
    if len(normalized) <= k:
        return {normalized}
    return {normalized[i : i + k] for i in range(len(normalized) - k + 1)}


def slot_values(normalized: str, k: int = TEXT_NEAR_SHINGLE) -> npt.NDArray[np.uint32]:
    """Every shingle's value under every permutation: uint32[PERMUTATIONS, n].

    The signature is the row minima; containment (``indexes.quote``) asks
    whether a banked minimum occurs anywhere in a row.
    """
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big")
            for s in shingles(normalized, k)
        ),
        dtype=np.uint64,
    )
    permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) % _MERSENNE_61 & _MASK_32
    result: npt.NDArray[np.uint32] = permuted.astype(np.uint32)
    return result


_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_POLY = np.uint64(0x100000001B3)


def rolling_hashes(text: str, k: int) -> npt.NDArray[np.uint64]:
    """Distinct 32-bit hashes of every k-character shingle, vectorised.

    A polynomial over the code points (mod 2^64) finished with MurmurHash3's
    fmix64, in numpy: ~50x faster than a blake2b call per shingle, which
    matters for quote queries (every shingle of a 4,096-character post, twice).
    Used by ``text_quote`` only; ``text_near`` keeps blake2b (its banked
    signatures depend on it). A text shorter than k has no shingle.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        h = h * _POLY + codes[j : j + n]
    h ^= h >> np.uint64(33)
    h *= _FMIX_1
    h ^= h >> np.uint64(33)
    h *= _FMIX_2
    h ^= h >> np.uint64(33)
    return sorted_distinct(h & _MASK_32)


def sorted_distinct(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``np.unique`` by sort and compare (np.unique measured 50x slower here)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    result: npt.NDArray[np.uint64] = ordered[keep]
    return result


def rolling_slot_values(text: str, k: int) -> npt.NDArray[np.uint32]:
    """Like ``slot_values`` over ``rolling_hashes``: uint32[PERMUTATIONS, n]."""
    hashes = rolling_hashes(text, k)
    permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) % _MERSENNE_61 & _MASK_32
    result: npt.NDArray[np.uint32] = permuted.astype(np.uint32)
    return result


def signature(normalized: str, k: int = TEXT_NEAR_SHINGLE) -> Signature:
    """MinHash signature (uint32[PERMUTATIONS]) of a normalised text."""
    result: Signature = slot_values(normalized, k).min(axis=1)
    return result


def to_hex(sig: Signature) -> str:
    return sig.astype(">u4").tobytes().hex()


def from_hex(value: str) -> Signature:
    """Parse a signature; caller validates length and alphabet first."""
    result: Signature = np.frombuffer(bytes.fromhex(value), dtype=">u4").astype(np.uint32)
    return result


def distance(a: Signature, b: Signature) -> int:
    """Differing slots; ``1 - distance/PERMUTATIONS`` estimates Jaccard."""
    return int(np.count_nonzero(a != b))
