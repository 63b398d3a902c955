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
