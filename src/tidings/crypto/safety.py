"""Safety numbers: a number two people compare to detect a man in the middle.

The construction is Signal's numeric fingerprint (libsignal
``NumericFingerprintGenerator``, version 0; Signal blog "Safety number updates",
2016), so its security argument carries over:

* per party: ``h = version(2 bytes, 0) || identity_key || user_id``; then
  ``SAFETY_ITERATIONS`` times ``h = SHA-512(h || identity_key)``; the first 30 bytes
  give six 5-byte big-endian integers, each reduced mod 100000 to 5 digits;
* the safety number is both 30-digit halves in sorted order, so both sides see
  the same 60 digits, displayed in 12 groups of 5.

Tidings people have several devices, so a person's "identity key" is the sorted,
de-duplicated concatenation of the Ed25519 keys of *all* their devices (Signal
does the same for its multi-key "logical" fingerprints). Consequence: the number
changes whenever any device is added, removed or re-keyed, which is exactly
when a silent device injection would have to happen.
"""

from __future__ import annotations

import hashlib

from tidings.crypto.errors import SafetyNumberError
from tidings.protocol.keys import ED25519_KEY_BYTES, b64decode

# --- limits (the integrator moves these to protocol/limits.py) -------------------
SAFETY_VERSION = 0
SAFETY_ITERATIONS = 5200
SAFETY_DIGITS_PER_PARTY = 30
SAFETY_CHUNK_DIGITS = 5
SAFETY_MAX_DEVICES = 1000


def _identity_bytes(keys: list[str]) -> bytes:
    if not keys:
        raise SafetyNumberError("a person needs at least one device key")
    if len(keys) > SAFETY_MAX_DEVICES:
        raise SafetyNumberError("too many device keys")
    raw: set[bytes] = set()
    for key in keys:
        try:
            decoded = b64decode(key)
        except ValueError as exc:
            raise SafetyNumberError("device key is not base64") from exc
        if len(decoded) != ED25519_KEY_BYTES:
            raise SafetyNumberError("device key is not an Ed25519 key")
        raw.add(decoded)
    return b"".join(sorted(raw))


def fingerprint(user: str, keys: list[str]) -> str:
    """One party's 30 digits."""
    identity = _identity_bytes(keys)
    digest = SAFETY_VERSION.to_bytes(2, "big") + identity + user.encode("utf-8")
    for _ in range(SAFETY_ITERATIONS):
        digest = hashlib.sha512(digest + identity).digest()
    chunks = SAFETY_DIGITS_PER_PARTY // SAFETY_CHUNK_DIGITS
    return "".join(
        f"{int.from_bytes(digest[i * 5 : i * 5 + 5], 'big') % 100000:05d}" for i in range(chunks)
    )


def safety_number(user_a: str, keys_a: list[str], user_b: str, keys_b: list[str]) -> str:
    """60 digits, identical whichever side computes it."""
    return "".join(sorted([fingerprint(user_a, keys_a), fingerprint(user_b, keys_b)]))


def format_safety_number(number: str) -> str:
    """12 groups of 5 digits separated by spaces, for display and reading aloud."""
    if len(number) != 2 * SAFETY_DIGITS_PER_PARTY or not number.isascii() or not number.isdigit():
        raise SafetyNumberError("a safety number is 60 digits")
    return " ".join(number[i : i + SAFETY_CHUNK_DIGITS] for i in range(0, len(number), 5))
