"""Typed errors of the client-side crypto layer.

Every error has a stable ``code`` so the SDK can show a clear message and the
server can map it to ``{"error": {"code": ..., "message": ...}}``. vodozemac and
cryptography exceptions are always translated into one of these at the boundary
of the wrapper classes; they never escape tidings.crypto.
"""

from __future__ import annotations

from tidings.protocol.keys import CryptoError, KeyFormatError
from tidings.protocol.payload import PayloadError

__all__ = [
    "AttachmentError",
    "CryptoError",
    "FrankingMismatchError",
    "KeyFormatError",
    "KeyStoreCorruptError",
    "NoSessionError",
    "PayloadError",
    "PickleError",
    "SafetyNumberError",
    "SasError",
    "UndecryptableError",
    "WrongPassphraseError",
]


class UndecryptableError(CryptoError):
    """A ciphertext could not be decrypted: unknown session, tampering, or garbage."""

    code = "undecryptable"


class NoSessionError(CryptoError):
    """No Olm session with the peer exists and no one-time key was supplied."""

    code = "no_session"


class PickleError(CryptoError):
    """Serialized session state is corrupt or was pickled with another key."""

    code = "bad_pickle"


class AttachmentError(CryptoError):
    """An encrypted attachment does not match its key record."""

    code = "attachment_mismatch"


class SafetyNumberError(CryptoError):
    """Safety number inputs are unusable (no keys, malformed key)."""

    code = "bad_safety_input"


class SasError(CryptoError):
    """SAS verification used out of order or with a malformed key."""

    code = "sas_error"


class WrongPassphraseError(CryptoError):
    """The key store passphrase is wrong."""

    code = "wrong_passphrase"


class KeyStoreCorruptError(CryptoError):
    """The key store file is damaged or not a Tidings key store."""

    code = "keystore_corrupt"


class FrankingMismatchError(CryptoError):
    """The franking key inside a message does not open the commitment next to it.

    Recipients drop such messages: they could not be reported verifiably.
    """

    code = "franking_mismatch"
