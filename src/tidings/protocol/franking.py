"""Message franking: verifiable reports of end-to-end encrypted messages.

The construction follows Facebook's "Messenger Secret Conversations" technical
whitepaper (2016, section "Abuse reporting") as formalised by Grubbs, Lu and
Ristenpart, "Message Franking via Committing Authenticated Encryption"
(CRYPTO 2017, section 3 and the "HMAC-based franking" scheme):

1. The sender picks a fresh random franking key ``kf`` per message, puts it inside
   the ciphertext next to the plaintext, and sends ``c = HMAC(kf, payload)`` in the
   clear. HMAC-SHA256 is a commitment here: without ``kf`` it hides the payload,
   and it binds: nobody can find a second (payload, key) pair for the same ``c``.
2. The server, which sees only ciphertext, stamps ``tag = HMAC(secret, c || metadata)``
   with a secret only it knows. That ties the commitment to who sent it, from which
   device, in which conversation, and when, as the server observed them.
3. A recipient who reports reveals payload, ``kf``, ``c`` and ``tag``. The server
   recomputes both MACs. If they match, the reported message really was sent by
   that sender in that conversation at that time; the recipient cannot forge
   content or move it to another conversation, and the server learns nothing
   about messages that are not reported.

This module is pure and used by the server; the client half is
``tidings.crypto.franking``.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from tidings.protocol.keys import CryptoError

# --- limits (the integrator moves these to protocol/limits.py) -------------------
FRANKING_KEY_BYTES = 32
FRANKING_COMMITMENT_BYTES = 32
FRANKING_TAG_BYTES = 32
FRANKING_MIN_SECRET_BYTES = 32
FRANKING_MAX_FIELD_BYTES = 1024
FRANKING_MAX_TS_MS = 2**63 - 1

#: Domain separator so a franking tag can never be confused with any other HMAC
#: the server computes with the same secret.
FRANKING_DOMAIN = b"tidings-franking-v1"


class FrankingInputError(CryptoError):
    """A franking input (field, key, timestamp) is out of range."""

    code = "bad_franking_input"


class FrankingVerdict(enum.Enum):
    """Outcome of checking a reported message."""

    VERIFIED = "verified"
    BAD_COMMITMENT = "bad_commitment"
    BAD_TAG = "bad_tag"
    UNKNOWN_KEY = "unknown_key"


def commitment(franking_key: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256(franking_key, payload): the sender's commitment to the payload (one
    call into OpenSSL: the key is fresh per message, so there is no set-up to keep)."""
    if len(franking_key) != FRANKING_KEY_BYTES:
        raise FrankingInputError(f"franking key must be {FRANKING_KEY_BYTES} bytes")
    return hmac.digest(franking_key, payload, "sha256")


def _field(data: bytes) -> bytes:
    if len(data) > FRANKING_MAX_FIELD_BYTES:
        raise FrankingInputError("franking field too long")
    return struct.pack(">I", len(data)) + data


def tag_input(
    commitment: bytes,
    sender: str,
    sender_device: str,
    conversation: str,
    server_ts_ms: int,
) -> bytes:
    """The bytes the server MACs: domain || len||commitment || len||sender || ... || len||ts.

    Every field is length-prefixed (4-byte big-endian) so no two different field
    tuples encode to the same bytes; ``conversation`` is the recipient user id
    for 1:1 chats and ``"group:<group_id>"`` for groups, so a report cannot be
    replayed into a different conversation.
    """
    if isinstance(server_ts_ms, bool) or not isinstance(server_ts_ms, int):
        raise FrankingInputError("server_ts_ms must be an int")
    if not 0 <= server_ts_ms <= FRANKING_MAX_TS_MS:
        raise FrankingInputError("server_ts_ms out of range")
    return b"".join(
        [
            FRANKING_DOMAIN,
            _field(bytes(commitment)),
            _field(sender.encode("utf-8")),
            _field(sender_device.encode("utf-8")),
            _field(conversation.encode("utf-8")),
            _field(struct.pack(">Q", server_ts_ms)),
        ]
    )


