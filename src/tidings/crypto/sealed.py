"""Secrets sealed at rest: AES-256-GCM under a key derived from a server secret.

Partner credentials (a ThreatExchange token, NCMEC and TCAP user/password pairs) are
stored in the database only as ``Sealer.seal``'s output, so a copy of the database
(a backup, a replica, a stolen disk) holds no usable credential without the server's
``secrets.json``. The format names its key, ``v1.<key id>.<base64 nonce+ciphertext>``,
so keys rotate like the franking keys: the newest seals, older ones still open.

The AES key is HKDF-SHA256 (RFC 5869) of the stored secret, bound to this use by its
``info``; the 96-bit nonce is random per seal (NIST SP 800-38D §8.2.2: at 2^32 seals a
key, far above the few credentials a server keeps). ``aad`` binds a sealed value to
what it is for (e.g. the exchange type), so it cannot be moved to another row.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tidings.crypto.errors import UndecryptableError

FORMAT = "v1"
NONCE_BYTES = 12
_INFO = b"tidings sealed partner credentials v1"


def derive_key(secret: bytes) -> bytes:
    """The AES-256 key for one stored secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)


@dataclass(frozen=True)
class Sealer:
    current: str
    keys: Mapping[str, bytes] = field(repr=False)
    """Key id -> AES-256 key (``derive_key`` of the stored secret)."""

    @classmethod
    def from_secrets(cls, current: str, secrets: Mapping[str, bytes]) -> Sealer:
        if current not in secrets:
            raise UndecryptableError(f"no credentials key {current!r}")
        return cls(current, {k: derive_key(v) for k, v in secrets.items()})

    def seal(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, aad)
        return f"{FORMAT}.{self.current}.{base64.b64encode(nonce + sealed).decode()}"

    @staticmethod
    def key_id(sealed: str) -> str:
        return sealed.split(".", 2)[1] if sealed.count(".") >= 2 else ""

    def unseal(self, sealed: str, aad: bytes) -> bytes:
        """The plaintext; ``UndecryptableError`` if the key is gone, or the value or its
        ``aad`` was changed."""
        version, key_id, body = [*sealed.split(".", 2), "", ""][:3]
        if version != FORMAT or key_id not in self.keys:
            raise UndecryptableError(f"sealed with an unknown key {key_id!r}")
        try:
            raw = base64.b64decode(body, validate=True)
            return AESGCM(self.keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise UndecryptableError("a sealed value does not open: changed or moved") from None
