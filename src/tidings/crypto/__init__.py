"""Client-side end-to-end encryption over vodozemac (see docs/crypto.md).

Pure: the key store that keeps these keys in a file is ``tidings.client.keystore``. No vodozemac
type crosses this package's public API: keys are unpadded base64 strings,
ciphertexts are small frozen dataclasses or base64 strings, and every failure
is a ``CryptoError`` subclass with a stable ``code``.
"""

from tidings.crypto.attachments import AttachmentKey, decrypt_attachment, encrypt_attachment
from tidings.crypto.errors import (
    AttachmentError,
    CryptoError,
    FrankingMismatchError,
    KeyFormatError,
    KeyStoreCorruptError,
    NoSessionError,
    PayloadError,
    PickleError,
    SafetyNumberError,
    SasError,
    UndecryptableError,
    WrongPassphraseError,
)
from tidings.crypto.franking import new_franking_key, open_message, seal_message
from tidings.crypto.identity import DeviceIdentity
from tidings.crypto.megolm import GroupKeyStore, InboundGroup, OutboundGroup
from tidings.crypto.olm import OlmChannel, OlmCiphertext, OlmMachine
from tidings.crypto.safety import fingerprint, format_safety_number, safety_number
from tidings.crypto.sas import SAS_EMOJI, SasParty, SasSession

__all__ = [
    "SAS_EMOJI",
    "AttachmentError",
    "AttachmentKey",
    "CryptoError",
    "DeviceIdentity",
    "FrankingMismatchError",
    "GroupKeyStore",
    "InboundGroup",
    "KeyFormatError",
    "KeyStoreCorruptError",
    "NoSessionError",
    "OlmChannel",
    "OlmCiphertext",
    "OlmMachine",
    "OutboundGroup",
    "PayloadError",
    "PickleError",
    "SafetyNumberError",
    "SasError",
    "SasParty",
    "SasSession",
    "UndecryptableError",
    "WrongPassphraseError",
    "decrypt_attachment",
    "encrypt_attachment",
    "fingerprint",
    "format_safety_number",
    "new_franking_key",
    "open_message",
    "safety_number",
    "seal_message",
]
