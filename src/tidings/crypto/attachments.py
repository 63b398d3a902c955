"""Encrypted attachments: the blob goes to the media store, the key goes in a message.

AES-256-GCM with a fresh random key and nonce per file, so a key never encrypts
twice and the nonce needs no coordination. The key record carries SHA-256 of the
ciphertext, checked *before* decrypting so a swapped or truncated blob from the
(untrusted) media server is rejected without feeding it to the cipher, and
SHA-256 of the plaintext, which doubles as a content hash the recipient can
match against what was promised. The scheme follows Matrix's encrypted
attachments (client-server spec 11.12.4, "Sending encrypted attachments"),
upgraded from AES-CTR to an authenticated mode.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidings.crypto.errors import AttachmentError
from tidings.protocol.keys import b64decode, b64encode

# --- limits (the integrator moves these to protocol/limits.py) -------------------
ATTACHMENT_MAX_BYTES = 100 * 1024 * 1024
ATTACHMENT_KEY_BYTES = 32
ATTACHMENT_NONCE_BYTES = 12
ATTACHMENT_TAG_BYTES = 16
ATTACHMENT_MAX_MEDIA_TYPE_CHARS = 255

_MEDIA_TYPE_RE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class AttachmentKey:
    """Everything needed to fetch-verify-decrypt one attachment."""

    key: str
    nonce: str
    sha256_ciphertext: str
    sha256_plaintext: str
    size: int
    media_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "nonce": self.nonce,
            "sha256_ciphertext": self.sha256_ciphertext,
            "sha256_plaintext": self.sha256_plaintext,
            "size": self.size,
            "media_type": self.media_type,
        }

    @classmethod
    def from_json(cls, obj: Any) -> AttachmentKey:
        fields = {"key", "nonce", "sha256_ciphertext", "sha256_plaintext", "size", "media_type"}
        if not isinstance(obj, dict) or set(obj) != fields:
            raise AttachmentError(f"attachment key must have exactly {sorted(fields)}")
        if not all(isinstance(obj[f], str) for f in fields - {"size"}):
            raise AttachmentError("attachment key fields must be strings")
        size = obj["size"]
        if isinstance(size, bool) or not isinstance(size, int):
            raise AttachmentError("size must be an int")
        key = cls(**obj)
        key._raw()
        return key

    def _raw(self) -> tuple[bytes, bytes]:
        """Validate the record and return (key, nonce) bytes."""
        try:
            key, nonce = b64decode(self.key), b64decode(self.nonce)
        except ValueError as exc:
            raise AttachmentError("attachment key or nonce is not base64") from exc
        if len(key) != ATTACHMENT_KEY_BYTES or len(nonce) != ATTACHMENT_NONCE_BYTES:
            raise AttachmentError("attachment key or nonce has the wrong length")
        if not (
            _HEX64_RE.fullmatch(self.sha256_ciphertext)
            and _HEX64_RE.fullmatch(self.sha256_plaintext)
        ):
            raise AttachmentError("hashes must be 64 lowercase hex digits")
        if not 0 <= self.size <= ATTACHMENT_MAX_BYTES:
            raise AttachmentError("attachment size out of range")
        if len(self.media_type) > ATTACHMENT_MAX_MEDIA_TYPE_CHARS or not _MEDIA_TYPE_RE.fullmatch(
            self.media_type
        ):
            raise AttachmentError("media_type must look like type/subtype")
        return key, nonce


def encrypt_attachment(plaintext: bytes, media_type: str) -> tuple[bytes, AttachmentKey]:
    if len(plaintext) > ATTACHMENT_MAX_BYTES:
        raise AttachmentError(f"attachment larger than {ATTACHMENT_MAX_BYTES} bytes")
    key, nonce = os.urandom(ATTACHMENT_KEY_BYTES), os.urandom(ATTACHMENT_NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, bytes(plaintext), None)
    record = AttachmentKey(
        key=b64encode(key),
        nonce=b64encode(nonce),
        sha256_ciphertext=hashlib.sha256(ciphertext).hexdigest(),
        sha256_plaintext=hashlib.sha256(plaintext).hexdigest(),
        size=len(plaintext),
        media_type=media_type,
    )
    record._raw()  # validates media_type
    return ciphertext, record


def decrypt_attachment(ciphertext: bytes, key: AttachmentKey) -> bytes:
    raw_key, nonce = key._raw()
    if len(ciphertext) != key.size + ATTACHMENT_TAG_BYTES:
        raise AttachmentError("ciphertext length does not match the attachment key")
    digest = hashlib.sha256(ciphertext).hexdigest()
    if not hmac.compare_digest(digest, key.sha256_ciphertext):
        raise AttachmentError("ciphertext hash mismatch")
    try:
        plaintext = AESGCM(raw_key).decrypt(nonce, bytes(ciphertext), None)
    except InvalidTag as exc:
        raise AttachmentError("attachment failed authentication (wrong key?)") from exc
    if not hmac.compare_digest(hashlib.sha256(plaintext).hexdigest(), key.sha256_plaintext):
        raise AttachmentError("plaintext hash mismatch")
    return plaintext
