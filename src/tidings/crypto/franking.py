"""Client half of message franking (see tidings.protocol.franking for the scheme).

The sender commits to each message with a fresh key it hides inside the
ciphertext; the recipient checks that commitment before showing the message,
because a message whose commitment does not open could not be reported later:
accepting it would let a sender deliver abuse that is unreportable by design.
"""

from __future__ import annotations

import hmac
import os

from tidings.crypto.errors import FrankingMismatchError
from tidings.protocol.franking import FRANKING_KEY_BYTES, commitment
from tidings.protocol.payload import MessageContent, SealedPayload


def new_franking_key() -> bytes:
    return os.urandom(FRANKING_KEY_BYTES)


def seal_message(content: MessageContent) -> tuple[bytes, bytes, bytes]:
    """Return ``(sealed_bytes, commitment, franking_key)``.

    ``sealed_bytes`` go into the Olm/Megolm plaintext; ``commitment`` goes next to
    the ciphertext in the clear for the server to tag.
    """
    key = new_franking_key()
    return SealedPayload.seal(content, key), commitment(key, content.to_bytes()), key


def open_message(sealed: bytes, expected_commitment: bytes) -> tuple[MessageContent, bytes]:
    """Check the commitment, then parse; returns ``(content, franking_key)``.

    Keep the franking key (and the server's tag) with the message: they are what
    a report must reveal. ``content.to_bytes()`` reproduces the committed bytes
    exactly, because payloads are canonical JSON.
    """
    payload, key = SealedPayload.open(sealed)
    if not hmac.compare_digest(commitment(key, payload), bytes(expected_commitment)):
        raise FrankingMismatchError("franking commitment does not match the message")
    return MessageContent.from_bytes(payload), key