def server_tag(
    secret: bytes,
    commitment: bytes,
    sender: str,
    sender_device: str,
    conversation: str,
    server_ts_ms: int,
) -> bytes:
    """HMAC-SHA256(secret, tag_input(...)): the server's reporting tag."""
    if len(secret) < FRANKING_MIN_SECRET_BYTES:
        raise FrankingInputError(f"franking secret must be >= {FRANKING_MIN_SECRET_BYTES} bytes")
    data = tag_input(commitment, sender, sender_device, conversation, server_ts_ms)
    return hmac.digest(secret, data, "sha256")


@dataclass(frozen=True)
class FrankingSecret:
    """One server franking secret; ``key_id`` travels with every tag it made."""

    key_id: str
    secret: bytes = field(repr=False)


class FrankingKeyring:
    """The current franking secret plus retired ones still accepted for reports.

    Rotation: new tags use ``current``; older secrets stay in ``previous`` for as
    long as reports of old messages should remain verifiable, then are dropped,
    after which such reports verify as UNKNOWN_KEY.
    """

    def __init__(
        self, current: FrankingSecret, previous: Mapping[str, FrankingSecret] | None = None
    ) -> None:
        for s in [current, *(previous or {}).values()]:
            if len(s.secret) < FRANKING_MIN_SECRET_BYTES:
                raise FrankingInputError(f"franking secret {s.key_id!r} too short")
        self._current = current
        self._secrets: dict[str, FrankingSecret] = dict(previous or {})
        self._secrets[current.key_id] = current

    @property
    def current_key_id(self) -> str:
        return self._current.key_id

    def tag(
        self,
        commitment: bytes,
        sender: str,
        sender_device: str,
        conversation: str,
        server_ts_ms: int,
    ) -> tuple[str, bytes]:
        tag = server_tag(
            self._current.secret, commitment, sender, sender_device, conversation, server_ts_ms
        )
        return self._current.key_id, tag

    def verify(
        self,
        key_id: str,
        tag: bytes,
        commitment: bytes,
        sender: str,
        sender_device: str,
        conversation: str,
        server_ts_ms: int,
    ) -> bool:
        secret = self._secrets.get(key_id)
        if secret is None:
            return False
        try:
            expected = server_tag(
                secret.secret, commitment, sender, sender_device, conversation, server_ts_ms
            )
        except FrankingInputError:
            return False
        return hmac.compare_digest(expected, bytes(tag))

    def knows(self, key_id: str) -> bool:
        return key_id in self._secrets


def reported_message_id(tag: bytes) -> str:
    """The name the server gives a reported message: derived from the reporting tag it
    issued and has just verified, never from an id the reporter (or the sender) chose.
    The tag covers commitment, sender, device, conversation and time, so one message has
    one name, whoever reports it."""
    return "F" + base64.b32encode(hashlib.sha256(tag).digest()[:15]).decode()


def verify_report(
    keyring: FrankingKeyring,
    payload: bytes,
    franking_key: bytes,
    commitment: bytes,
    tag: bytes,
    key_id: str,
    sender: str,
    sender_device: str,
    conversation: str,
    server_ts_ms: int,
) -> FrankingVerdict:
    """Check a reported message: the opening must match the commitment, and the
    commitment must carry a tag this server issued for exactly this metadata."""
    if not keyring.knows(key_id):
        return FrankingVerdict.UNKNOWN_KEY
    if len(franking_key) != FRANKING_KEY_BYTES:
        return FrankingVerdict.BAD_COMMITMENT
    expected = hmac.digest(franking_key, payload, "sha256")
    if not hmac.compare_digest(expected, bytes(commitment)):
        return FrankingVerdict.BAD_COMMITMENT
    if not keyring.verify(
        key_id, tag, commitment, sender, sender_device, conversation, server_ts_ms
    ):
        return FrankingVerdict.BAD_TAG
    return FrankingVerdict.VERIFIED
