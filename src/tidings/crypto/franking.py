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
    data = content.to_bytes()  # encoded once: the sealed bytes and the commitment cover it
    return SealedPayload.seal_bytes(data, key), commitment(key, data), key


def open_message(sealed: bytes, expected_commitment: bytes) -> tuple[MessageContent, bytes]:
    """``(content, franking_key)`` of ``open_message_bytes``."""
    content, key, _ = open_message_bytes(sealed, expected_commitment)
    return content, key


def open_message_bytes(sealed: bytes, expected_commitment: bytes
                       ) -> tuple[MessageContent, bytes, bytes]:
    """Check the commitment, then parse; ``(content, franking_key, content_bytes)``.

    Keep the franking key (and the server's tag) with the message: they are what
    a report must reveal. ``content.to_bytes()`` reproduces the committed bytes
    exactly, because payloads are canonical JSON; the third value is those bytes, so
    the caller need not encode them again.
    """
    payload, key = SealedPayload.open(sealed)
    if not hmac.compare_digest(commitment(key, payload), bytes(expected_commitment)):
        raise FrankingMismatchError("franking commitment does not match the message")
    return MessageContent.from_bytes(payload), key, payload
