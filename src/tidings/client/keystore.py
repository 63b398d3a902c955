"""The encrypted file holding a device's secrets (account and session pickles).

The client's own file (it lives in client/, not in the pure crypto package); it
touches only this one file.

File layout (all integers big-endian)::

    magic   8 bytes  b"TIDKS\\x00\\x00\\x01"  (format version 1)
    salt   16 bytes  argon2id salt, random per key store object (see below)
    check  32 bytes  SHA-256 of the second half of the argon2id output
    nonce  12 bytes  random per save, AES-GCM nonce
    body    rest     AES-256-GCM(first half of argon2id output, JSON), AAD = header

argon2id (RFC 9106) makes each passphrase guess cost 64 MiB and three passes.
The ``check`` value distinguishes a wrong passphrase from a damaged file: with
AES-GCM alone both show up as the same authentication failure. It gives an
attacker nothing the GCM tag does not already give (one test per guess).
One ``KeyStore`` object derives its key once: a store it loaded is saved again under the
same salt and key (a fresh nonce each time), so a client that saves after every
message does not pay argon2id each time; a new object, or a first save, picks a new
random salt. Writes go to a temporary file in the same directory, are fsynced, then
``os.replace``d over the old file, so a crash leaves either the old or the new
store, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidings.crypto.errors import KeyStoreCorruptError, WrongPassphraseError

# --- limits (the integrator moves these to protocol/limits.py) -------------------
KEYSTORE_MAGIC = b"TIDKS\x00\x00\x01"
KEYSTORE_SALT_BYTES = 16
KEYSTORE_CHECK_BYTES = 32
KEYSTORE_NONCE_BYTES = 12
KEYSTORE_KEY_BYTES = 32
KEYSTORE_ARGON2_TIME_COST = 3
KEYSTORE_ARGON2_MEMORY_KIB = 65536
KEYSTORE_ARGON2_PARALLELISM = 1
KEYSTORE_MAX_FILE_BYTES = 64 * 1024 * 1024
KEYSTORE_FILE_MODE = 0o600

_HEADER_BYTES = len(KEYSTORE_MAGIC) + KEYSTORE_SALT_BYTES + KEYSTORE_CHECK_BYTES
_BODY_OFFSET = _HEADER_BYTES + KEYSTORE_NONCE_BYTES


def _derive(passphrase: str, salt: bytes) -> tuple[bytes, bytes]:
    """Return (encryption key, passphrase check value)."""
    out = hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=KEYSTORE_ARGON2_TIME_COST,
        memory_cost=KEYSTORE_ARGON2_MEMORY_KIB,
        parallelism=KEYSTORE_ARGON2_PARALLELISM,
        hash_len=2 * KEYSTORE_KEY_BYTES,
        type=Type.ID,
    )
    key, verifier = out[:KEYSTORE_KEY_BYTES], out[KEYSTORE_KEY_BYTES:]
    return key, hashlib.sha256(verifier).digest()


class KeyStore:
    """A JSON object of secrets, encrypted under a passphrase, in one file."""

    def __init__(self, path: Path, passphrase: str) -> None:
        self.path = Path(path)
        self._passphrase = passphrase
        self._derived: tuple[bytes, bytes, bytes] | None = None
        """(salt, key, check) of the last load or save: the next save reuses them."""

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> dict[str, Any]:
        """The stored dict; ``{}`` if the file does not exist yet."""
        try:
            with self.path.open("rb") as fh:
                data = fh.read(KEYSTORE_MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        if len(data) > KEYSTORE_MAX_FILE_BYTES:
            raise KeyStoreCorruptError("key store file is too large")
        if len(data) < _BODY_OFFSET + 16 or not data.startswith(KEYSTORE_MAGIC):
            raise KeyStoreCorruptError("not a Tidings key store (bad header)")
        salt = data[len(KEYSTORE_MAGIC) : len(KEYSTORE_MAGIC) + KEYSTORE_SALT_BYTES]
        check = data[len(KEYSTORE_MAGIC) + KEYSTORE_SALT_BYTES : _HEADER_BYTES]
        nonce = data[_HEADER_BYTES:_BODY_OFFSET]
        key, expected_check = _derive(self._passphrase, salt)
        if not hmac.compare_digest(check, expected_check):
            raise WrongPassphraseError("wrong passphrase for this key store")
        try:
            plaintext = AESGCM(key).decrypt(nonce, data[_BODY_OFFSET:], data[:_BODY_OFFSET])
        except InvalidTag as exc:
            raise KeyStoreCorruptError("key store contents fail authentication") from exc
        self._derived = (salt, key, expected_check)
        try:
            obj = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyStoreCorruptError("key store contents are not JSON") from exc
        if not isinstance(obj, dict):
            raise KeyStoreCorruptError("key store contents are not a JSON object")
        return obj

    def save(self, secrets: dict[str, Any]) -> None:
        """Encrypt and atomically replace the file (mode 0600)."""
        body = json.dumps(secrets, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if self._derived is None:
            salt = os.urandom(KEYSTORE_SALT_BYTES)
            self._derived = (salt, *_derive(self._passphrase, salt))
        salt, key, check = self._derived
        nonce = os.urandom(KEYSTORE_NONCE_BYTES)
        header = KEYSTORE_MAGIC + salt + check + nonce
        data = header + AESGCM(key).encrypt(nonce, body, header)
        if len(data) > KEYSTORE_MAX_FILE_BYTES:
            raise KeyStoreCorruptError("key store would exceed its size limit")
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 before any secret is written.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), KEYSTORE_FILE_MODE)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
